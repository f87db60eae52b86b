"""What sleep saves: the hourly price of what the built-ins stop, and the hours a schedule keeps it asleep.

Sleep is not $0 (the control plane, NAT gateways, load balancers, public IPv4 and storage keep billing), so
the useful numbers are "this much per hour awake, this much less asleep, this much saved a day". The
environment's total comes from verify; this module prices only the part sleep switches off: nodegroup and
autoscaling-group instances, RDS instance hours (storage still bills) and EC2 instance hours (volumes still
bill). A type without a known price is listed as unpriced, never counted as free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from envctl.config.model import ScheduleConfig
from envctl.schedule import cron as cronexpr
from envctl.sleep.targets import (
    TAG_ASG_SIZE,
    TAG_NODEGROUP_PREFIX,
    ClientFactory,
    Sizes,
    SleepSwitches,
    env_asgs,
    env_clusters,
    env_db_instances,
    env_ec2_instances,
    env_nodegroups,
)

# (kind, type, engine) -> USD per hour, or None when unknown. kind: "ec2" (an instance type) or "rds".
PriceOf = Callable[[str, str, str | None], "float | None"]


@dataclass(frozen=True)
class CostItem:
    what: str                  # "nodegroup test/workers", "rds orders-db", ...
    count: int                 # instances while awake
    type: str                  # instance type or DB class
    hourly_usd: float | None   # for all of them, awake; None when the price is unknown


@dataclass(frozen=True)
class SleepSavings:
    items: list[CostItem] = field(default_factory=list)
    asleep_hours_per_week: float | None = None   # from the schedule; None without one

    @property
    def hourly_usd(self) -> float:
        """What sleep saves per hour asleep (priced items only)."""
        return round(sum(i.hourly_usd for i in self.items if i.hourly_usd is not None), 4)

    @property
    def unpriced(self) -> list[CostItem]:
        return [i for i in self.items if i.hourly_usd is None]

    @property
    def daily_usd(self) -> float | None:
        """Saved per day on average under the schedule (None without a schedule that wakes it)."""
        if self.asleep_hours_per_week is None:
            return None
        return round(self.hourly_usd * self.asleep_hours_per_week / 7, 2)

    def to_json(self, awake_total_hourly: float | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "saved_hourly_usd": self.hourly_usd, "saved_daily_usd": self.daily_usd,
            "asleep_hours_per_week": self.asleep_hours_per_week,
            "unpriced": len(self.unpriced),
            "items": [{"what": i.what, "count": i.count, "type": i.type, "hourly_usd": i.hourly_usd}
                      for i in self.items]}
        if awake_total_hourly is not None:
            data["awake_hourly_usd"] = round(awake_total_hourly, 4)
            data["asleep_hourly_usd"] = round(max(awake_total_hourly - self.hourly_usd, 0.0), 4)
        return data


def default_price_of(region: str) -> PriceOf:
    """Prices from envctl's price table (``envctl.teardown.pricing``) for ``region``."""
    from envctl.teardown.pricing import load_prices

    table = load_prices().region_table(region) or {}

    def price_of(kind: str, type_: str, engine: str | None) -> float | None:
        if kind == "ec2":
            rate = (table.get("ec2") or {}).get(type_)
        else:
            rate = ((table.get("rds") or {}).get(_engine_key(engine or "")) or {}).get(type_)
        return float(rate) if rate is not None else None
    return price_of


def _engine_key(engine: str) -> str:
    return "postgres" if engine.startswith("postgres") else engine


def sleep_savings(env_name: str, *, region: str, config: SleepSwitches | None, client_factory: ClientFactory,
                  remembered: dict[str, Any] | None = None, schedule: ScheduleConfig | None = None,
                  price_of: PriceOf | None = None) -> SleepSavings:
    """What the sleep built-ins switch off, priced, awake sizes taken from ``remembered`` or the tags."""
    price = price_of or default_price_of(region)
    data = remembered or {}
    items: list[CostItem] = []
    if config is None or config.nodegroups:
        items += _nodegroups(env_name, client_factory("eks", region), data, price)
    if config is None or config.autoscaling:
        items += _asgs(env_name, client_factory, region, data, price)
    if config is None or config.rds:
        for db in env_db_instances(client_factory("rds", region), env_name):
            if db.get("DBClusterIdentifier"):
                continue
            cls = db["DBInstanceClass"]
            rate = price("rds", cls, db.get("Engine"))
            azs = 2 if db.get("MultiAZ") else 1
            items.append(CostItem(f"rds {db['DBInstanceIdentifier']}", 1, cls, None if rate is None else rate * azs))
    if config is None or config.ec2:
        for inst in env_ec2_instances(client_factory("ec2", region), env_name):
            itype = inst["InstanceType"]
            items.append(CostItem(f"ec2 {inst['InstanceId']}", 1, itype, price("ec2", itype, None)))
    return SleepSavings(items, asleep_hours_per_week(schedule) if schedule else None)


def _times(rate: float | None, count: int) -> float | None:
    return None if rate is None else rate * count


def _nodegroups(env: str, eks: Any, data: dict[str, Any], price: PriceOf) -> list[CostItem]:
    items = []
    for cluster, _arn, tags in env_clusters(eks, env):
        for name, sizes in env_nodegroups(eks, cluster, env):
            key = f"{cluster}/{name}"
            awake = (Sizes.from_dict((data.get("nodegroups") or {}).get(key))
                     or Sizes.parse(tags.get(TAG_NODEGROUP_PREFIX + name, "")) or sizes)
            group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
            types = group.get("instanceTypes") or []
            itype = types[0] if types else "unknown"
            rate = price("ec2", itype, None) if group.get("capacityType", "ON_DEMAND") == "ON_DEMAND" else None
            items.append(CostItem(f"nodegroup {key}", awake.desired, itype, _times(rate, awake.desired)))
    return items


def _asgs(env: str, factory: ClientFactory, region: str, data: dict[str, Any], price: PriceOf) -> list[CostItem]:
    autoscaling = factory("autoscaling", region)
    items = []
    for name, sizes, tags in env_asgs(autoscaling, env):
        awake = (Sizes.from_dict((data.get("autoscaling") or {}).get(name))
                 or Sizes.parse(tags.get(TAG_ASG_SIZE, "")) or sizes)
        itype = _asg_instance_type(autoscaling, factory("ec2", region), name)
        rate = price("ec2", itype, None) if itype else None
        items.append(CostItem(f"autoscaling group {name}", awake.desired, itype or "unknown",
                              _times(rate, awake.desired)))
    return items


def _asg_instance_type(autoscaling: Any, ec2: Any, name: str) -> str | None:
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0]
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


def asleep_hours_per_week(schedule: ScheduleConfig) -> float | None:
    """Hours per week the schedule keeps the environment asleep (sleep at its cron, until the next wake).

    Only minute, hour and day of the week are read (a typical week); None when there is no sleep or no wake.
    """
    if not schedule.sleep or not schedule.wake:
        return None
    week = 7 * 24 * 60

    def matcher(cron: str) -> Callable[[int], bool]:
        minute, hour, _dom, _month, dow = cronexpr.validate(cron)
        mins, hours, days = cronexpr.expand(minute, 0), cronexpr.expand(hour, 1), cronexpr.expand(dow, 4)
        return lambda t: (t % 60) in mins and (t // 60 % 24) in hours and (t // 1440) % 7 in days

    sleeps, wakes = matcher(schedule.sleep), matcher(schedule.wake)
    asleep, count = False, 0
    for t in range(2 * week):  # the first week settles the state at its start
        if sleeps(t % week):
            asleep = True
        elif wakes(t % week):
            asleep = False
        if t >= week and asleep:
            count += 1
    return round(count / 60, 2)
