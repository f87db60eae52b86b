"""``envctl policy``: the three IAM policies of an environment, as documents IAM accepts as they are.

- **runner**: the least privilege of the environment's scripts: every ``aws`` call in them and in the files they
  source (and every boto3 client call in Python scripts, :mod:`envctl.provenance.sdk_calls`), mapped to IAM
  actions (:mod:`envctl.provenance.iam_actions`), no wildcards;
- **reader**: everything envctl's read-only commands call (verify, status with its cost, audit, sleep's look at
  what is asleep), for an analyst agent's own credentials: reads only;
- **agent-guardrail**: Deny statements conditioned on the AWS MCP server's keys for every write, to attach
  beside a person's permissions, so an agent that borrows them through the AWS MCP server can only look.

Each document stays under IAM's size limit for a managed policy (6,144 characters, whitespace not counted):
actions are grouped one statement per service, and statements are packed into as few documents as needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envctl.config.model import Environment
from envctl.errors import UsageError
from envctl.provenance import iam_actions
from envctl.provenance.iam_actions import CallActions, CliCall
from envctl.sleep.targets import READ_ACTIONS as SLEEP_READ_ACTIONS

VERSION = "2012-10-17"
MANAGED_POLICY_LIMIT = 6144
"""Characters of a customer managed policy document, whitespace not counted (IAM quotas)."""

MCP_KEYS = ("aws:ViaAWSMCPService", "aws:CalledViaAWSMCP")

# What envctl's looks call besides verify's inventory (envctl.inventory.POLICY_ACTIONS, audit's CloudTrail
# lookups included): sleep's view of what is asleep and what waking costs (status, cost), from the one list
# its read-only clients are held to.
SLEEP_STATUS_ACTIONS = frozenset(SLEEP_READ_ACTIONS)

# Services whose reads the guardrail leaves to agents through the MCP server, besides the environment's own.
GUARDRAIL_READ_SERVICES = ("autoscaling", "ce", "cloudformation", "cloudtrail", "cloudwatch", "dynamodb", "ec2",
                           "ecr", "ecs", "eks", "elasticloadbalancing", "iam", "kms", "lambda", "logs", "rds",
                           "route53", "s3", "secretsmanager", "sns", "sqs", "ssm", "sts", "tag")
READ_PATTERNS = ("Describe*", "Get*", "List*")
EXTRA_READS = ("cloudtrail:LookupEvents",)


@dataclass(frozen=True)
class Found:
    """An ``aws`` call in a script, where it is."""

    file: Path
    line: int
    call: CliCall


@dataclass
class RunnerScan:
    actions: set[str] = field(default_factory=set)
    service_linked: set[str] = field(default_factory=set)
    unmapped: list[str] = field(default_factory=list)   # "file:line: why", for stderr
    files: list[Path] = field(default_factory=list)


def script_files(env: Environment) -> list[Path]:
    """Every script of every component and every file they source, each once, in a stable order."""
    from envctl.safety.shellparse import sourced_files

    found: dict[Path, None] = {}
    for component in env.components.values():
        for path in component.scripts.all().values():
            found[path.resolve()] = None
            for library in sourced_files(path):
                found[library.resolve()] = None
    return list(found)


def aws_calls(path: Path) -> tuple[list[Found], list[str]]:
    """The AWS calls of one file (``aws`` in shell, boto3 clients in Python), and what it does with AWS that
    cannot be read (each ``line: why``)."""
    from envctl.provenance.sdk_calls import is_python, read_sdk_calls
    from envctl.safety.shellparse import AWS_CALL, command_at, logical_lines, read_text

    text = read_text(path)
    if text is None:
        return [], []
    if is_python(path.name, text):
        sdk = read_sdk_calls(text)
        return [Found(path, line, call) for line, call in sdk.calls], [f"{line}: {why}" for line, why in sdk.unread]
    calls = []
    for number, line in logical_lines(text.splitlines()):
        for match in AWS_CALL.finditer(line):
            call = iam_actions.parse_call(command_at(line, match.start()))
            if call is not None:
                calls.append(Found(path, number, call))
    return calls, []


def scan_runner(env: Environment) -> RunnerScan:
    scan = RunnerScan(files=script_files(env))
    for path in scan.files:
        calls, unread = aws_calls(path)
        scan.unmapped += [f"{_display(env, path)}:{why}; add what it needs by hand" for why in unread]
        for found in calls:
            result: CallActions = iam_actions.actions_for(found.call)
            scan.actions |= result.actions
            scan.service_linked |= result.service_linked
            if result.unknown:
                scan.unmapped.append(f"{_display(env, found.file)}:{found.line}: {result.unknown}; "
                                     "add what it needs by hand")
    return scan


def runner_statements(scan: RunnerScan) -> list[dict[str, Any]]:
    statements = _per_service("Allow", "", iam_actions.sorted_actions(scan.actions - {"iam:CreateServiceLinkedRole"}))
    if scan.service_linked:
        statements.append({"Sid": "CreateServiceLinkedRoles", "Effect": "Allow",
                           "Action": ["iam:CreateServiceLinkedRole"], "Resource": "*",
                           "Condition": {"StringEquals": {"iam:AWSServiceName": sorted(scan.service_linked)}}})
    return statements


def reader_actions() -> list[str]:
    from envctl.inventory import POLICY_ACTIONS

    return iam_actions.sorted_actions(POLICY_ACTIONS | SLEEP_STATUS_ACTIONS)


def reader_statements(env: Environment) -> list[dict[str, Any]]:
    statements = _per_service("Allow", "Read", reader_actions())
    if env.state.backend == "s3" and env.state.bucket:
        # Team state: status and history read the environment's state objects, and nothing else of the bucket.
        bucket = f"arn:aws:s3:::{env.state.bucket}"
        statements.append({"Sid": "ReadTeamState", "Effect": "Allow", "Action": ["s3:GetObject"],
                           "Resource": [f"{bucket}/{env.state.prefix}*"]})
        statements.append({"Sid": "ListTeamState", "Effect": "Allow", "Action": ["s3:ListBucket"],
                           "Resource": [bucket]})
    return statements


def guardrail_statements(scan: RunnerScan | None = None) -> list[dict[str, Any]]:
    """Deny every write made through an AWS managed MCP server; reads of common services stay allowed.

    ``NotAction`` over read patterns, not a list of writes: a list of writes can never be complete (services add
    actions every week), while everything outside the read patterns, of every service, present and future, is
    denied. Reads of services not listed are denied too through the MCP server: the safe side. Data reads that
    disclose secrets are denied explicitly, since they match a read pattern.
    """
    from envctl.inventory.readonly import SENSITIVE_READS

    services = set(GUARDRAIL_READ_SERVICES)
    if scan is not None:   # and the services the environment's scripts use
        services |= set(iam_actions.services_of(sorted(scan.actions)))
    reads = [f"{service}:{pattern}" for service in sorted(services) for pattern in READ_PATTERNS]
    reads += EXTRA_READS
    conditions = {"Bool": {"aws:ViaAWSMCPService": "true"}}
    named = {"Null": {"aws:CalledViaAWSMCP": "false"}}
    sensitive = sorted(SENSITIVE_READS)
    return [
        {"Sid": "DenyWritesViaAwsMcp", "Effect": "Deny", "NotAction": reads, "Resource": "*",
         "Condition": conditions},
        {"Sid": "DenySecretReadsViaAwsMcp", "Effect": "Deny", "Action": sensitive, "Resource": "*",
         "Condition": conditions},
        # aws:CalledViaAWSMCP names the MCP server a call came through: present means "through an AWS managed MCP
        # server" even where a request lacks the Bool key. Narrow it to one server with StringEquals if wanted.
        {"Sid": "DenyWritesViaNamedAwsMcp", "Effect": "Deny", "NotAction": reads, "Resource": "*",
         "Condition": named},
    ]


@dataclass(frozen=True)
class PolicyResult:
    documents: list[dict[str, Any]]
    unmapped: list[str]   # calls of the scripts no action could be found for: for stderr


def build(env: Environment, kind: str) -> PolicyResult:
    """The documents of one kind of policy for ``env``. Reads the scripts; calls nothing."""
    if kind == "reader":
        return PolicyResult(documents(reader_statements(env)), [])
    scan = scan_runner(env)
    if kind == "agent-guardrail":
        return PolicyResult(documents(guardrail_statements(scan)), [])
    if not scan.actions:
        raise UsageError(f"the scripts of '{env.name}' make no AWS call envctl can read (aws CLI in shell, boto3 "
                         "clients in Python): there is no runner policy to print",
                         hint="write that policy by hand" + (f" ({'; '.join(scan.unmapped)})" if scan.unmapped
                                                              else ""))
    return PolicyResult(documents(runner_statements(scan)), scan.unmapped)


def _per_service(effect: str, suffix: str, actions: Sequence[str]) -> list[dict[str, Any]]:
    by_service: dict[str, list[str]] = {}
    for action in actions:
        by_service.setdefault(action.split(":")[0], []).append(action)
    return [{"Sid": _sid(service) + suffix, "Effect": effect, "Action": acts, "Resource": "*"}
            for service, acts in sorted(by_service.items())]


def _sid(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("_", "-").split("-"))


def size(document: dict[str, Any]) -> int:
    """Characters IAM counts against the limit: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def documents(statements: Iterable[dict[str, Any]], *, limit: int = MANAGED_POLICY_LIMIT) -> list[dict[str, Any]]:
    """The statements packed into as few documents as fit ``limit`` each, in order; a statement too big for
    one document is cut into several (its actions split, its Sid numbered)."""
    docs: list[list[dict[str, Any]]] = [[]]
    for statement in _fitting(list(statements), limit):
        if docs[-1] and size(_doc([*docs[-1], statement])) > limit:
            docs.append([])
        docs[-1].append(statement)
    return [_doc(d) for d in docs if d]


def _fitting(statements: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    out = []
    for statement in statements:
        key = "Action" if "Action" in statement else "NotAction"
        if size(_doc([statement])) <= limit or key == "NotAction" or not isinstance(statement[key], list):
            out.append(statement)
            continue
        chunk: list[str] = []
        parts: list[list[str]] = []
        for action in statement[key]:
            if chunk and size(_doc([{**statement, key: [*chunk, action]}])) > limit:
                parts.append(chunk)
                chunk = []
            chunk.append(action)
        parts.append(chunk)
        out += [{**statement, "Sid": f"{statement['Sid']}{i}", key: part} for i, part in enumerate(parts, start=1)]
    return out


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": statements}


def _display(env: Environment, path: Path) -> str:
    try:
        return path.resolve().relative_to(env.root.resolve()).as_posix()
    except ValueError:
        return str(path)
