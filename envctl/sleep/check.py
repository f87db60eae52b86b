"""For ``status`` of an asleep environment: what runs although envctl put it to sleep.

The common one: AWS starts a stopped RDS instance or Aurora cluster again by itself after 7 days. The next
``envctl sleep`` stops it again.
"""

from __future__ import annotations

from typing import Any

from envctl.sleep.instances import DB_CLUSTERS, DB_INSTANCES
from envctl.sleep.targets import (
    TAG_NODEGROUP_PREFIX,
    TAG_SIZE,
    TAG_STOPPED,
    ClientFactory,
    SleepSwitches,
    env_asgs,
    env_clusters,
    env_ec2_instances,
    env_nodegroups,
    env_services,
    switched_on,
)

HINT = "; `envctl sleep` stops it again"
RESTART = "(AWS starts a stopped {what} again after 7 days)"


def check_asleep(env_name: str, *, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
                 remembered: dict[str, Any] | None = None) -> list[str]:
    """One warning per resource envctl put to sleep that is running again."""
    data = remembered or {}
    warnings: list[str] = []
    for kind in (DB_INSTANCES, DB_CLUSTERS):
        if not switched_on(config, kind.section):
            continue
        for item in kind.listing(client_factory("rds", region), env_name):
            name, status = item[kind.id_key], item.get(kind.status_key)
            if _ours(item["_tags"], name, data.get(kind.section)) and status not in ("stopped", "stopping"):
                warnings.append(f"{kind.section} {name} is {status} although the environment is asleep "
                                + RESTART.format(what=kind.noun) + HINT)
    if switched_on(config, "ec2"):
        for instance in env_ec2_instances(client_factory("ec2", region), env_name):
            iid = instance["InstanceId"]
            if _ours(instance["_tags"], iid, data.get("ec2")) and instance["State"]["Name"] in ("pending", "running"):
                warnings.append(f"ec2 {iid} is running although the environment is asleep" + HINT)
    warnings += _sized(env_name, region, config, client_factory, data)
    return warnings


def _ours(tags: dict[str, str], name: str, listed: Any) -> bool:
    return tags.get(TAG_STOPPED) == "true" or name in (listed or [])


def _sized(env_name: str, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
           data: dict[str, Any]) -> list[str]:
    warnings = []
    if switched_on(config, "autoscaling"):
        for name, sizes, tags in env_asgs(client_factory("autoscaling", region), env_name):
            if (TAG_SIZE in tags or name in data.get("autoscaling", {})) and sizes.desired > 0:
                warnings.append(f"autoscaling group {name} wants {sizes.desired} instances although the "
                                "environment is asleep" + HINT)
    if switched_on(config, "nodegroups"):
        eks = client_factory("eks", region)
        for cluster, _arn, tags in env_clusters(eks, env_name):
            for group in env_nodegroups(eks, cluster, env_name):
                recorded = (TAG_SIZE in group.tags or TAG_NODEGROUP_PREFIX + group.name in tags
                            or group.key in data.get("nodegroups", {}))
                if recorded and group.sizes.desired > 0:
                    warnings.append(f"nodegroup {group.key} wants {group.sizes.desired} nodes although the "
                                    "environment is asleep" + HINT)
    if switched_on(config, "ecs"):
        for service in env_services(client_factory, region, env_name):
            if (TAG_SIZE in service.tags or service.key in data.get("ecs", {})) and service.sizes.desired > 0:
                warnings.append(f"ecs service {service.key} wants {service.sizes.desired} tasks although the "
                                "environment is asleep" + HINT)
    return warnings
