"""Who made a call, from its CloudTrail event: an envctl run's script, an AI agent, the console, or someone else.

Attribution, not security: a user agent can be forged. It tells a team which calls came from outside its
reviewed scripts; the IAM policies (``envctl policy``) are what stop them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_APP_ID = re.compile(r"(?:^|\s)app/(\S+)")


@dataclass(frozen=True)
class Marker:
    """A sign, in an event's user agent or ``invokedBy``, that an AI agent made the call."""

    name: str
    pattern: re.Pattern[str]
    evidence: str


AGENT_MARKERS: tuple[Marker, ...] = (
    Marker("Amazon Q Developer CLI / Kiro CLI", re.compile(r"exec-env/AmazonQ-For-CLI", re.I),
           "documented by AWS: the CLI sets AWS_EXECUTION_ENV, the SDKs send exec-env/AmazonQ-For-CLI-Version-<n>"),
    Marker("Amazon Q Developer in the IDE", re.compile(r"exec-env/AmazonQ-For-IDE", re.I),
           "documented by AWS: exec-env/AmazonQ-For-IDE-Version-<n>"),
    Marker("AWS MCP server (awslabs/mcp)", re.compile(r"awslabs/mcp/", re.I),
           "the awslabs MCP servers put awslabs/mcp/<server>/<version> in their SDK clients' user agent"),
    Marker("AWS managed MCP server", re.compile(r"aws-mcp\.amazonaws\.com", re.I),
           "calls made through AWS's managed MCP server name aws-mcp.amazonaws.com (not verified on a live event)"),
    Marker("coding agent (AWS_EXECUTION_ENV)",
           re.compile(r"exec-env/[^ ]*(Claude|Codex|Cursor|Kiro|Copilot|Gemini|Windsurf|Cline|Aider|OpenCode)",
                      re.I),
           "no AWS-side marker of their own: recognised when the team sets AWS_EXECUTION_ENV=<agent> in the "
           "agent's environment"),
)

# console.amazonaws.com, console.ec2.amazonaws.com, console.aws.amazon.com, the sign-in service, a browser's.
_CONSOLE_UA = re.compile(r"console(\.[a-z0-9-]+)*\.amazonaws\.com|console\.aws\.amazon\.com|signin\.amazonaws\.com"
                         r"|^Mozilla/", re.I)
_NOT_SERVICES = ("signin.amazonaws.com", "aws-mcp.amazonaws.com")


@dataclass(frozen=True)
class StepRef:
    """The step of a recorded envctl run whose script a call came from."""

    run_id: str
    component: str
    action: str | None
    script: str | None
    sha256: str | None


@dataclass(frozen=True)
class CreatedBy:
    """Who made a resource. ``kind``: envctl, agent, console, other, unknown."""

    kind: str
    run_id: str | None = None
    component: str | None = None
    script: str | None = None
    sha256: str | None = None
    principal: str | None = None
    user_agent: str | None = None
    event_time: str | None = None
    event_name: str | None = None
    event_id: str | None = None
    agent: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "run_id": self.run_id, "component": self.component, "script": self.script,
                "sha256": self.sha256, "principal": self.principal, "user_agent": self.user_agent,
                "event_time": self.event_time, "event_name": self.event_name, "event_id": self.event_id,
                "agent": self.agent}

    def describe(self) -> str:
        """One line for people."""
        if self.kind == "envctl":
            sha = (self.sha256 or "?")[:12]
            return f"run {self.run_id}, {self.component}: {self.script} (sha256 {sha}…)"
        if self.kind == "unknown":
            return "no creating event found (older than the window, or not recorded)"
        who = self.principal or "?"
        what = f"{self.event_name} at {self.event_time}"
        if self.kind == "agent":
            return f"{self.agent}: {what} by {who}"
        agent = self.user_agent or "-"
        return f"{what} by {who}, user agent {agent if len(agent) <= 60 else agent[:59] + '…'}"


UNKNOWN = CreatedBy("unknown")


def app_ids(user_agent: str) -> list[str]:
    """Every ``app/<id>`` in a user agent."""
    return _APP_ID.findall(user_agent or "")


def principal(event: Mapping[str, Any]) -> str:
    ident = event.get("userIdentity") or {}
    return str(ident.get("arn") or ident.get("invokedBy") or ident.get("principalId") or ident.get("type") or "?")


def agent_marker(event: Mapping[str, Any]) -> Marker | None:
    ident = event.get("userIdentity") or {}
    text = f"{event.get('userAgent') or ''} {ident.get('invokedBy') or ''}"
    return next((m for m in AGENT_MARKERS if m.pattern.search(text)), None)


def is_console(event: Mapping[str, Any]) -> bool:
    ident = event.get("userIdentity") or {}
    context = ident.get("sessionContext") or {}
    from_console = event.get("sessionCredentialFromConsole") or (context.get("attributes") or {}).get(
        "sessionCredentialFromConsole")
    return (str(from_console).lower() == "true" or ident.get("invokedBy") == "signin.amazonaws.com"
            or bool(_CONSOLE_UA.search(str(event.get("userAgent") or ""))))


def by_aws_service(event: Mapping[str, Any]) -> bool:
    """Made by an AWS service on someone's behalf (EKS's network interfaces, Auto Scaling's instances)."""
    ident = event.get("userIdentity") or {}
    invoked = str(ident.get("invokedBy") or "")
    return ident.get("type") == "AWSService" or (invoked.endswith(".amazonaws.com") and invoked not in _NOT_SERVICES)


def classify(event: Mapping[str, Any], steps: Mapping[str, StepRef]) -> CreatedBy:
    """Who made the call of ``event``. ``steps`` maps envctl's user-agent app ids to the steps of this
    environment's recorded runs; a call carries one when a script of that step made it."""
    ua = str(event.get("userAgent") or "")
    common = {"principal": principal(event), "user_agent": ua, "event_time": event.get("eventTime"),
              "event_name": event.get("eventName"), "event_id": event.get("eventID")}
    for app in app_ids(ua):
        step = steps.get(app)
        if step is not None:
            return CreatedBy("envctl", run_id=step.run_id, component=step.component, script=step.script,
                             sha256=step.sha256, **common)
    marker = agent_marker(event)
    if marker is not None:
        return CreatedBy("agent", agent=marker.name, **common)
    if is_console(event):
        return CreatedBy("console", **common)
    return CreatedBy("other", **common)
