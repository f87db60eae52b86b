"""The sleep/wake built-ins: EKS managed nodegroups and autoscaling groups to zero, RDS instances, Aurora
clusters and EC2 instances stopped, ECS services to zero tasks; and back.

Everything here is a function over a client factory ``(service, region) -> boto3 client``; nothing creates a
session of its own. The rules, each learnt from someone else's incident:

- The sizes before sleep are recorded *before* anything changes, in the returned record (kept in the state)
  and as a tag on the resource itself, so ``wake`` restores them exactly from a machine with no local state.
  kube-downscaler lost original replica counts when its own pod restarted (hjacobs/kube-downscaler#56); a tag
  on the resource survives any laptop, and dies with the resource, so a successor never inherits it.
- Each sleep records what it finds (:mod:`envctl.sleep.records`); the tag on the resource wins over the state
  at wake, since another machine may have slept it since.
- EKS rejects a nodegroup ``maxSize`` below 1 (the nightly scale-to-zero of LikeLionTeam4/slash-infra#61
  failed on exactly that), so sleep sets min 0, desired 0 and keeps max.
- Sleeping an asleep environment changes nothing, and never records the zeros as the sizes to restore.
- Then both wait (:mod:`envctl.sleep.waits`): wake until what it started is available, so the ``wake-*``
  scripts meet a running database; sleep until what it stopped is stopped.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

from envctl.sleep import ecs, instances
from envctl.sleep.records import Pass, Remember, SleepOutcome, TimeoutOf, WakeOutcome
from envctl.sleep.targets import (
    TAG_NODEGROUP_PREFIX,
    TAG_SIZE,
    ClientFactory,
    Nodegroup,
    Sizes,
    SleepSwitches,
    env_asgs,
    env_clusters,
    env_nodegroups,
    switched_on,
)

__all__ = ["SleepOutcome", "WakeOutcome", "sleep_builtins", "wake_builtins"]

Step = Callable[[Pass, str, ClientFactory, str], None]


def _steps(kind: str) -> list[tuple[str, str, Step]]:
    """(switch, label, step) in order: wake brings capacity back before what runs on it; sleep the reverse."""
    wake: list[tuple[str, str, Step]] = [
        ("nodegroups", "eks", _wake_nodegroups), ("autoscaling", "autoscaling", _wake_asgs),
        ("rds", "rds", instances.wake_rds), ("aurora", "aurora", instances.wake_aurora),
        ("ec2", "ec2", instances.wake_ec2), ("ecs", "ecs", ecs.wake_services)]
    sleep: list[tuple[str, str, Step]] = [
        ("ecs", "ecs", ecs.sleep_services), ("nodegroups", "eks", _sleep_nodegroups),
        ("autoscaling", "autoscaling", _sleep_asgs), ("rds", "rds", instances.sleep_rds),
        ("aurora", "aurora", instances.sleep_aurora), ("ec2", "ec2", instances.sleep_ec2)]
    return sleep if kind == "sleep" else wake


def _run(kind: str, env_name: str, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
         run: Pass, wait: bool) -> None:
    for switch, label, step in _steps(kind):
        if switched_on(config, switch):
            run.guard(label, step, run, env_name, client_factory, region)
    if wait:
        run.errors.extend(run.waits.run(client_factory, region))


def sleep_builtins(env_name: str, *, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
                   remembered: dict[str, Any] | None, on_remember: Remember | None = None,
                   now: Callable[[], str] | None = None, timeout_of: TimeoutOf | None = None,
                   wait: bool = True) -> SleepOutcome:
    """Put the environment's resources to sleep and wait until they are (each within its component's timeout).

    ``remembered`` is the last sleep's record (``EnvState.sleep``). ``on_remember`` is called with the new
    record *before* each change, so a caller can persist it first.
    """
    run = Pass(remembered, on_remember, fresh=True, timeout_of=timeout_of)
    _run("sleep", env_name, region, config, client_factory, run, wait)
    if run.actions and not run.data.get("asleep_since"):
        run.data["asleep_since"] = (now or _now)()
    return run.outcome()


def wake_builtins(env_name: str, *, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
                  remembered: dict[str, Any] | None, on_remember: Remember | None = None,
                  timeout_of: TimeoutOf | None = None, wait: bool = True) -> WakeOutcome:
    """Restore what :func:`sleep_builtins` changed (sizes from the resource's tag, else the record), start
    what envctl stopped, remove the sleep tags, and wait until it all runs."""
    run = Pass(remembered, on_remember, fresh=False, timeout_of=timeout_of)
    _run("wake", env_name, region, config, client_factory, run, wait)
    if not any(run.data.get(k) for k in ("nodegroups", "autoscaling", "rds", "ec2", "ecs", "aurora")):
        run.data.pop("asleep_since", None)
    return run.outcome()


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- EKS managed nodegroups


def _sleep_nodegroups(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    eks = factory("eks", region)
    for cluster, arn, tags in list(env_clusters(eks, env)):
        for group in list(env_nodegroups(eks, cluster, env)):
            run.guard(f"nodegroup {group.key}", _sleep_nodegroup, run, eks, group, arn, tags)


def _recorded(run: Pass, section: str, key: str, *texts: str) -> Sizes | None:
    for text in texts:
        if Sizes.parse(text):
            return Sizes.parse(text)
    return Sizes.from_dict(run.previous[section].get(key))


def _sleep_nodegroup(run: Pass, eks: Any, group: Nodegroup, cluster_arn: str, cluster_tags: dict[str, str]) -> None:
    legacy = TAG_NODEGROUP_PREFIX + group.name
    sizes = group.sizes
    before = (_recorded(run, "nodegroups", group.key, group.tags.get(TAG_SIZE, ""), cluster_tags.get(legacy, ""))
              if sizes.asleep else sizes)
    if before is None:
        return  # at zero, and not by envctl: nothing to restore later, nothing to do
    run.data["nodegroups"][group.key] = before.to_dict()
    if group.tags.get(TAG_SIZE) != before.tag_value():
        run.remember()
        eks.tag_resource(resourceArn=group.arn, tags={TAG_SIZE: before.tag_value()})
    if legacy in cluster_tags:  # an older release kept it on the cluster (50 tags at most there)
        eks.untag_resource(resourceArn=cluster_arn, tagKeys=[legacy])
    if sizes.asleep:
        return
    run.remember()
    target = Sizes(0, 0, max(sizes.max, 1))
    eks.update_nodegroup_config(clusterName=group.cluster, nodegroupName=group.name,
                                scalingConfig={"minSize": 0, "desiredSize": 0, "maxSize": target.max})
    run.actions.append(f"nodegroup {group.key}: {sizes} -> {target}")
    run.wait(group.tags, f"nodegroup {group.key}", "active", "eks", "NodegroupActive",
             clusterName=group.cluster, nodegroupName=group.name)


def _wake_nodegroups(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    eks = factory("eks", region)
    groups = [(group, arn, tags) for cluster, arn, tags in list(env_clusters(eks, env))
              for group in list(env_nodegroups(eks, cluster, env))]
    for group, arn, tags in groups:
        run.guard(f"nodegroup {group.key}", _wake_nodegroup, run, eks, group, arn, tags)
    seen = {group.key for group, _arn, _tags in groups}
    for key in [k for k in run.data["nodegroups"] if k not in seen]:
        run.actions.append(f"nodegroup {key}: no longer exists; forgot its sizes")
        run.data["nodegroups"].pop(key)


def _wake_nodegroup(run: Pass, eks: Any, group: Nodegroup, cluster_arn: str, cluster_tags: dict[str, str]) -> None:
    legacy = TAG_NODEGROUP_PREFIX + group.name
    before = (Sizes.parse(group.tags.get(TAG_SIZE, "")) or Sizes.parse(cluster_tags.get(legacy, ""))
              or Sizes.from_dict(run.data["nodegroups"].get(group.key)))
    if before is not None and group.sizes != before:
        eks.update_nodegroup_config(clusterName=group.cluster, nodegroupName=group.name, scalingConfig={
            "minSize": before.min, "desiredSize": before.desired, "maxSize": before.max})
        run.actions.append(f"nodegroup {group.key}: {group.sizes} -> {before}")
        run.wait(group.tags, f"nodegroup {group.key}", "active", "eks", "NodegroupActive",
                 clusterName=group.cluster, nodegroupName=group.name)
    if TAG_SIZE in group.tags:
        eks.untag_resource(resourceArn=group.arn, tagKeys=[TAG_SIZE])
    if legacy in cluster_tags:
        eks.untag_resource(resourceArn=cluster_arn, tagKeys=[legacy])
    run.data["nodegroups"].pop(group.key, None)
    run.remember()


# ---------------------------------------------------------------- autoscaling groups


def _sleep_asgs(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    autoscaling = factory("autoscaling", region)
    for name, sizes, tags in list(env_asgs(autoscaling, env)):
        run.guard(f"autoscaling group {name}", _sleep_asg, run, autoscaling, name, sizes, tags)


def _sleep_asg(run: Pass, autoscaling: Any, name: str, sizes: Sizes, tags: dict[str, str]) -> None:
    before = _recorded(run, "autoscaling", name, tags.get(TAG_SIZE, "")) if sizes.asleep else sizes
    if before is None:
        return
    run.data["autoscaling"][name] = before.to_dict()
    if tags.get(TAG_SIZE) != before.tag_value():
        run.remember()
        autoscaling.create_or_update_tags(Tags=[{
            "ResourceId": name, "ResourceType": "auto-scaling-group", "Key": TAG_SIZE,
            "Value": before.tag_value(), "PropagateAtLaunch": False}])
    if sizes.asleep:
        return
    run.remember()
    autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=0, DesiredCapacity=0)
    run.actions.append(f"autoscaling group {name}: {sizes} -> 0/0/{sizes.max}")
    run.wait(tags, f"autoscaling group {name}", "empty", "autoscaling", "GroupInService", count=0,
             AutoScalingGroupNames=[name])


def _wake_asgs(run: Pass, env: str, factory: ClientFactory, region: str) -> None:
    autoscaling = factory("autoscaling", region)
    seen = set()
    for name, sizes, tags in list(env_asgs(autoscaling, env)):
        seen.add(name)
        run.guard(f"autoscaling group {name}", _wake_asg, run, autoscaling, name, sizes, tags)
    for name in [n for n in run.data["autoscaling"] if n not in seen]:
        run.actions.append(f"autoscaling group {name}: no longer exists; forgot its sizes")
        run.data["autoscaling"].pop(name, None)


def _wake_asg(run: Pass, autoscaling: Any, name: str, sizes: Sizes, tags: dict[str, str]) -> None:
    before = Sizes.parse(tags.get(TAG_SIZE, "")) or Sizes.from_dict(run.data["autoscaling"].get(name))
    if before is None:
        return
    if sizes != before:
        autoscaling.update_auto_scaling_group(AutoScalingGroupName=name, MinSize=before.min,
                                              MaxSize=before.max, DesiredCapacity=before.desired)
        run.actions.append(f"autoscaling group {name}: {sizes} -> {before}")
        run.wait(tags, f"autoscaling group {name}", f"{before.desired} in service", "autoscaling",
                 "GroupInService", count=before.desired, AutoScalingGroupNames=[name])
    if TAG_SIZE in tags:
        autoscaling.delete_tags(Tags=[{"ResourceId": name, "ResourceType": "auto-scaling-group",
                                       "Key": TAG_SIZE}])
    run.data["autoscaling"].pop(name, None)
    run.remember()
