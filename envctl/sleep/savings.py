"""What sleep switches off, priced: one :class:`Sleepable` per resource a built-in puts to sleep.

Each knows its awake size (the size now, or the one a sleep recorded), its size now, its unit price (an
instance type, a DB class, a Fargate task's vCPU and memory) and which inventory resources it stands for (a
nodegroup's instances, where they are visible), so :mod:`envctl.sleep.costmodel` counts nothing twice. A
unit without a known price is ``None``, never free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from envctl.sleep.targets import (
    EC2_ASG_TAG,
    TAG_COMPONENT,
    TAG_NODEGROUP_PREFIX,
    TAG_SIZE,
    TAG_STOPPED,
    ClientFactory,
    Service,
    ServiceSizes,
    Sizes,
    SleepSwitches,
    env_asgs,
    env_clusters,
    env_db_clusters,
    env_db_instances,
    env_ec2_instances,
    env_nodegroups,
    env_services,
    switched_on,
)

# (kind, type, engine) -> USD per hour, or None when unknown. kind: "ec2", "rds" or "fargate" (type "vcpu"/"gb").
PriceOf = Callable[[str, str, str | None], "float | None"]


@dataclass(frozen=True)
class Sleepable:
    kind: str                   # nodegroups | autoscaling | rds | aurora | ec2 | ecs: its sleep: switch
    what: str                   # "nodegroup test/test-general"
    arn: str
    type: str                   # "eks:nodegroup", "rds:cluster", ...
    component: str | None
    unit: str                   # "m6i.large", "db.t4g.micro", "Fargate 0.25 vCPU 0.5 GB"
    unit_hourly: float | None
    awake_count: int
    now_count: int
    switched_on: bool
    covers_ids: frozenset[str] = frozenset()                    # inventory ids it stands for (rds, ec2)
    covers_tags: Mapping[str, str] = field(default_factory=dict)  # ... or tags its instances carry

    def covers(self, rtype: str, rid: str, tags: Mapping[str, str]) -> bool:
        if rid in self.covers_ids:
            return rtype == ("ec2:instance" if self.kind == "ec2" else "rds:db")
        return rtype == "ec2:instance" and bool(self.covers_tags) and \
            all(tags.get(k) == v for k, v in self.covers_tags.items())

    @property
    def awake_now(self) -> bool:
        return self.now_count >= self.awake_count

    def hourly(self, count: int) -> float | None:
        return None if self.unit_hourly is None else round(self.unit_hourly * count, 6)


def default_price_of(region: str) -> PriceOf:
    """Prices from envctl's price table (``envctl/data/prices.json``) for ``region``."""
    from envctl.teardown.pricing import load_prices

    table = load_prices().region_table(region) or {}

    def price_of(kind: str, type_: str, engine: str | None) -> float | None:
        if kind == "rds":
            key = "postgres" if (engine or "").startswith("postgres") else (engine or "")
            rate = ((table.get("rds") or {}).get(key) or {}).get(type_)
        else:
            rate = (table.get(kind) or {}).get(type_)
        return float(rate) if rate is not None else None
    return price_of


def sleepables(env_name: str, *, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
               remembered: dict[str, Any] | None = None, price_of: PriceOf | None = None) -> list[Sleepable]:
    """Everything of the environment a built-in can put to sleep (also where its switch is off: that keeps
    billing while asleep), with its awake size from the resource's sleep tag or ``remembered``."""
    price = price_of or default_price_of(region)
    data = remembered or {}
    found = _nodegroups(env_name, client_factory("eks", region), data, price, config)
    found += _asgs(env_name, client_factory, region, data, price, config)
    found += _databases(env_name, client_factory("rds", region), data, price, config)
    found += _instances(env_name, client_factory("ec2", region), data, price, config)
    found += _services(env_name, client_factory, region, data, price, config)
    return found


def _nodegroups(env: str, eks: Any, data: dict[str, Any], price: PriceOf,
                config: SleepSwitches | None) -> list[Sleepable]:
    items = []
    for cluster, _arn, tags in env_clusters(eks, env):
        for group in env_nodegroups(eks, cluster, env):
            sizes = group.sizes
            awake = sizes if not sizes.asleep else (
                Sizes.parse(group.tags.get(TAG_SIZE, ""))
                or Sizes.parse(tags.get(TAG_NODEGROUP_PREFIX + group.name, ""))
                or Sizes.from_dict((data.get("nodegroups") or {}).get(group.key)) or sizes)
            rate = price("ec2", group.instance_type, None) if group.on_demand else None
            items.append(Sleepable("nodegroups", f"nodegroup {group.key}", group.arn, "eks:nodegroup",
                                   group.tags.get(TAG_COMPONENT), group.instance_type, rate, awake.desired,
                                   sizes.desired, switched_on(config, "nodegroups"),
                                   covers_tags={"eks:nodegroup-name": group.name, "eks:cluster-name": cluster}))
    return items


def _asgs(env: str, factory: ClientFactory, region: str, data: dict[str, Any], price: PriceOf,
          config: SleepSwitches | None) -> list[Sleepable]:
    autoscaling = factory("autoscaling", region)
    items = []
    for name, sizes, tags in env_asgs(autoscaling, env):
        awake = sizes if not sizes.asleep else (
            Sizes.parse(tags.get(TAG_SIZE, "")) or Sizes.from_dict((data.get("autoscaling") or {}).get(name)) or sizes)
        itype, arn = _asg_instance_type(autoscaling, factory("ec2", region), name)
        items.append(Sleepable("autoscaling", f"autoscaling group {name}", arn, "autoscaling:autoScalingGroup",
                               tags.get(TAG_COMPONENT), itype or "unknown",
                               price("ec2", itype, None) if itype else None, awake.desired, sizes.desired,
                               switched_on(config, "autoscaling"), covers_tags={EC2_ASG_TAG: name}))
    return items


def _databases(env: str, rds: Any, data: dict[str, Any], price: PriceOf,
               config: SleepSwitches | None) -> list[Sleepable]:
    items: list[Sleepable] = []
    members: dict[str, list[dict[str, Any]]] = {}
    for db in env_db_instances(rds, env):
        if db.get("DBClusterIdentifier"):
            members.setdefault(db["DBClusterIdentifier"], []).append(db)
            continue
        name, status = db["DBInstanceIdentifier"], db.get("DBInstanceStatus")
        stopped = status in ("stopped", "stopping")
        ours = db["_tags"].get(TAG_STOPPED) == "true" or name in (data.get("rds") or [])
        rate = price("rds", db["DBInstanceClass"], db.get("Engine"))
        rate = None if rate is None else rate * (2 if db.get("MultiAZ") else 1)
        items.append(Sleepable("rds", f"rds {name}", db["DBInstanceArn"], "rds:db", db["_tags"].get(TAG_COMPONENT),
                               db["DBInstanceClass"], rate, 0 if stopped and not ours else 1, 0 if stopped else 1,
                               switched_on(config, "rds"), covers_ids=frozenset({name})))
    for cluster in env_db_clusters(rds, env):
        name, status = cluster["DBClusterIdentifier"], cluster.get("Status")
        stopped = status in ("stopped", "stopping")
        ours = cluster["_tags"].get(TAG_STOPPED) == "true" or name in (data.get("aurora") or [])
        dbs = _members(rds, cluster, members.get(name, []))
        rates = [price("rds", db["DBInstanceClass"], db.get("Engine")) for db in dbs]
        rate = None if not dbs or None in rates else sum(r for r in rates if r is not None)
        unit = " + ".join(db["DBInstanceClass"] for db in dbs) or "no instances"
        items.append(Sleepable("aurora", f"aurora {name}", cluster["DBClusterArn"], "rds:cluster",
                               cluster["_tags"].get(TAG_COMPONENT), unit, rate, 0 if stopped and not ours else 1,
                               0 if stopped else 1, switched_on(config, "aurora"),
                               covers_ids=frozenset(db["DBInstanceIdentifier"] for db in dbs)))
    return items


def _members(rds: Any, cluster: dict[str, Any], tagged: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An Aurora cluster's instances: they need not carry the cluster's tags (AWS does not copy them)."""
    found = {db["DBInstanceIdentifier"]: db for db in tagged}
    for member in cluster.get("DBClusterMembers") or []:
        name = member.get("DBInstanceIdentifier")
        if name and name not in found:
            found[name] = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    return list(found.values())


def _instances(env: str, ec2: Any, data: dict[str, Any], price: PriceOf,
               config: SleepSwitches | None) -> list[Sleepable]:
    items = []
    for inst in env_ec2_instances(ec2, env):
        iid, state = inst["InstanceId"], inst["State"]["Name"]
        stopped = state in ("stopped", "stopping")
        ours = inst["_tags"].get(TAG_STOPPED) == "true" or iid in (data.get("ec2") or [])
        arn = f"arn:aws:ec2:{ec2.meta.region_name}:{inst.get('OwnerId', '')}:instance/{iid}"
        items.append(Sleepable("ec2", f"ec2 {iid}", arn, "ec2:instance", inst["_tags"].get(TAG_COMPONENT),
                               inst["InstanceType"], price("ec2", inst["InstanceType"], None),
                               0 if stopped and not ours else 1, 0 if stopped else 1, switched_on(config, "ec2"),
                               covers_ids=frozenset({iid})))
    return items


def _services(env: str, factory: ClientFactory, region: str, data: dict[str, Any], price: PriceOf,
              config: SleepSwitches | None) -> list[Sleepable]:
    services = list(env_services(factory, region, env))
    if not services:
        return []
    ecs = factory("ecs", region)
    sizes_of: dict[str, tuple[float, float] | None] = {}
    items = []
    for svc in services:
        awake = svc.sizes if not svc.sizes.touched else (
            ServiceSizes.parse(svc.tags.get(TAG_SIZE, "")) or
            ServiceSizes.from_dict((data.get("ecs") or {}).get(svc.key)) or svc.sizes)
        unit, rate = _task_price(ecs, svc, sizes_of, price)
        items.append(Sleepable("ecs", f"ecs service {svc.key}", svc.arn, "ecs:service", svc.tags.get(TAG_COMPONENT),
                               unit, rate, awake.desired, svc.sizes.desired, switched_on(config, "ecs"),
                               covers_tags={"aws:ecs:serviceName": svc.name, "aws:ecs:clusterName": svc.cluster}))
    return items


def _task_price(ecs: Any, svc: Service, cache: dict[str, tuple[float, float] | None],
                price: PriceOf) -> tuple[str, float | None]:
    """A Fargate task is priced by its vCPU and memory; on EC2 its instances are priced on their own."""
    if svc.launch_type != "FARGATE":
        return "tasks on container instances (priced as instances)", 0.0
    if svc.task_definition not in cache:
        task = ecs.describe_task_definition(taskDefinition=svc.task_definition)["taskDefinition"]
        try:
            cache[svc.task_definition] = (int(task["cpu"]) / 1024, int(task["memory"]) / 1024)
        except (KeyError, TypeError, ValueError):
            cache[svc.task_definition] = None
    size = cache[svc.task_definition]
    if size is None:
        return "Fargate task of unknown size", None
    vcpu_rate, gb_rate = price("fargate", "vcpu_hour", None), price("fargate", "gb_hour", None)
    rate = None if vcpu_rate is None or gb_rate is None else size[0] * vcpu_rate + size[1] * gb_rate
    return f"Fargate {size[0]:g} vCPU {size[1]:g} GB", rate


def _asg_instance_type(autoscaling: Any, ec2: Any, name: str) -> tuple[str | None, str]:
    """The group's instance type (from its launch template or configuration, else a running instance) and ARN."""
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
    return _instance_type(autoscaling, ec2, group), str(group.get("AutoScalingGroupARN") or name)


def _instance_type(autoscaling: Any, ec2: Any, group: dict[str, Any]) -> str | None:
    spec = group.get("LaunchTemplate") or \
        ((group.get("MixedInstancesPolicy") or {}).get("LaunchTemplate") or {}).get("LaunchTemplateSpecification")
    if spec:
        ref = {"LaunchTemplateId": spec["LaunchTemplateId"]} if spec.get("LaunchTemplateId") else \
            {"LaunchTemplateName": spec["LaunchTemplateName"]}
        versions = ec2.describe_launch_template_versions(**ref, Versions=[spec.get("Version") or "$Default"])
        for version in versions.get("LaunchTemplateVersions", []):
            itype = version.get("LaunchTemplateData", {}).get("InstanceType")
            if itype:
                return str(itype)
    if group.get("LaunchConfigurationName"):
        configs = autoscaling.describe_launch_configurations(
            LaunchConfigurationNames=[group["LaunchConfigurationName"]])["LaunchConfigurations"]
        if configs:
            return str(configs[0]["InstanceType"])
    running = [i.get("InstanceType") for i in group.get("Instances", []) if i.get("InstanceType")]
    return str(running[0]) if running else None
