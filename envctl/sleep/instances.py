"""The built-ins that stop and start: RDS DB instances, Aurora DB clusters and EC2 instances.

Each gets an ``envctl:sleep:stopped`` tag before it is stopped: wake starts only what envctl stopped, never
something someone stopped on purpose. AWS starts a stopped RDS instance or Aurora cluster again by itself
after 7 days; the next ``sleep`` stops it again, and ``status`` names it meanwhile (:mod:`envctl.sleep.check`).
Aurora stops and starts a cluster, not its instances (cloud-custodian#8391), so the members are left to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from envctl.sleep.records import Pass
from envctl.sleep.targets import (
    TAG_STOPPED,
    ClientFactory,
    env_db_clusters,
    env_db_instances,
    env_ec2_instances,
)

_SETTLING = "run sleep again once it settles"


def _ours(run: Pass, section: str, name: str, tags: dict[str, str]) -> bool:
    return tags.get(TAG_STOPPED) == "true" or name in run.previous[section] or name in run.data[section]


def _keep(run: Pass, section: str, name: str) -> None:
    if name not in run.data[section]:
        run.data[section].append(name)


# ---------------------------------------------------------------- RDS instances and Aurora clusters


@dataclass(frozen=True)
class _Rds:
    """What differs between stopping an RDS instance and an Aurora cluster: the names of the same calls."""

    section: str  # in the sleep record, and in messages
    noun: str  # what AWS starts again by itself after 7 days
    id_key: str
    arn_key: str
    status_key: str
    stop: str
    start: str
    stopped_waiter: str
    available_waiter: str
    listing: Callable[[Any, str], Iterable[dict[str, Any]]]

    def skip(self, item: dict[str, Any]) -> bool:
        if self.section == "rds":
            return bool(item.get("DBClusterIdentifier"))  # Aurora members: their cluster stops them
        return item.get("EngineMode") == "serverless"  # Aurora Serverless v1 pauses by itself, cannot stop


DB_INSTANCES = _Rds("rds", "database", "DBInstanceIdentifier", "DBInstanceArn", "DBInstanceStatus", "stop_db_instance",
                    "start_db_instance", "DBInstanceStopped", "DBInstanceAvailable", env_db_instances)
DB_CLUSTERS = _Rds("aurora", "cluster", "DBClusterIdentifier", "DBClusterArn", "Status", "stop_db_cluster",
                   "start_db_cluster", "DBClusterStopped", "DBClusterAvailable", env_db_clusters)


def _sleep_all(kind: _Rds, run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    rds = factory("rds", region)
    for item in list(kind.listing(rds, env)):
        if not kind.skip(item):
            run.guard(f"{kind.section} {item[kind.id_key]}", _sleep_one, kind, run, rds, item)


def _sleep_one(kind: _Rds, run: Pass, rds: Any, item: dict[str, Any]) -> None:
    name, status, tags = item[kind.id_key], item.get(kind.status_key), item["_tags"]
    ours = _ours(run, kind.section, name, tags)
    if status in ("stopped", "stopping"):
        if ours:
            _keep(run, kind.section, name)
        return
    if status != "available":
        run.errors.append(f"{kind.section} {name}: is '{status}', not available; {_SETTLING}")
        return
    _keep(run, kind.section, name)
    run.remember()
    if tags.get(TAG_STOPPED) != "true":
        rds.add_tags_to_resource(ResourceName=item[kind.arn_key], Tags=[{"Key": TAG_STOPPED, "Value": "true"}])
    getattr(rds, kind.stop)(**{kind.id_key: name})
    why = " (it had started again by itself while asleep)" if ours else ""
    run.actions.append(f"{kind.section} {name}: available -> stopped{why}")
    run.wait(tags, f"{kind.section} {name}", "stopped", "rds", kind.stopped_waiter, **{kind.id_key: name})


def _wake_all(kind: _Rds, run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    rds = factory("rds", region)
    seen = set()
    for item in list(kind.listing(rds, env)):
        name = item[kind.id_key]
        seen.add(name)
        if item["_tags"].get(TAG_STOPPED) == "true" or name in run.data[kind.section]:
            run.guard(f"{kind.section} {name}", _wake_one, kind, run, rds, item)
    run.data[kind.section] = [n for n in run.data[kind.section] if n in seen]


def _wake_one(kind: _Rds, run: Pass, rds: Any, item: dict[str, Any]) -> None:
    name, status, tags = item[kind.id_key], item.get(kind.status_key), item["_tags"]
    if status == "stopped":
        getattr(rds, kind.start)(**{kind.id_key: name})
        run.actions.append(f"{kind.section} {name}: stopped -> available")
    elif status not in ("available", "starting"):
        run.errors.append(f"{kind.section} {name}: is '{status}'; run wake again once it settles")
        return
    if status != "available":
        run.wait(tags, f"{kind.section} {name}", "available", "rds", kind.available_waiter, **{kind.id_key: name})
    if TAG_STOPPED in tags:
        rds.remove_tags_from_resource(ResourceName=item[kind.arn_key], TagKeys=[TAG_STOPPED])
    run.data[kind.section] = [n for n in run.data[kind.section] if n != name]
    run.remember()


def sleep_rds(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    _sleep_all(DB_INSTANCES, run, env, factory, region)


def wake_rds(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    _wake_all(DB_INSTANCES, run, env, factory, region)


def sleep_aurora(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    _sleep_all(DB_CLUSTERS, run, env, factory, region)


def wake_aurora(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    _wake_all(DB_CLUSTERS, run, env, factory, region)


# ---------------------------------------------------------------- EC2 instances


def sleep_ec2(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    ec2 = factory("ec2", region)
    for instance in list(env_ec2_instances(ec2, env)):
        run.guard(f"ec2 {instance['InstanceId']}", _sleep_instance, run, ec2, instance)


def _sleep_instance(run: Pass, ec2: Any, instance: dict[str, Any]) -> None:
    iid, state, tags = instance["InstanceId"], instance["State"]["Name"], instance["_tags"]
    if state in ("stopped", "stopping"):
        if _ours(run, "ec2", iid, tags):
            _keep(run, "ec2", iid)
        return
    _keep(run, "ec2", iid)
    run.remember()
    if tags.get(TAG_STOPPED) != "true":
        ec2.create_tags(Resources=[iid], Tags=[{"Key": TAG_STOPPED, "Value": "true"}])
    ec2.stop_instances(InstanceIds=[iid])
    run.actions.append(f"ec2 {iid}{name_of(instance)}: {state} -> stopped")
    run.wait(tags, f"ec2 {iid}", "stopped", "ec2", "InstanceStopped", InstanceIds=[iid])


def wake_ec2(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    ec2 = factory("ec2", region)
    seen = set()
    for instance in list(env_ec2_instances(ec2, env)):
        iid = instance["InstanceId"]
        seen.add(iid)
        if instance["_tags"].get(TAG_STOPPED) == "true" or iid in run.data["ec2"]:
            run.guard(f"ec2 {iid}", _wake_instance, run, ec2, instance)
    run.data["ec2"] = [n for n in run.data["ec2"] if n in seen]


def _wake_instance(run: Pass, ec2: Any, instance: dict[str, Any]) -> None:
    iid, state, tags = instance["InstanceId"], instance["State"]["Name"], instance["_tags"]
    if state == "stopping":
        run.errors.append(f"ec2 {iid}: is still stopping; run wake again in a minute")
        return
    if state == "stopped":
        ec2.start_instances(InstanceIds=[iid])
        run.actions.append(f"ec2 {iid}{name_of(instance)}: stopped -> running")
    if state != "running":
        run.wait(tags, f"ec2 {iid}", "running", "ec2", "InstanceRunning", InstanceIds=[iid])
    if TAG_STOPPED in tags:
        ec2.delete_tags(Resources=[iid], Tags=[{"Key": TAG_STOPPED}])
    run.data["ec2"] = [n for n in run.data["ec2"] if n != iid]
    run.remember()


def name_of(instance: dict[str, Any]) -> str:
    name = instance["_tags"].get("Name")
    return f" ({name})" if name else ""
