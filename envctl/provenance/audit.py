"""``envctl audit`` as a core call: who made each live resource of an environment, read from CloudTrail.

For every resource the inventory finds, the latest call that created it (matched by ARN, id or name within its
service), classified by :mod:`envctl.provenance.classify`. ``account=True`` adds ``outside``: everything created
in the covered regions since the environment last came up by any caller but envctl's scripts, tagged or not,
still there (no later delete names it), with its creator and price. Read-only: inventory reads and
``cloudtrail:LookupEvents``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envctl.aws import cloudtrail_shape as shape
from envctl.config.model import Environment
from envctl.inventory import collect
from envctl.inventory.model import ClientFactory, Resource
from envctl.provenance.classify import UNKNOWN, CreatedBy, StepRef, by_aws_service, classify
from envctl.provenance.cloudtrail import EventWindow, Pace, clip, read_writes
from envctl.provenance.outside import OutsideItem, outside_items
from envctl.run.scriptenv import ua_app_id
from envctl.state.backends import backend_for
from envctl.state.history import history
from envctl.teardown.verify import check_account, state_outputs, targets_from

CLOCK_SKEW = _dt.timedelta(minutes=10)   # a laptop's clock against AWS's: start the window a little earlier
GLOBAL_SOURCES = ("iam", "sts", "route53", "cloudfront", "organizations")  # logged in us-east-1


@dataclass(frozen=True)
class AuditedResource:
    arn: str
    type: str
    id: str
    region: str
    component: str | None
    orphan_of: str | None
    created_by: CreatedBy
    tagged: bool

    @property
    def finding(self) -> bool:
        """Carries the environment's tags, and no envctl run of it made it."""
        return self.tagged and self.orphan_of is None and self.created_by.kind not in ("envctl", "unknown")

    def to_json(self) -> dict[str, Any]:
        return {"arn": self.arn, "type": self.type, "id": self.id, "region": self.region,
                "component": self.component, "orphan_of": self.orphan_of, "finding": self.finding,
                "created_by": self.created_by.to_json()}


@dataclass(frozen=True)
class AuditReport:
    env: str
    regions: tuple[str, ...]
    window_start: str
    window_end: str
    resources: tuple[AuditedResource, ...]
    outside: tuple[OutsideItem, ...] | None
    problems: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def unknown(self) -> list[AuditedResource]:
        return [r for r in self.resources if r.created_by.kind == "unknown" and r.orphan_of is None]

    @property
    def findings(self) -> list[AuditedResource]:
        return [r for r in self.resources if r.finding]

    @property
    def complete(self) -> bool:
        return not self.problems and not self.unknown

    @property
    def exit_code(self) -> int:
        if self.findings or self.outside:
            return 5
        return 0 if self.complete else 6

    def to_json(self) -> dict[str, Any]:
        return {"env": self.env, "complete": self.complete, "regions": list(self.regions),
                "window": {"start": self.window_start, "end": self.window_end},
                "resources": [r.to_json() for r in self.resources],
                "outside": [o.to_json() for o in self.outside or ()], "outside_checked": self.outside is not None,
                "findings": len(self.findings), "problems": list(self.problems), "notes": list(self.notes)}


def step_refs(runs: Iterable[Mapping[str, Any]]) -> dict[str, StepRef]:
    """envctl's user-agent app id of every step of every recorded run -> that step."""
    refs: dict[str, StepRef] = {}
    for run in runs:
        for step in run.get("steps") or []:
            if not step.get("component"):
                continue
            ref = StepRef(str(run["run_id"]), step["component"], step.get("action"), step.get("script"),
                          step.get("sha256"))
            refs.setdefault(ua_app_id(ref.run_id, ref.component), ref)
    return refs


def _parse(iso: str | None) -> _dt.datetime | None:
    if not iso:
        return None
    try:
        value = _dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


def window_start(runs: Sequence[Mapping[str, Any]], now: _dt.datetime) -> _dt.datetime:
    """Since the environment's first recorded run (nothing of it can be older), else CloudTrail's 90 days."""
    starts = [t for t in (_parse(r.get("started")) for r in runs) if t is not None]
    return min(starts) - CLOCK_SKEW if starts else now - _dt.timedelta(days=90)


def creation_index(events: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    """(service, identifier) -> the successful calls that created something so named, oldest first."""
    index: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for event in events:
        if event.get("errorCode"):
            continue
        service = shape.service_of(str(event.get("eventSource") or ""))
        for ident in shape.created_ids(str(event.get("eventName") or ""), event.get("requestParameters"),
                                       event.get("responseElements")):
            for key in (ident, "tail:" + shape.tail(ident)):
                bucket = index.setdefault((service, key), [])
                if not bucket or bucket[-1] is not event:
                    bucket.append(event)
    return index


def creating_event(index: Mapping[tuple[str, str], list[Mapping[str, Any]]], service: str, arn: str,
                   ident: str) -> Mapping[str, Any] | None:
    """The latest creating call naming the resource: by ARN, then id, then the last segment of either."""
    for key in (arn, ident, "tail:" + shape.tail(arn), "tail:" + shape.tail(ident)):
        found = index.get((service, key))
        if found:
            return found[-1]
    return None


def attribute(resources: Iterable[Resource], events: Sequence[Mapping[str, Any]], steps: Mapping[str, StepRef],
              env_name: str) -> tuple[AuditedResource, ...]:
    """Each inventory resource with who created it."""
    index = creation_index(events)
    out = []
    for res in resources:
        service = res.type.split(":", 1)[0]
        event = creating_event(index, service, res.arn, res.id)
        who = classify(event, steps) if event is not None else UNKNOWN
        out.append(AuditedResource(res.arn, res.type, res.id, res.region, res.component, res.orphan_of, who,
                                   tagged=res.tags.get("envctl:env") == env_name))
    return tuple(out)


def covered_regions(env: Environment) -> tuple[str, ...]:
    """The environment's region and the extra regions its ``verify:`` block names."""
    extra = getattr(getattr(env, "verify", None), "regions", ()) or ()
    return tuple(dict.fromkeys([env.region, *extra]))


def regions_to_read(covered: Sequence[str], resources: Sequence[Resource], account: bool) -> tuple[str, ...]:
    """The covered regions, and us-east-1 where global services (IAM) log their events."""
    if account or any(r.region == "global" for r in resources):
        return tuple(dict.fromkeys([*covered, "us-east-1"]))
    return tuple(covered)


def in_scope(event: Mapping[str, Any], covered: Sequence[str]) -> bool:
    """An event of a covered region, or of a global service (logged in us-east-1)."""
    return (event.get("awsRegion") in covered
            or shape.service_of(str(event.get("eventSource") or "")) in GLOBAL_SOURCES)


def audit_environment(env: Environment, root: Path, *, account: bool = False,
                      client_factory: ClientFactory | None = None,
                      now: _dt.datetime | None = None, pace: Pace | None = None) -> AuditReport:
    """The provenance report of ``env``."""
    if client_factory is None:
        from envctl.aws.session import client_factory_for

        client_factory = client_factory_for(env, root)
    check_account(env, client_factory)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    backend = backend_for(root, env.state, env=env)
    runs = backend.runs(env.name)
    targets = targets_from(env, state_outputs(env))
    covered = covered_regions(env)
    inventory = collect(env.name, regions=list(covered), clusters=targets.clusters,
                        db_instances=targets.db_instances, client_factory=client_factory)
    start, note = clip(window_start(runs, now), now)
    regions = regions_to_read(covered, inventory.resources, account)
    if pace is None and env.aws.target == "sandbox":
        pace = Pace(None)  # a local server: no rate to respect
    window: EventWindow = read_writes(client_factory, regions, start, now, pace=pace)
    problems = [f"inventory {key}: {msg}" for key, msg in inventory.errors.items()] + list(window.problems)
    steps = step_refs(runs)
    resources = attribute(inventory.resources, window.events, steps, env.name)
    outside = None
    if account:
        since = _parse(backend.load(env.name).up_since) or start
        # Another environment's envctl run in the same account is envctl too: not "outside".
        every_run = {**step_refs(history(root, None)), **steps}
        outside = outside_items([e for e in window.events if in_scope(e, covered) and not by_aws_service(e)],
                                every_run, since=since)
    notes = [n for n in (note, _sandbox_hint(env, root, window)) if n]
    return AuditReport(env.name, regions, f"{start:%Y-%m-%dT%H:%M:%SZ}", f"{now:%Y-%m-%dT%H:%M:%SZ}", resources,
                       tuple(outside) if outside is not None else None, tuple(problems), notes=tuple(notes))


def _sandbox_hint(env: Environment, root: Path, window: EventWindow) -> str | None:
    """What to do when the sandbox in use is a moto server envctl did not start (it keeps no CloudTrail)."""
    if env.aws.target != "sandbox" or window.complete:
        return None
    from envctl.aws import sandbox

    info = sandbox.status(root)
    if info is None or info.pid is not None:
        return None
    return (f"the sandbox on port {info.port} is a moto server envctl did not start, so it keeps no CloudTrail: "
            "stop it where it was started; the next envctl command starts envctl's own sandbox")
