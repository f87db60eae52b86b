"""``collect``: run every collector across services and regions in parallel, read-only, and merge."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from envctl.inventory.collectors import ALL_ACTIONS, COLLECTORS, Collector
from envctl.inventory.model import GLOBAL, ClientFactory, Inventory, Resource, Scope
from envctl.inventory.readonly import CallCounter, count_calls, guard


class GuardedClients:
    """A thread-safe cache of read-only guarded clients over a caller's factory, counting the calls sent."""

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
                self._clients[key] = client
            return self._clients[key]

    def close(self) -> None:
        """Stop counting (the caller's factory may hand the same clients to the next inventory)."""
        with self._lock:
            for stop in self._stop:
                stop()
            self._stop.clear()


def collect(env_name: str, *, regions: Sequence[str], client_factory: ClientFactory,
            clusters: Mapping[str, str | None] | None = None,
            db_instances: Mapping[str, str | None] | None = None,
            component: str | None = None, max_workers: int = 16,
            parents: Mapping[str, Mapping[str, str | None]] | None = None,
            collectors: Sequence[Collector] = COLLECTORS) -> Inventory:
    """Everything in ``regions`` that belongs to environment ``env_name``, found without changing anything.

    ``clusters`` maps each EKS cluster the environment created to the component that created it; resources
    that AWS or Kubernetes made for it without the environment's tag are attributed to that component.
    ``db_instances`` does the same for RDS instances (their final snapshots). ``component`` narrows the
    result to one component's resources (after its delete, to name what the delete forgot). A collector that
    fails is reported in ``errors``; the rest still run.
    """
    clients = GuardedClients(client_factory)
    clusters = dict(clusters or {})
    if component is not None:
        clusters = {name: owner for name, owner in clusters.items() if owner == component}
    scope = Scope(env=env_name, clusters=clusters, db_instances=dict(db_instances or {}), client=clients,
                  component=component, parents=dict(parents or {}))
    jobs = [(c, GLOBAL if c.global_ else region) for c in collectors if clusters or not c.needs_clusters
            for region in ([GLOBAL] if c.global_ else regions)]
    errors: dict[str, str] = {}
    found: dict[str, Resource] = {}

    def run(job: tuple[Collector, str]) -> tuple[str, list[Resource] | BaseException]:
        collector, region = job
        try:
            return f"{collector.name}@{region}", collector.run(scope, region)
        except Exception as err:  # one failing collector must not hide the others' findings
            return f"{collector.name}@{region}", err

    try:
        with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
            for key, result in pool.map(run, jobs):
                if isinstance(result, BaseException):
                    errors[key] = _describe(result)
                    continue
                for res in result:
                    _merge(found, res)
    finally:
        clients.close()
    ordered = sorted(found.values(), key=lambda r: (r.component or "", r.type, r.region, r.id))
    return Inventory(env=env_name, resources=tuple(r for r in ordered if not r.pending_deletion),
                     pending=tuple(r for r in ordered if r.pending_deletion), errors=errors,
                     api_calls=clients.counter.count, regions=tuple(regions))


def _merge(found: dict[str, Resource], res: Resource) -> None:
    """One entry per ARN; a resource owned by its tags wins over the same one seen as an orphan."""
    old = found.get(res.arn)
    if old is None or (old.orphan_of is not None and res.orphan_of is None) or (not old.attrs and res.attrs):
        found[res.arn] = res


def _describe(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text if len(text) < 400 else text[:400] + "..."
