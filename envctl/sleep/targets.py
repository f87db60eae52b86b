"""What the built-ins act on: the environment's nodegroups, autoscaling groups, RDS and EC2 instances, ECS
services and Aurora clusters, found by the ``envctl:env`` tag; the sizes and the tags that record them.

Read-only: every change is made by :mod:`envctl.sleep.builtins` and the modules it calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from envctl.inventory.model import describe_ecs_services, ecs_service_cluster

ClientFactory = Callable[[str, str], Any]

TAG_ENV = "envctl:env"
TAG_COMPONENT = "envctl:component"
TAG_SIZE = "envctl:sleep:size"                          # on a nodegroup, an autoscaling group, an ECS service
TAG_NODEGROUP_PREFIX = "envctl:sleep:nodegroup:"        # older releases: a nodegroup's sizes on its cluster
TAG_STOPPED = "envctl:sleep:stopped"
TAG_ASG_SIZE = TAG_SIZE
ASG_EKS_TAG = "eks:nodegroup-name"
EC2_ASG_TAG = "aws:autoscaling:groupName"
ECS_DIMENSION = "ecs:service:DesiredCount"


READ_ACTIONS = (
    "tag:GetResources", "eks:ListClusters", "eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup",
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeLaunchConfigurations",
    "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeInstances", "rds:DescribeDBInstances",
    "rds:DescribeDBClusters", "ecs:DescribeServices", "ecs:DescribeTaskDefinition",
    "application-autoscaling:DescribeScalableTargets",
)
"""What looking at the sleep targets calls (``status``, ``cost``): reads only, refused otherwise."""

CHANGE_ACTIONS = (
    "eks:UpdateNodegroupConfig", "eks:TagResource", "eks:UntagResource", "autoscaling:UpdateAutoScalingGroup",
    "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags", "rds:StopDBInstance", "rds:StartDBInstance",
    "rds:StopDBCluster", "rds:StartDBCluster", "rds:AddTagsToResource", "rds:RemoveTagsFromResource",
    "ec2:StopInstances", "ec2:StartInstances", "ec2:CreateTags", "ec2:DeleteTags", "ecs:UpdateService",
    "ecs:TagResource", "ecs:UntagResource", "application-autoscaling:RegisterScalableTarget",
)
"""What ``sleep`` and ``wake`` change through the built-ins (with :data:`READ_ACTIONS`): a scheduler's role."""


def read_only(factory: ClientFactory) -> ClientFactory:
    """``factory`` whose clients refuse anything but :data:`READ_ACTIONS` (give it a factory of its own: a
    guarded client stays guarded)."""
    from envctl.inventory.readonly import guard

    return lambda service, region: guard(factory(service, region), READ_ACTIONS)


class SleepSwitches(Protocol):
    """What the built-ins read from ``env.yaml`` ``sleep:`` (envctl.config.model.SleepConfig)."""

    @property
    def nodegroups(self) -> bool: ...
    @property
    def autoscaling(self) -> bool: ...
    @property
    def rds(self) -> bool: ...
    @property
    def ec2(self) -> bool: ...
    @property
    def ecs(self) -> bool: ...
    @property
    def aurora(self) -> bool: ...


def switched_on(config: SleepSwitches | None, name: str) -> bool:
    """With no ``sleep:`` block every built-in is on; a switch an older config type lacks is on too."""
    return config is None or bool(getattr(config, name, True))


@dataclass(frozen=True)
class Sizes:
    min: int
    desired: int
    max: int

    def tag_value(self) -> str:
        # Spaces, not commas: several services refuse commas in tag values (cloud-custodian#1310).
        return f"min={self.min} desired={self.desired} max={self.max}"

    @classmethod
    def parse(cls, text: str) -> Sizes | None:
        found = dict(re.findall(r"(min|desired|max)=(\d+)", text or ""))
        if set(found) != {"min", "desired", "max"}:
            return None
        return cls(int(found["min"]), int(found["desired"]), int(found["max"]))

    @classmethod
    def from_dict(cls, data: Any) -> Sizes | None:
        try:
            return cls(int(data["min"]), int(data["desired"]), int(data["max"]))
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict[str, int]:
        return {"min": self.min, "desired": self.desired, "max": self.max}

    def __str__(self) -> str:
        return f"{self.min}/{self.desired}/{self.max}"

    @property
    def asleep(self) -> bool:
        return self.min == 0 and self.desired == 0


@dataclass(frozen=True)
class ServiceSizes:
    """An ECS service's desired count and, when Application Auto Scaling manages it, its scaler's bounds."""

    desired: int
    min: int | None = None
    max: int | None = None

    @property
    def scaled(self) -> bool:
        return self.min is not None and self.max is not None

    @property
    def asleep(self) -> bool:
        return self.desired == 0 and (not self.scaled or (self.min == 0 and self.max == 0))

    @property
    def touched(self) -> bool:
        """Partly asleep (a sleep stopped between its two calls): not sizes to restore."""
        return self.desired == 0 or (self.scaled and self.max == 0)

    def tag_value(self) -> str:
        return f"desired={self.desired}" + (f" min={self.min} max={self.max}" if self.scaled else "")

    @classmethod
    def parse(cls, text: str) -> ServiceSizes | None:
        found = {k: int(v) for k, v in re.findall(r"(min|desired|max)=(\d+)", text or "")}
        if "desired" not in found:
            return None
        return cls(found["desired"], found.get("min"), found.get("max"))

    @classmethod
    def from_dict(cls, data: Any) -> ServiceSizes | None:
        try:
            return cls(int(data["desired"]), _int_or_none(data.get("min")), _int_or_none(data.get("max")))
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict[str, int | None]:
        return {"desired": self.desired, "min": self.min, "max": self.max}

    def __str__(self) -> str:
        return f"desired {self.desired}" + (f" (scaler {self.min}-{self.max})" if self.scaled else "")


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def tags_of(items: list[dict[str, Any]] | None) -> dict[str, str]:
    """AWS tag lists, capitalised (``Key``) or not (ECS: ``key``), as a dict."""
    out: dict[str, str] = {}
    for tag in items or []:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return out


def env_clusters(eks: Any, env: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """``(name, arn, tags)`` of the EKS clusters tagged ``envctl:env=<env>``."""
    for page in eks.get_paginator("list_clusters").paginate():
        for name in page.get("clusters", []):
            cluster = eks.describe_cluster(name=name)["cluster"]
            tags = cluster.get("tags") or {}
            if tags.get(TAG_ENV) == env:
                yield name, cluster["arn"], tags


@dataclass(frozen=True)
class Nodegroup:
    cluster: str
    name: str
    arn: str
    sizes: Sizes
    tags: Mapping[str, str]
    instance_type: str
    on_demand: bool

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.name}"


def env_nodegroups(eks: Any, cluster: str, env: str) -> Iterator[Nodegroup]:
    for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster):
        for name in page.get("nodegroups", []):
            group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
            tags = group.get("tags") or {}
            if tags.get(TAG_ENV) != env:
                continue
            scaling = group.get("scalingConfig") or {}
            types = group.get("instanceTypes") or []
            yield Nodegroup(cluster, name, group["nodegroupArn"],
                            Sizes(int(scaling.get("minSize", 0)), int(scaling.get("desiredSize", 0)),
                                  int(scaling.get("maxSize", 1))),
                            dict(tags), types[0] if types else "unknown",
                            group.get("capacityType", "ON_DEMAND") == "ON_DEMAND")


def env_asgs(autoscaling: Any, env: str) -> Iterator[tuple[str, Sizes, dict[str, str]]]:
    """Autoscaling groups tagged for the environment, except the ones EKS manages for a nodegroup."""
    paginator = autoscaling.get_paginator("describe_auto_scaling_groups")
    for page in paginator.paginate(Filters=[{"Name": f"tag:{TAG_ENV}", "Values": [env]}]):
        for group in page.get("AutoScalingGroups", []):
            tags = tags_of(group.get("Tags"))
            if tags.get(TAG_ENV) != env or ASG_EKS_TAG in tags:
                continue
            yield (group["AutoScalingGroupName"],
                   Sizes(group["MinSize"], group["DesiredCapacity"], group["MaxSize"]), tags)


def env_db_instances(rds: Any, env: str) -> Iterator[dict[str, Any]]:
    for page in rds.get_paginator("describe_db_instances").paginate():
        for db in page.get("DBInstances", []):
            tags = tags_of(db.get("TagList"))
            if tags.get(TAG_ENV) == env:
                yield {**db, "_tags": tags}


def env_db_clusters(rds: Any, env: str) -> Iterator[dict[str, Any]]:
    """The environment's Aurora clusters (``describe_db_clusters`` lists DocumentDB and Neptune too)."""
    for page in rds.get_paginator("describe_db_clusters").paginate():
        for cluster in page.get("DBClusters", []):
            tags = tags_of(cluster.get("TagList"))
            if tags.get(TAG_ENV) == env and str(cluster.get("Engine", "")).startswith("aurora"):
                yield {**cluster, "_tags": tags}


def env_ec2_instances(ec2: Any, env: str) -> Iterator[dict[str, Any]]:
    """Instances tagged for the environment that no autoscaling group owns (the group's size covers those)."""
    filters = [{"Name": f"tag:{TAG_ENV}", "Values": [env]},
               {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                tags = tags_of(instance.get("Tags"))
                if EC2_ASG_TAG not in tags:
                    yield {**instance, "_tags": tags}


@dataclass(frozen=True)
class Service:
    cluster: str
    name: str
    arn: str
    sizes: ServiceSizes
    tags: Mapping[str, str]
    launch_type: str
    task_definition: str

    @property
    def key(self) -> str:
        return f"{self.cluster}/{self.name}"

    @property
    def resource_id(self) -> str:
        return f"service/{self.cluster}/{self.name}"


def env_services(factory: ClientFactory, region: str, env: str) -> Iterator[Service]:
    """The environment's active ECS services: one tagging-API call finds them (none: nothing more is asked)."""
    tagging = factory("resourcegroupstaggingapi", region)
    by_cluster: dict[str, list[str]] = {}
    for page in tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": TAG_ENV, "Values": [env]}], ResourceTypeFilters=["ecs:service"]):
        for item in page.get("ResourceTagMappingList", []):
            cluster = ecs_service_cluster(item["ResourceARN"])
            if cluster is not None:  # the old short ARNs cannot carry tags anyway
                by_cluster.setdefault(cluster, []).append(item["ResourceARN"])
    if not by_cluster:
        return
    ecs, scaling = factory("ecs", region), factory("application-autoscaling", region)
    for cluster, arns in sorted(by_cluster.items()):
        services = [s for s in describe_ecs_services(ecs, cluster, arns, include=["TAGS"])
                    if s.get("status") == "ACTIVE"]
        bounds = _scaler_bounds(scaling, [f"service/{cluster}/{s['serviceName']}" for s in services])
        for svc in services:
            rid = f"service/{cluster}/{svc['serviceName']}"
            low, high = bounds.get(rid, (None, None))
            yield Service(cluster, svc["serviceName"], svc["serviceArn"],
                          ServiceSizes(int(svc.get("desiredCount", 0)), low, high),
                          tags_of(svc.get("tags")), str(svc.get("launchType") or "EC2"),
                          str(svc.get("taskDefinition") or ""))


def _scaler_bounds(scaling: Any, resource_ids: list[str]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for start in range(0, len(resource_ids), 50):
        pages = scaling.get_paginator("describe_scalable_targets").paginate(
            ServiceNamespace="ecs", ResourceIds=resource_ids[start:start + 50], ScalableDimension=ECS_DIMENSION)
        for page in pages:
            for target in page.get("ScalableTargets", []):
                out[target["ResourceId"]] = (int(target["MinCapacity"]), int(target["MaxCapacity"]))
    return out
