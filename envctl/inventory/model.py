"""What the inventory finds, and the small rules every collector shares (whose is a resource?)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from envctl.aws.session import ClientFactory as ClientFactory  # the one definition; collectors take it
from envctl.config.regions import global_region_of

ENV_TAG = "envctl:env"
COMPONENT_TAG = "envctl:component"
GLOBAL = "global"



def _empty() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Resource:
    """One resource found in AWS that belongs to the environment (or is an orphan of one of its clusters)."""

    arn: str
    type: str                      # "ec2:natgateway", "iam:policy", "elasticloadbalancing:loadbalancer/app"
    id: str
    region: str                    # "global" for IAM and Route 53
    component: str | None = None   # the envctl:component tag, or the owner of the orphan's cluster
    tags: Mapping[str, str] = field(default_factory=_empty)
    pending_deletion: bool = False
    orphan_of: str | None = None   # the cluster name, for resources made by AWS or Kubernetes without our tag
    attrs: Mapping[str, Any] = field(default_factory=_empty)  # for pricing: instance_type, size_gb...
    check: str = ""                # the collector that found it (down asks that one again after a delete)


@dataclass(frozen=True)
class Inventory:
    """The result of :func:`envctl.inventory.collect`. ``errors`` maps ``collector@region`` to what failed."""

    env: str
    resources: tuple[Resource, ...]
    pending: tuple[Resource, ...]
    errors: Mapping[str, str]
    api_calls: int
    regions: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()   # the collectors that ran
    covers_global: bool = False    # the global services (IAM, Route 53) were among them

    @property
    def complete(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class Scope:
    """What a collector needs: whose resources to look for, and guarded clients."""

    env: str
    clusters: Mapping[str, str | None]      # cluster name -> owning component
    db_instances: Mapping[str, str | None]  # RDS instance id -> owning component
    client: ClientFactory                   # already read-only guarded
    component: str | None = None
    parents: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)  # see inventory.parents
    since: _dt.datetime | None = None       # the environment's first bring-up: nothing older is its own
    partition: str = "aws"                  # of the environment's region: aws, aws-cn, aws-us-gov
    account: str = ""                       # for the ARNs envctl writes itself, when known

    @property
    def global_region(self) -> str:
        """Where the partition's global services (IAM, Route 53) answer."""
        return global_region_of(self.partition)

    def arn(self, service: str, region: str, resource: str, *, account: bool = True) -> str:
        """An ARN in the scope's partition: ``arn:aws-cn:ec2:cn-north-1:123456789012:elastic-ip/eipalloc-1``."""
        where = "" if region == GLOBAL else region
        return f"arn:{self.partition}:{service}:{where}:{self.account if account else ''}:{resource}"

    def created_since(self, when: Any) -> bool:
        """Whether something created at ``when`` can be the environment's: not when it is older than the
        environment's first bring-up. Unknown either way: it can."""
        if self.since is None or not isinstance(when, _dt.datetime):
            return True
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        return when >= self.since

    def owner(self, tags: Mapping[str, str], *,
              cluster: str | None = None) -> tuple[bool, str | None, str | None]:
        """(ours?, component, orphan_of) for a resource with ``tags``.

        Ours when it carries this environment's tag, or when it carries no environment tag and belongs to one
        of the environment's clusters (by the Kubernetes/EKS tags or by ``cluster``, e.g. a log group name).
        Another environment's resources are never ours, whatever their cluster tags say.
        """
        env = tags.get(ENV_TAG)
        if env == self.env:
            component = tags.get(COMPONENT_TAG)
            if component is None:  # ours without a component tag: its cluster's owner, if it names one
                name = cluster if cluster in self.clusters else cluster_of(tags, self.clusters)
                component = self.clusters.get(name) if name else None
            return True, component, None
        if env is not None:
            return False, None, None
        name = cluster if cluster in self.clusters else cluster_of(tags, self.clusters)
        if name is None:
            return False, None, None
        return True, self.clusters[name], name


CLUSTER_TAG_KEYS = ("elbv2.k8s.aws/cluster", "eks:cluster-name", "aws:eks:cluster-name",
                    "cluster.k8s.amazonaws.com/name", "KubernetesCluster", "alpha.eksctl.io/cluster-name")


def cluster_of(tags: Mapping[str, str], clusters: Mapping[str, Any]) -> str | None:
    """The environment's cluster a resource was made for, from the tags controllers and EKS put on it."""
    for name in clusters:
        if tags.get(f"kubernetes.io/cluster/{name}", "shared") != "shared":  # "shared": used, not owned
            return name
        if any(tags.get(key) == name for key in CLUSTER_TAG_KEYS):
            return name
    return None


def tag_dict(tags: Iterable[Mapping[str, str]] | Mapping[str, str] | None) -> dict[str, str]:
    """AWS tags in any shape ([{Key,Value}], [{TagKey,TagValue}], [{key,value}], {k: v}) as a dict."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    out: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key", tag.get("TagKey", tag.get("key")))
        value = tag.get("Value", tag.get("TagValue", tag.get("value", "")))
        if key is not None:
            out[str(key)] = "" if value is None else str(value)
    return out


def make(scope: Scope, *, arn: str, type: str, id: str, region: str, tags: Mapping[str, str],
         cluster: str | None = None, pending: bool = False, **attrs: Any) -> Resource | None:
    """A :class:`Resource` when it belongs to the scope's environment (and component), else None."""
    ours, component, orphan_of = scope.owner(tags, cluster=cluster)
    if not ours:
        return None
    if scope.component is not None and component != scope.component:
        return None
    return Resource(arn=arn, type=type, id=id, region=region, component=component,
                    tags=MappingProxyType(dict(tags)), pending_deletion=pending, orphan_of=orphan_of,
                    attrs=MappingProxyType({k: v for k, v in attrs.items() if v is not None}))


def paginate(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item under ``key`` of every page of ``operation``."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key) or []
    else:
        yield from getattr(client, operation)(**params).get(key) or []


T = TypeVar("T")
R = TypeVar("R")


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int = 8) -> list[R]:
    """``fn`` over ``items`` on a few threads (per-item AWS calls such as tag lookups), in order."""
    if len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(fn, items))


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def ecs_service_cluster(arn: str) -> str | None:
    """The cluster named in an ECS service ARN (``...:service/<cluster>/<name>``); None for the old short form,
    which names no cluster (and cannot carry tags)."""
    parts = arn.split(":", 5)[-1].split("/")
    return parts[1] if len(parts) == 3 else None


def describe_ecs_services(ecs: Any, cluster: str, arns: Sequence[str], **extra: Any) -> Iterator[dict[str, Any]]:
    """``DescribeServices`` of ``arns`` in ``cluster``, 10 a call (the API's limit)."""
    for batch in chunks(arns, 10):
        yield from ecs.describe_services(cluster=cluster, services=list(batch), **extra).get("services") or []
