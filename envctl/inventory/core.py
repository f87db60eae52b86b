"""``collect`` and ``recheck``: run collectors across services and regions in parallel, read-only, and merge.

``collect`` is the full look (verify). ``recheck`` is what ``down`` asks after one component's delete: only
what an earlier look attributed to that component (one get per resource where the family has one), plus the
checks that failed in that look, narrowed to the component. Never a full inventory.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from envctl.config.regions import partition_of
from envctl.inventory.collectors import ALL_ACTIONS, COLLECTORS, Collector
from envctl.inventory.model import GLOBAL, ClientFactory, Inventory, Resource, Scope
from envctl.inventory.readonly import CallCounter, bound_concurrency, count_calls, guard

# Calls in flight at once per service and region. IAM's rate limits are account-wide and low; the rest is
# a cap so that --all-regions does not open hundreds of connections to one endpoint.
CONCURRENCY = {"iam": 4, "route53": 4, "resourcegroupstaggingapi": 4}
DEFAULT_CONCURRENCY = 8


class GuardedClients:
    """A thread-safe cache of read-only guarded clients over a caller's factory, counting the calls sent and
    bounding how many run at once per service and region."""

    def __init__(self, factory: ClientFactory, allowed: Iterable[str] = ALL_ACTIONS) -> None:
        self._factory = factory
        self._allowed = frozenset(allowed)
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._stop: list[Callable[[], None]] = []
        self.counter = CallCounter()

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        with self._lock:  # creating boto3 clients is not thread-safe
            if key not in self._clients:
                client = guard(self._factory(service, region), self._allowed)
                self._stop.append(count_calls(client, self.counter))
                slots = threading.BoundedSemaphore(CONCURRENCY.get(service, DEFAULT_CONCURRENCY))
                self._stop.append(bound_concurrency(client, slots))
                self._clients[key] = client
            return self._clients[key]

    def close(self) -> None:
        """Stop counting and bounding (the caller's factory may hand the same clients to the next look)."""
        with self._lock:
            for stop in self._stop:
                stop()
            self._stop.clear()


@dataclass(frozen=True)
class Survey:
    """What to look for and where: the environment, its regions, what it made that others hang things on."""

    env: str
    regions: tuple[str, ...]
    clusters: Mapping[str, str | None] = field(default_factory=dict)
    db_instances: Mapping[str, str | None] = field(default_factory=dict)
    since: _dt.datetime | None = None  # the environment's first bring-up: nothing older can be its own
    account: str = ""
    parents: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)  # see inventory.parents

    def scope(self, client: ClientFactory, component: str | None = None) -> Scope:
        clusters = dict(self.clusters)
        if component is not None:
            clusters = {name: owner for name, owner in clusters.items() if owner == component}
        region = self.regions[0] if self.regions else "us-east-1"
        return Scope(env=self.env, clusters=clusters, db_instances=dict(self.db_instances), client=client,
                     component=component, since=self.since, partition=partition_of(region),
                     account=self.account, parents=dict(self.parents))


Job = tuple[str, Callable[[], list[Resource]]]


def collect(env_name: str, *, regions: Sequence[str], client_factory: ClientFactory,
            clusters: Mapping[str, str | None] | None = None,
            db_instances: Mapping[str, str | None] | None = None,
            component: str | None = None, max_workers: int = 16,
            parents: Mapping[str, Mapping[str, str | None]] | None = None,
            collectors: Sequence[Collector] = COLLECTORS, since: _dt.datetime | None = None,
            account: str = "") -> Inventory:
    """Everything in ``regions`` (and the global services) that belongs to environment ``env_name``, found
    without changing anything.

    ``clusters`` maps each EKS cluster the environment created to the component that created it; resources
    that AWS or Kubernetes made for it without the environment's tag are attributed to that component.
    ``db_instances`` does the same for RDS instances (their final snapshots), ``parents`` for the VPCs,
    Aurora clusters, functions... the state names (:mod:`envctl.inventory.parents`). ``component`` narrows the
    result to one component's resources. ``since`` (the environment's first bring-up) lets families whose
    lists carry no tags skip, without a call each, what is older. A collector that fails (denied, throttled
    after retries, a region unreachable) is reported in ``errors``; the rest still run.
    """
    survey = Survey(env_name, tuple(regions), dict(clusters or {}), dict(db_instances or {}), since, account,
                    dict(parents or {}))
    return survey_collect(survey, client_factory, component=component, max_workers=max_workers,
                          collectors=collectors)


def survey_collect(survey: Survey, client_factory: ClientFactory, *, component: str | None = None,
                   max_workers: int = 16, collectors: Sequence[Collector] = COLLECTORS) -> Inventory:
    clients = GuardedClients(client_factory)
    scope = survey.scope(clients, component)
    chosen = [c for c in collectors if scope.clusters or not c.needs_clusters]
    jobs: list[Job] = [(f"{c.name}@{region}", _runner(c, scope, region))
                       for c in chosen for region in ([GLOBAL] if c.global_ else survey.regions)]
    return _inventory(survey, clients, jobs, max_workers, checks=[c.name for c in chosen])


def recheck(survey: Survey, previous: Inventory, component: str, client_factory: ClientFactory, *,
            max_workers: int = 8, collectors: Sequence[Collector] = COLLECTORS) -> Inventory:
    """What of ``component`` is still there, asking only about what ``previous`` attributed to it (and, for
    the checks that failed in ``previous``, running them again narrowed to the component)."""
    clients = GuardedClients(client_factory)
    scope = survey.scope(clients, component)
    by_name = {c.name: c for c in collectors}
    groups: dict[tuple[str, str], list[Resource]] = {}
    for res in (*previous.resources, *previous.pending):
        if res.component == component and res.check in by_name:
            groups.setdefault((res.check, res.region), []).append(res)
    jobs: list[Job] = []
    for (name, region), items in sorted(groups.items()):
        collector = by_name[name]
        if collector.recheck is not None:
            jobs.append((f"{name}@{region}", _rechecker(collector, scope, region, items)))
        else:
            jobs.append((f"{name}@{region}", _runner(collector, scope, region)))
    for key in sorted(previous.errors):
        name, _, region = key.partition("@")
        if name in by_name and (name, region) not in groups:
            jobs.append((key, _runner(by_name[name], scope, region)))
    return _inventory(survey, clients, jobs, max_workers, checks=sorted({k.partition("@")[0] for k, _ in jobs}))


def _runner(collector: Collector, scope: Scope, region: str) -> Callable[[], list[Resource]]:
    def run() -> list[Resource]:
        return [replace(r, check=collector.name) for r in collector.run(scope, region)]

    return run


def _rechecker(collector: Collector, scope: Scope, region: str,
               items: Sequence[Resource]) -> Callable[[], list[Resource]]:
    def run() -> list[Resource]:
        assert collector.recheck is not None
        return [replace(r, check=collector.name) for r in collector.recheck(scope, region, items)]

    return run


def _inventory(survey: Survey, clients: GuardedClients, jobs: Sequence[Job], max_workers: int, *,
               checks: Sequence[str]) -> Inventory:
    errors: dict[str, str] = {}
    found: dict[str, Resource] = {}

    def run(job: Job) -> tuple[str, list[Resource] | BaseException]:
        key, fn = job
        try:
            return key, fn()
        except Exception as err:  # one failing check must not hide the others' findings
            return key, err

    try:
        with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
            for key, result in pool.map(run, jobs):
                if isinstance(result, BaseException):
                    errors[key] = describe_error(result)
                    continue
                for res in result:
                    _merge(found, res)
    finally:
        clients.close()
    ordered = sorted(found.values(), key=lambda r: (r.component or "", r.type, r.region, r.id))
    return Inventory(env=survey.env, resources=tuple(r for r in ordered if not r.pending_deletion),
                     pending=tuple(r for r in ordered if r.pending_deletion), errors=errors,
                     api_calls=clients.counter.count, regions=survey.regions,
                     checks=tuple(sorted(set(checks))),
                     covers_global=any(key.endswith("@" + GLOBAL) for key, _ in jobs))


def _merge(found: dict[str, Resource], res: Resource) -> None:
    """One entry per ARN; a resource owned by its tags wins over the same one seen as an orphan."""
    old = found.get(res.arn)
    if old is None or (old.orphan_of is not None and res.orphan_of is None) or (not old.attrs and res.attrs):
        found[res.arn] = res


def describe_error(err: BaseException) -> str:
    """What failed, in one line: the AWS error code and message (AccessDenied, Throttling...) when there is one."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) < 400 else text[:400] + "..."
