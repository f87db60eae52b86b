"""The built-ins that stop and start: RDS DB instances, Aurora DB clusters and EC2 instances.

Each gets an ``envctl:sleep:stopped`` tag before it is stopped: wake starts only what envctl stopped, never
something someone stopped on purpose. AWS starts a stopped RDS instance or Aurora cluster again by itself
after 7 days; the next ``sleep`` stops it again, and ``status`` names it meanwhile (:mod:`envctl.sleep.check`).
Aurora stops and starts a cluster, not its instances (cloud-custodian#8391), so the members are left to it.
"""

from __future__ import annotations

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


# ---------------------------------------------------------------- RDS instances


def sleep_rds(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    rds = factory("rds", region)
    for db in list(env_db_instances(rds, env)):
        if not db.get("DBClusterIdentifier"):  # Aurora members: their cluster stops them
            run.guard(f"rds {db['DBInstanceIdentifier']}", _sleep_db, run, rds, db)


def _sleep_db(run: Pass, rds: Any, db: dict[str, Any]) -> None:
    name, status, tags = db["DBInstanceIdentifier"], db.get("DBInstanceStatus"), db["_tags"]
    ours = _ours(run, "rds", name, tags)
    if status in ("stopped", "stopping"):
        if ours:
            _keep(run, "rds", name)
        return
    if status != "available":
        run.errors.append(f"rds {name}: is '{status}', not available; {_SETTLING}")
        return
    _keep(run, "rds", name)
    run.remember()
    if tags.get(TAG_STOPPED) != "true":
        rds.add_tags_to_resource(ResourceName=db["DBInstanceArn"], Tags=[{"Key": TAG_STOPPED, "Value": "true"}])
    rds.stop_db_instance(DBInstanceIdentifier=name)
    why = " (it had started again by itself while asleep)" if ours else ""
    run.actions.append(f"rds {name}: available -> stopped{why}")
    run.wait(tags, f"rds {name}", "stopped", "rds", "DBInstanceStopped", DBInstanceIdentifier=name)


def wake_rds(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    rds = factory("rds", region)
    seen = set()
    for db in list(env_db_instances(rds, env)):
        name = db["DBInstanceIdentifier"]
        seen.add(name)
        if db["_tags"].get(TAG_STOPPED) == "true" or name in run.data["rds"]:
            run.guard(f"rds {name}", _wake_db, run, rds, db)
    run.data["rds"] = [n for n in run.data["rds"] if n in seen]


def _wake_db(run: Pass, rds: Any, db: dict[str, Any]) -> None:
    name, status, tags = db["DBInstanceIdentifier"], db.get("DBInstanceStatus"), db["_tags"]
    if status == "stopped":
        rds.start_db_instance(DBInstanceIdentifier=name)
        run.actions.append(f"rds {name}: stopped -> available")
    elif status not in ("available", "starting"):
        run.errors.append(f"rds {name}: is '{status}'; run wake again once it settles")
        return
    if status != "available":
        run.wait(tags, f"rds {name}", "available", "rds", "DBInstanceAvailable", DBInstanceIdentifier=name)
    if TAG_STOPPED in tags:
        rds.remove_tags_from_resource(ResourceName=db["DBInstanceArn"], TagKeys=[TAG_STOPPED])
    run.data["rds"] = [n for n in run.data["rds"] if n != name]
    run.remember()


# ---------------------------------------------------------------- Aurora clusters


def sleep_aurora(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    rds = factory("rds", region)
    for cluster in list(env_db_clusters(rds, env)):
        run.guard(f"aurora {cluster['DBClusterIdentifier']}", _sleep_cluster, run, rds, cluster)


def _sleep_cluster(run: Pass, rds: Any, cluster: dict[str, Any]) -> None:
    name, status, tags = cluster["DBClusterIdentifier"], cluster.get("Status"), cluster["_tags"]
    ours = _ours(run, "aurora", name, tags)
    if cluster.get("EngineMode") == "serverless":
        return  # Aurora Serverless v1 pauses by itself and cannot be stopped
    if status in ("stopped", "stopping"):
        if ours:
            _keep(run, "aurora", name)
        return
    if status != "available":
        run.errors.append(f"aurora {name}: is '{status}', not available; {_SETTLING}")
        return
    _keep(run, "aurora", name)
    run.remember()
    if tags.get(TAG_STOPPED) != "true":
        rds.add_tags_to_resource(ResourceName=cluster["DBClusterArn"], Tags=[{"Key": TAG_STOPPED, "Value": "true"}])
    rds.stop_db_cluster(DBClusterIdentifier=name)
    why = " (it had started again by itself while asleep)" if ours else ""
    run.actions.append(f"aurora {name}: available -> stopped{why}")
    run.wait(tags, f"aurora {name}", "stopped", "rds", "DBClusterStopped", DBClusterIdentifier=name)


def wake_aurora(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    rds = factory("rds", region)
    seen = set()
    for cluster in list(env_db_clusters(rds, env)):
        name = cluster["DBClusterIdentifier"]
        seen.add(name)
        if cluster["_tags"].get(TAG_STOPPED) == "true" or name in run.data["aurora"]:
            run.guard(f"aurora {name}", _wake_cluster, run, rds, cluster)
    run.data["aurora"] = [n for n in run.data["aurora"] if n in seen]


def _wake_cluster(run: Pass, rds: Any, cluster: dict[str, Any]) -> None:
    name, status, tags = cluster["DBClusterIdentifier"], cluster.get("Status"), cluster["_tags"]
    if status == "stopped":
        rds.start_db_cluster(DBClusterIdentifier=name)
        run.actions.append(f"aurora {name}: stopped -> available")
    elif status not in ("available", "starting"):
        run.errors.append(f"aurora {name}: is '{status}'; run wake again once it settles")
        return
    if status != "available":
        run.wait(tags, f"aurora {name}", "available", "rds", "DBClusterAvailable", DBClusterIdentifier=name)
    if TAG_STOPPED in tags:
        rds.remove_tags_from_resource(ResourceName=cluster["DBClusterArn"], TagKeys=[TAG_STOPPED])
    run.data["aurora"] = [n for n in run.data["aurora"] if n != name]
    run.remember()


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
