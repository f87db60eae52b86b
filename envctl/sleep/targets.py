"""What the sleep built-ins act on: the environment's nodegroups, autoscaling groups, RDS and EC2 instances.

Discovery by the ``envctl:env`` tag, the sizes and the tags that record them, and :func:`check_asleep`.
Read-only: every change is made by :mod:`envctl.sleep.builtins`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

ClientFactory = Callable[[str, str], Any]

TAG_ENV = "envctl:env"
TAG_NODEGROUP_PREFIX = "envctl:sleep:nodegroup:"
TAG_ASG_SIZE = "envctl:sleep:size"
TAG_STOPPED = "envctl:sleep:stopped"
ASG_EKS_TAG = "eks:nodegroup-name"
EC2_ASG_TAG = "aws:autoscaling:groupName"


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


def tags_of(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in items or []}


def env_clusters(eks: Any, env: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """``(name, arn, tags)`` of the EKS clusters tagged ``envctl:env=<env>``."""
    for page in eks.get_paginator("list_clusters").paginate():
        for name in page.get("clusters", []):
            cluster = eks.describe_cluster(name=name)["cluster"]
            tags = cluster.get("tags") or {}
            if tags.get(TAG_ENV) == env:
                yield name, cluster["arn"], tags


def env_nodegroups(eks: Any, cluster: str, env: str) -> Iterator[tuple[str, Sizes]]:
    for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster):
        for name in page.get("nodegroups", []):
            group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
            if (group.get("tags") or {}).get(TAG_ENV) != env:
                continue
            scaling = group.get("scalingConfig") or {}
            yield name, Sizes(int(scaling.get("minSize", 0)), int(scaling.get("desiredSize", 0)),
                              int(scaling.get("maxSize", 1)))


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


# ---------------------------------------------------------------- status: is it still asleep?


def check_asleep(env_name: str, *, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
                 remembered: dict[str, Any] | None = None) -> list[str]:
    """Warnings for ``status`` of an asleep environment: what runs although envctl put it to sleep.

    The common one is an RDS instance AWS started again by itself after 7 days stopped.
    """
    warnings: list[str] = []
    data = remembered or {}
    hint = "; `envctl sleep` stops it again"
    if config is None or config.rds:
        for db in env_db_instances(client_factory("rds", region), env_name):
            name = db["DBInstanceIdentifier"]
            ours = db["_tags"].get(TAG_STOPPED) == "true" or name in data.get("rds", [])
            if ours and db.get("DBInstanceStatus") not in ("stopped", "stopping"):
                warnings.append(f"rds {name} is {db.get('DBInstanceStatus')} although the environment is "
                                "asleep (AWS starts a stopped database again after 7 days)" + hint)
    if config is None or config.ec2:
        for instance in env_ec2_instances(client_factory("ec2", region), env_name):
            iid = instance["InstanceId"]
            ours = instance["_tags"].get(TAG_STOPPED) == "true" or iid in data.get("ec2", [])
            if ours and instance["State"]["Name"] in ("pending", "running"):
                warnings.append(f"ec2 {iid} is running although the environment is asleep" + hint)
    if config is None or config.autoscaling:
        for name, sizes, tags in env_asgs(client_factory("autoscaling", region), env_name):
            if (TAG_ASG_SIZE in tags or name in data.get("autoscaling", {})) and sizes.desired > 0:
                warnings.append(f"autoscaling group {name} wants {sizes.desired} instances although the "
                                "environment is asleep" + hint)
    if config is None or config.nodegroups:
        eks = client_factory("eks", region)
        for cluster, _arn, tags in env_clusters(eks, env_name):
            for name, sizes in env_nodegroups(eks, cluster, env_name):
                key = f"{cluster}/{name}"
                remembered_here = TAG_NODEGROUP_PREFIX + name in tags or key in data.get("nodegroups", {})
                if remembered_here and sizes.desired > 0:
                    warnings.append(f"nodegroup {cluster}/{name} wants {sizes.desired} nodes although the "
                                    "environment is asleep" + hint)
    return warnings
