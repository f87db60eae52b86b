"""The sleep/wake built-ins: EKS managed nodegroups and autoscaling groups to zero, RDS and EC2 stopped.

Everything here is a function over a client factory ``(service, region) -> boto3 client``; nothing creates a
session of its own. The rules, each learnt from someone else's incident:

- The sizes before sleep are recorded *before* anything changes, in the returned ``remembered`` dict (kept in
  the state) and as a tag on AWS, so ``wake`` restores them exactly from a machine with no local state.
  kube-downscaler lost original replica counts when its own pod restarted (hjacobs/kube-downscaler#56); a tag
  on the resource survives any laptop.
- EKS rejects a nodegroup ``maxSize`` below 1 (the nightly scale-to-zero of LikeLionTeam4/slash-infra#61
  failed on exactly that), so sleep sets min 0, desired 0 and keeps max. Nodegroups cannot be tagged by ARN
  on every endpoint, so their sizes go on the parent cluster.
- Sleeping an asleep environment changes nothing, and never records the zeros as the sizes to restore.
- EC2 and RDS instances get an ``envctl:sleep:stopped`` marker: wake starts only what envctl stopped, never an
  instance someone stopped on purpose.
- AWS starts a stopped RDS instance again by itself after 7 days; a second ``sleep`` stops it again, and
  :func:`check_asleep` names it for ``status``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from envctl.sleep.targets import (
    TAG_ASG_SIZE,
    TAG_NODEGROUP_PREFIX,
    TAG_STOPPED,
    ClientFactory,
    Sizes,
    SleepSwitches,
    check_asleep,
    env_asgs,
    env_clusters,
    env_db_instances,
    env_ec2_instances,
    env_nodegroups,
)

__all__ = ["SleepOutcome", "WakeOutcome", "check_asleep", "sleep_builtins", "wake_builtins"]

Remember = Callable[[dict[str, Any]], None]

@dataclass(frozen=True)
class SleepOutcome:
    """What a sleep did. ``remembered`` is what the state keeps (``EnvState.sleep``) for wake."""

    remembered: dict[str, Any]
    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


WakeOutcome = SleepOutcome


# ---------------------------------------------------------------- remembered: the state's shape


def _empty() -> dict[str, Any]:
    return {"nodegroups": {}, "autoscaling": {}, "rds": [], "ec2": []}


def _copy(remembered: dict[str, Any] | None) -> dict[str, Any]:
    data = _empty()
    for key in ("nodegroups", "autoscaling"):
        data[key] = {k: dict(v) for k, v in ((remembered or {}).get(key) or {}).items()}
    for key in ("rds", "ec2"):
        data[key] = list((remembered or {}).get(key) or [])
    if remembered and remembered.get("asleep_since"):
        data["asleep_since"] = remembered["asleep_since"]
    return data


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    """Nothing remembered is ``{}``: an awake environment carries no sleep record."""
    if not any(data.get(key) for key in ("nodegroups", "autoscaling", "rds", "ec2")):
        return {}
    return data


class _Run:
    """One sleep or wake pass: the remembered dict, the log of actions and per-item errors."""

    def __init__(self, remembered: dict[str, Any] | None, on_remember: Remember | None) -> None:
        self.data = _copy(remembered)
        self.actions: list[str] = []
        self.errors: list[str] = []
        self._on_remember = on_remember

    def remember(self) -> None:
        if self._on_remember is not None:
            self._on_remember(_compact(_copy(self.data)))

    def guard(self, what: str, func: Callable[..., None], *args: Any) -> None:
        try:
            func(*args)
        except (ClientError, BotoCoreError) as err:  # one resource failing must not stop the others
            self.errors.append(f"{what}: {_aws_message(err)}")

    def outcome(self) -> SleepOutcome:
        return SleepOutcome(_compact(self.data), self.actions, self.errors)


def _aws_message(err: Exception) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{type(err).__name__}: {err}"


# ---------------------------------------------------------------- sleep


def sleep_builtins(env_name: str, *, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
                   remembered: dict[str, Any] | None, on_remember: Remember | None = None,
                   now: Callable[[], str] | None = None) -> SleepOutcome:
    """Scale the environment's nodegroups and autoscaling groups to zero, stop its RDS and EC2 instances.

    ``remembered`` is what the state holds from an earlier sleep (``EnvState.sleep``). ``on_remember`` is
    called with the updated record *before* each change, so a caller can persist it first.
    """
    run = _Run(remembered, on_remember)
    if config is None or config.nodegroups:
        run.guard("eks", _sleep_nodegroups, run, env_name, client_factory("eks", region))
    if config is None or config.autoscaling:
        run.guard("autoscaling", _sleep_asgs, run, env_name, client_factory("autoscaling", region))
    if config is None or config.rds:
        run.guard("rds", _sleep_rds, run, env_name, client_factory("rds", region))
    if config is None or config.ec2:
        run.guard("ec2", _sleep_ec2, run, env_name, client_factory("ec2", region))
    if run.actions and not run.data.get("asleep_since"):
        run.data["asleep_since"] = (now or _now)()
    return run.outcome()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _sleep_nodegroups(run: _Run, env: str, eks: Any) -> None:
    for cluster, arn, tags in list(env_clusters(eks, env)):
        for name, sizes in list(env_nodegroups(eks, cluster, env)):
            key = f"{cluster}/{name}"
            run.guard(f"nodegroup {key}", _sleep_nodegroup, run, eks, cluster, arn, tags, name, sizes, key)


def _sleep_nodegroup(run: _Run, eks: Any, cluster: str, arn: str, tags: dict[str, str], name: str,
                     sizes: Sizes, key: str) -> None:
    tag_key = TAG_NODEGROUP_PREFIX + name
    before = Sizes.from_dict(run.data["nodegroups"].get(key)) or Sizes.parse(tags.get(tag_key, ""))
    if before is None:
        if sizes.asleep:
            return  # already at zero and not by envctl: nothing to restore later, nothing to do
        before = sizes
    run.data["nodegroups"][key] = before.to_dict()
    if tags.get(tag_key) != before.tag_value():
        run.remember()
        eks.tag_resource(resourceArn=arn, tags={tag_key: before.tag_value()})
    if sizes.asleep:
        return
    run.remember()
    target = Sizes(0, 0, max(sizes.max, 1))
    eks.update_nodegroup_config(clusterName=cluster, nodegroupName=name,
                                scalingConfig={"minSize": 0, "desiredSize": 0, "maxSize": target.max})
    run.actions.append(f"nodegroup {key}: {sizes} -> {target}")


def _sleep_asgs(run: _Run, env: str, autoscaling: Any) -> None:
    for name, sizes, tags in list(env_asgs(autoscaling, env)):
        run.guard(f"autoscaling group {name}", _sleep_asg, run, autoscaling, name, sizes, tags)


def _sleep_asg(run: _Run, autoscaling: Any, name: str, sizes: Sizes, tags: dict[str, str]) -> None:
    before = Sizes.from_dict(run.data["autoscaling"].get(name)) or Sizes.parse(tags.get(TAG_ASG_SIZE, ""))
    if before is None:
        if sizes.asleep:
            return
        before = sizes
    run.data["autoscaling"][name] = before.to_dict()
    if tags.get(TAG_ASG_SIZE) != before.tag_value():
        run.remember()
        autoscaling.create_or_update_tags(Tags=[{
            "ResourceId": name, "ResourceType": "auto-scaling-group", "Key": TAG_ASG_SIZE,
            "Value": before.tag_value(), "PropagateAtLaunch": False}])
    if sizes.asleep:
        return
    run.remember()
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, DesiredCapacity=0)
    run.actions.append(f"autoscaling group {name}: {sizes} -> 0/0/{sizes.max}")


def _sleep_rds(run: _Run, env: str, rds: Any) -> None:
    for db in list(env_db_instances(rds, env)):
        name = db["DBInstanceIdentifier"]
        run.guard(f"rds {name}", _sleep_db, run, rds, db, name)


def _sleep_db(run: _Run, rds: Any, db: dict[str, Any], name: str) -> None:
    status = db.get("DBInstanceStatus")
    ours = db["_tags"].get(TAG_STOPPED) == "true" or name in run.data["rds"]
    if db.get("DBClusterIdentifier"):
        # Aurora members cannot be stopped one by one (cloud-custodian#8391); a sleep script stops the cluster
        return
    if status in ("stopped", "stopping"):
        if ours and name not in run.data["rds"]:
            run.data["rds"].append(name)
        return
    if status != "available":
        run.errors.append(f"rds {name}: is '{status}', not available; run sleep again once it settles")
        return
    if name not in run.data["rds"]:
        run.data["rds"].append(name)
    run.remember()
    if db["_tags"].get(TAG_STOPPED) != "true":
        rds.add_tags_to_resource(ResourceName=db["DBInstanceArn"],
                                 Tags=[{"Key": TAG_STOPPED, "Value": "true"}])
    rds.stop_db_instance(DBInstanceIdentifier=name)
    why = " (it had started again by itself while asleep)" if ours else ""
    run.actions.append(f"rds {name}: available -> stopped{why}")


def _sleep_ec2(run: _Run, env: str, ec2: Any) -> None:
    for instance in list(env_ec2_instances(ec2, env)):
        iid = instance["InstanceId"]
        run.guard(f"ec2 {iid}", _sleep_instance, run, ec2, instance, iid)


def _sleep_instance(run: _Run, ec2: Any, instance: dict[str, Any], iid: str) -> None:
    state = instance["State"]["Name"]
    ours = instance["_tags"].get(TAG_STOPPED) == "true" or iid in run.data["ec2"]
    if state in ("stopped", "stopping"):
        if ours and iid not in run.data["ec2"]:
            run.data["ec2"].append(iid)
        return
    if iid not in run.data["ec2"]:
        run.data["ec2"].append(iid)
    run.remember()
    if instance["_tags"].get(TAG_STOPPED) != "true":
        ec2.create_tags(Resources=[iid], Tags=[{"Key": TAG_STOPPED, "Value": "true"}])
    ec2.stop_instances(InstanceIds=[iid])
    label = _name_of(instance)
    run.actions.append(f"ec2 {iid}{label}: {state} -> stopped")


def _name_of(instance: dict[str, Any]) -> str:
    name = instance["_tags"].get("Name")
    return f" ({name})" if name else ""


# ---------------------------------------------------------------- wake


def wake_builtins(env_name: str, *, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
                  remembered: dict[str, Any] | None, on_remember: Remember | None = None) -> WakeOutcome:
    """Restore what :func:`sleep_builtins` changed: the remembered sizes (from ``remembered`` or, with no
    local state, from the tags), and start the instances envctl stopped. Then remove the sleep tags."""
    run = _Run(remembered, on_remember)
    if config is None or config.nodegroups:
        run.guard("eks", _wake_nodegroups, run, env_name, client_factory("eks", region))
    if config is None or config.autoscaling:
        run.guard("autoscaling", _wake_asgs, run, env_name, client_factory("autoscaling", region))
    if config is None or config.rds:
        run.guard("rds", _wake_rds, run, env_name, client_factory("rds", region))
    if config is None or config.ec2:
        run.guard("ec2", _wake_ec2, run, env_name, client_factory("ec2", region))
    if not any(run.data.get(k) for k in ("nodegroups", "autoscaling", "rds", "ec2")):
        run.data.pop("asleep_since", None)
    return run.outcome()


def _wake_nodegroups(run: _Run, env: str, eks: Any) -> None:
    clusters = list(env_clusters(eks, env))
    seen = {cluster for cluster, _arn, _tags in clusters}
    for key in [k for k in run.data["nodegroups"] if k.split("/", 1)[0] not in seen]:
        run.actions.append(f"nodegroup {key}: its cluster no longer exists; forgot its sizes")
        run.data["nodegroups"].pop(key)
    for cluster, arn, tags in clusters:
        current = dict(env_nodegroups(eks, cluster, env))
        names = {k[len(TAG_NODEGROUP_PREFIX):] for k in tags if k.startswith(TAG_NODEGROUP_PREFIX)}
        names |= {k.split("/", 1)[1] for k in run.data["nodegroups"] if k.startswith(cluster + "/")}
        for name in sorted(names):
            key = f"{cluster}/{name}"
            run.guard(f"nodegroup {key}", _wake_nodegroup, run, eks, cluster, arn, tags, name, key,
                      current.get(name))


def _wake_nodegroup(run: _Run, eks: Any, cluster: str, arn: str, tags: dict[str, str], name: str, key: str,
                    sizes: Sizes | None) -> None:
    tag_key = TAG_NODEGROUP_PREFIX + name
    before = Sizes.from_dict(run.data["nodegroups"].get(key)) or Sizes.parse(tags.get(tag_key, ""))
    if sizes is None:
        run.actions.append(f"nodegroup {key}: no longer exists; forgot its sizes")
    elif before is not None and sizes != before:
        eks.update_nodegroup_config(clusterName=cluster, nodegroupName=name, scalingConfig={
            "minSize": before.min, "desiredSize": before.desired, "maxSize": before.max})
        run.actions.append(f"nodegroup {key}: {sizes} -> {before}")
    if tag_key in tags:
        eks.untag_resource(resourceArn=arn, tagKeys=[tag_key])
    run.data["nodegroups"].pop(key, None)
    run.remember()


def _wake_asgs(run: _Run, env: str, autoscaling: Any) -> None:
    seen = set()
    for name, sizes, tags in list(env_asgs(autoscaling, env)):
        seen.add(name)
        run.guard(f"autoscaling group {name}", _wake_asg, run, autoscaling, name, sizes, tags)
    for name in [n for n in run.data["autoscaling"] if n not in seen]:
        run.actions.append(f"autoscaling group {name}: no longer exists; forgot its sizes")
        run.data["autoscaling"].pop(name, None)


def _wake_asg(run: _Run, autoscaling: Any, name: str, sizes: Sizes, tags: dict[str, str]) -> None:
    before = Sizes.from_dict(run.data["autoscaling"].get(name)) or Sizes.parse(tags.get(TAG_ASG_SIZE, ""))
    if before is None:
        return
    if sizes != before:
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=before.min,
                                              MaxSize=before.max, DesiredCapacity=before.desired)
        run.actions.append(f"autoscaling group {name}: {sizes} -> {before}")
    if TAG_ASG_SIZE in tags:
        autoscaling.delete_tags(Tags=[{"ResourceId": name, "ResourceType": "auto-scaling-group",
                                       "Key": TAG_ASG_SIZE}])
    run.data["autoscaling"].pop(name, None)
    run.remember()


def _wake_rds(run: _Run, env: str, rds: Any) -> None:
    seen = set()
    for db in list(env_db_instances(rds, env)):
        name = db["DBInstanceIdentifier"]
        seen.add(name)
        if db["_tags"].get(TAG_STOPPED) == "true" or name in run.data["rds"]:
            run.guard(f"rds {name}", _wake_db, run, rds, db, name)
    run.data["rds"] = [n for n in run.data["rds"] if n in seen]


def _wake_db(run: _Run, rds: Any, db: dict[str, Any], name: str) -> None:
    status = db.get("DBInstanceStatus")
    if status == "stopped":
        rds.start_db_instance(DBInstanceIdentifier=name)
        run.actions.append(f"rds {name}: stopped -> starting")
    elif status not in ("available", "starting"):
        run.errors.append(f"rds {name}: is '{status}'; run wake again once it settles")
        return
    if TAG_STOPPED in db["_tags"]:
        rds.remove_tags_from_resource(ResourceName=db["DBInstanceArn"], TagKeys=[TAG_STOPPED])
    run.data["rds"] = [n for n in run.data["rds"] if n != name]
    run.remember()


def _wake_ec2(run: _Run, env: str, ec2: Any) -> None:
    seen = set()
    for instance in list(env_ec2_instances(ec2, env)):
        iid = instance["InstanceId"]
        seen.add(iid)
        if instance["_tags"].get(TAG_STOPPED) == "true" or iid in run.data["ec2"]:
            run.guard(f"ec2 {iid}", _wake_instance, run, ec2, instance, iid)
    run.data["ec2"] = [n for n in run.data["ec2"] if n in seen]


def _wake_instance(run: _Run, ec2: Any, instance: dict[str, Any], iid: str) -> None:
    state = instance["State"]["Name"]
    if state == "stopping":
        run.errors.append(f"ec2 {iid}: is still stopping; run wake again in a minute")
        return
    if state == "stopped":
        ec2.start_instances(InstanceIds=[iid])
        run.actions.append(f"ec2 {iid}{_name_of(instance)}: stopped -> running")
    if TAG_STOPPED in instance["_tags"]:
        ec2.delete_tags(Resources=[iid], Tags=[{"Key": TAG_STOPPED}])
    run.data["ec2"] = [n for n in run.data["ec2"] if n != iid]
    run.remember()


