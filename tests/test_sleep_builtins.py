"""The sleep/wake built-ins on the sandbox: sizes to zero and back exactly, from state or from tags alone.

Every environment here has a cluster with two nodegroups, an autoscaling group, an RDS instance, an EC2
instance, an ECS service of 3 tasks whose scaler keeps at least 2, and an Aurora cluster.
"""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from envctl.sleep.builtins import SleepOutcome, sleep_builtins, wake_builtins
from envctl.sleep.check import check_asleep

pytestmark = pytest.mark.sandbox

REGION = "us-east-1"


def factory(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


def _tags(env: str, **extra: str) -> dict[str, str]:
    return {"envctl:env": env, **extra}


def _tag_list(env: str, **extra: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in _tags(env, **extra).items()]


def build(env: str, *, suffix: str = "") -> None:
    """For ``env``: a cluster with two nodegroups, an autoscaling group, an RDS and an EC2 instance."""
    eks = factory("eks", REGION)
    ec2 = factory("ec2", REGION)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    role = "arn:aws:iam::123456789012:role/eks"
    cluster = f"{env}{suffix}"
    eks.create_cluster(name=cluster, roleArn=role, resourcesVpcConfig={"subnetIds": [subnet]},
                       tags=_tags(env, **{"envctl:component": "cluster"}))
    eks.create_nodegroup(clusterName=cluster, nodegroupName="workers", nodeRole=role, subnets=[subnet],
                         scalingConfig={"minSize": 1, "desiredSize": 2, "maxSize": 3},
                         instanceTypes=["t3.medium"], tags=_tags(env))
    eks.create_nodegroup(clusterName=cluster, nodegroupName="batch", nodeRole=role, subnets=[subnet],
                         scalingConfig={"minSize": 0, "desiredSize": 4, "maxSize": 10},
                         instanceTypes=["m5.large"], tags=_tags(env))
    template = ec2.create_launch_template(LaunchTemplateName=f"lt-{env}",
                                          LaunchTemplateData={"ImageId": "ami-12345678",
                                                              "InstanceType": "t3.small"})
    factory("autoscaling", REGION).create_auto_scaling_group(
        AutoScalingGroupName=f"asg-{env}", MinSize=1, MaxSize=5, DesiredCapacity=2,
        LaunchTemplate={"LaunchTemplateId": template["LaunchTemplate"]["LaunchTemplateId"]},
        AvailabilityZones=[f"{REGION}a"],
        Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": True} for k, v in _tags(env).items()])
    factory("rds", REGION).create_db_instance(
        DBInstanceIdentifier=f"orders-{env}", DBInstanceClass="db.t4g.micro", Engine="postgres",
        MasterUsername="admin", MasterUserPassword="not-a-secret-1", AllocatedStorage=20,
        Tags=_tag_list(env))
    ec2.run_instances(ImageId="ami-12345678", InstanceType="t3.micro", MinCount=1, MaxCount=1,
                      TagSpecifications=[{"ResourceType": "instance",
                                          "Tags": _tag_list(env, Name=f"bastion-{env}")}])
    ecs = factory("ecs", REGION)
    ecs.create_cluster(clusterName=f"apps-{env}")
    ecs.register_task_definition(family=f"worker-{env}", cpu="256", memory="512", networkMode="awsvpc",
                                 requiresCompatibilities=["FARGATE"],
                                 containerDefinitions=[{"name": "worker", "image": "example/worker:1.4.2"}])
    ecs.create_service(cluster=f"apps-{env}", serviceName="worker", taskDefinition=f"worker-{env}",
                       desiredCount=3, launchType="FARGATE",
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}},
                       tags=[{"key": k, "value": v} for k, v in _tags(env).items()])
    factory("application-autoscaling", REGION).register_scalable_target(
        ServiceNamespace="ecs", ResourceId=f"service/apps-{env}/worker", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2, MaxCapacity=6)
    rds = factory("rds", REGION)
    rds.create_db_cluster(DBClusterIdentifier=f"ledger-{env}", Engine="aurora-postgresql", EngineVersion="16.4",
                          MasterUsername="admin", MasterUserPassword="not-a-secret-1", Tags=_tag_list(env))
    rds.create_db_instance(DBInstanceIdentifier=f"ledger-{env}-1", DBClusterIdentifier=f"ledger-{env}",
                           Engine="aurora-postgresql", DBInstanceClass="db.t4g.medium", Tags=_tag_list(env))


def _sleep_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith("envctl:sleep")}


def snapshot(env: str) -> dict[str, Any]:
    """What a user would look at: sizes, states and sleep tags of the env's resources."""
    eks = factory("eks", REGION)
    result: dict[str, Any] = {}
    for cluster in eks.list_clusters()["clusters"]:
        tags = eks.describe_cluster(name=cluster)["cluster"]["tags"]
        if tags.get("envctl:env") != env:
            continue
        result[f"cluster {cluster} sleep tags"] = _sleep_tags(tags)
        for ng in eks.list_nodegroups(clusterName=cluster)["nodegroups"]:
            group = eks.describe_nodegroup(clusterName=cluster, nodegroupName=ng)["nodegroup"]
            cfg = group["scalingConfig"]
            result[f"nodegroup {cluster}/{ng}"] = (cfg["minSize"], cfg["desiredSize"], cfg["maxSize"])
            result[f"nodegroup {cluster}/{ng} sleep tags"] = _sleep_tags(group.get("tags") or {})
    for group in factory("autoscaling", REGION).describe_auto_scaling_groups()["AutoScalingGroups"]:
        tags = {t["Key"]: t["Value"] for t in group["Tags"]}
        if tags.get("envctl:env") == env:
            result[f"asg {group['AutoScalingGroupName']}"] = (
                group["MinSize"], group["DesiredCapacity"], group["MaxSize"],
                _sleep_tags(tags))
    for db in factory("rds", REGION).describe_db_instances()["DBInstances"]:
        tags = {t["Key"]: t["Value"] for t in db.get("TagList", [])}
        if tags.get("envctl:env") == env:
            result[f"rds {db['DBInstanceIdentifier']}"] = (
                db["DBInstanceStatus"], _sleep_tags(tags))
    result.update(_services_and_clusters(env))
    for res in factory("ec2", REGION).describe_instances()["Reservations"]:
        for inst in res["Instances"]:
            tags = {t["Key"]: t["Value"] for t in inst.get("Tags", [])}
            if tags.get("envctl:env") == env and "aws:autoscaling:groupName" not in tags:
                result[f"ec2 {tags.get('Name')}"] = (
                    inst["State"]["Name"], _sleep_tags(tags))
    return result


def _services_and_clusters(env: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    ecs, scaling = factory("ecs", REGION), factory("application-autoscaling", REGION)
    bounds = {t["ResourceId"]: (t["MinCapacity"], t["MaxCapacity"])
              for t in scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]}
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = ecs.list_services(cluster=cluster)["serviceArns"]
        for svc in ecs.describe_services(cluster=cluster, services=arns, include=["TAGS"])["services"] if arns else []:
            tags = {t["key"]: t["value"] for t in svc.get("tags") or []}
            if tags.get("envctl:env") == env:
                rid = f"service/{cluster.rsplit('/', 1)[-1]}/{svc['serviceName']}"
                result[f"ecs {svc['serviceName']}"] = (svc["desiredCount"], bounds.get(rid), _sleep_tags(tags))
    for cluster in factory("rds", REGION).describe_db_clusters()["DBClusters"]:
        tags = {t["Key"]: t["Value"] for t in cluster.get("TagList", [])}
        if tags.get("envctl:env") == env:
            result[f"aurora {cluster['DBClusterIdentifier']}"] = (cluster["Status"], _sleep_tags(tags))
    return result


@pytest.fixture(scope="module")
def sandbox(sandbox_endpoint: str) -> Iterator[str]:
    """One reset for the module: each test builds its own environment, and all share one bystander.

    Resetting moto per test costs seconds; distinct environment names keep the tests independent.
    """
    req = urllib.request.Request(sandbox_endpoint + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ENDPOINT_URL", sandbox_endpoint)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        build("other")
        yield sandbox_endpoint


@dataclass
class Estate:
    env: str
    awake: dict[str, Any]
    other: dict[str, Any]

    def sleep(self, remembered: dict[str, Any] | None = None, config: Any = None) -> SleepOutcome:
        return sleep_builtins(self.env, region=REGION, config=config, client_factory=factory,
                              remembered=remembered or {})

    def wake(self, remembered: dict[str, Any] | None = None, config: Any = None) -> SleepOutcome:
        return wake_builtins(self.env, region=REGION, config=config, client_factory=factory,
                             remembered=remembered or {})

    def check(self, remembered: dict[str, Any] | None = None) -> list[str]:
        return check_asleep(self.env, region=REGION, config=None, client_factory=factory,
                            remembered=remembered or {})

    def now(self) -> dict[str, Any]:
        return snapshot(self.env)


@pytest.fixture
def estate(sandbox: str, request: pytest.FixtureRequest) -> Estate:
    env = "t" + hashlib.sha1(request.node.name.encode()).hexdigest()[:8]
    build(env)
    awake = snapshot(env)
    assert awake[f"nodegroup {env}/workers"] == (1, 2, 3)
    assert awake[f"nodegroup {env}/batch"] == (0, 4, 10)
    assert awake[f"rds orders-{env}"][0] == "available"
    assert awake[f"ec2 bastion-{env}"][0] == "running"
    assert awake["ecs worker"] == (3, (2, 6), {})
    assert awake[f"aurora ledger-{env}"] == ("available", {})
    return Estate(env, awake, snapshot("other"))


def test_sleep_puts_everything_to_zero_or_stopped_and_leaves_other_envs_alone(estate: Estate) -> None:
    env = estate.env
    outcome = estate.sleep()
    assert outcome.errors == []
    asleep = estate.now()
    assert asleep[f"nodegroup {env}/workers"] == (0, 0, 3)
    assert asleep[f"nodegroup {env}/batch"] == (0, 0, 10)
    # the sizes go on each nodegroup itself, none on the cluster (50 tags at most there)
    assert asleep[f"cluster {env} sleep tags"] == {}
    assert asleep[f"nodegroup {env}/workers sleep tags"] == {"envctl:sleep:size": "min=1 desired=2 max=3"}
    assert asleep[f"nodegroup {env}/batch sleep tags"] == {"envctl:sleep:size": "min=0 desired=4 max=10"}
    assert asleep[f"asg asg-{env}"] == (0, 0, 5, {"envctl:sleep:size": "min=1 desired=2 max=5"})
    assert asleep[f"rds orders-{env}"] == ("stopped", {"envctl:sleep:stopped": "true"})
    assert asleep[f"ec2 bastion-{env}"] == ("stopped", {"envctl:sleep:stopped": "true"})
    # the service's tasks to 0, and its scaler's bounds to 0 first, so it does not start them again
    assert asleep["ecs worker"] == (0, (0, 0), {"envctl:sleep:size": "desired=3 min=2 max=6"})
    assert asleep[f"aurora ledger-{env}"] == ("stopped", {"envctl:sleep:stopped": "true"})
    assert outcome.remembered["ecs"] == {f"apps-{env}/worker": {"desired": 3, "min": 2, "max": 6}}
    assert outcome.remembered["aurora"] == [f"ledger-{env}"]
    assert outcome.remembered["nodegroups"] == {f"{env}/workers": {"min": 1, "desired": 2, "max": 3},
                                                f"{env}/batch": {"min": 0, "desired": 4, "max": 10}}
    assert outcome.remembered["autoscaling"] == {f"asg-{env}": {"min": 1, "desired": 2, "max": 5}}
    assert outcome.remembered["rds"] == [f"orders-{env}"]
    assert len(outcome.remembered["ec2"]) == 1
    assert f"nodegroup {env}/workers: 1/2/3 -> 0/0/3" in outcome.actions
    assert f"aurora ledger-{env}: available -> stopped" in outcome.actions
    assert len(outcome.actions) == 7
    assert snapshot("other") == estate.other


def test_sleep_twice_changes_nothing_and_keeps_the_sizes(estate: Estate) -> None:
    first = estate.sleep()
    asleep = estate.now()
    second = estate.sleep(first.remembered)
    assert second.actions == []
    assert second.errors == []
    assert second.remembered == first.remembered
    assert estate.now() == asleep
    # a second machine with no state sleeps too: nothing changes, and it learns the sizes from the tags
    third = estate.sleep({})
    assert third.actions == []
    assert third.remembered["nodegroups"] == first.remembered["nodegroups"]
    assert third.remembered["autoscaling"] == first.remembered["autoscaling"]
    assert estate.now() == asleep


def test_wake_restores_exactly(estate: Estate) -> None:
    woken = estate.wake(estate.sleep().remembered)
    assert woken.errors == []
    assert woken.remembered == {}
    assert estate.now() == estate.awake
    assert f"nodegroup {estate.env}/workers: 0/0/3 -> 1/2/3" in woken.actions
    # waking an awake environment changes nothing
    again = estate.wake({})
    assert again.actions == []
    assert estate.now() == estate.awake
    assert snapshot("other") == estate.other


def test_wake_without_local_state_restores_from_the_tags(estate: Estate) -> None:
    estate.sleep()
    woken = estate.wake({})
    assert woken.errors == []
    assert estate.now() == estate.awake


def test_wake_leaves_an_instance_envctl_did_not_stop(estate: Estate) -> None:
    ec2 = factory("ec2", REGION)
    iid = ec2.run_instances(ImageId="ami-12345678", InstanceType="t3.micro", MinCount=1, MaxCount=1,
                            TagSpecifications=[{"ResourceType": "instance",
                                                "Tags": _tag_list(estate.env, Name="manual")}])
    ec2.stop_instances(InstanceIds=[iid["Instances"][0]["InstanceId"]])
    estate.wake(estate.sleep().remembered)
    assert estate.now()["ec2 manual"] == ("stopped", {})


def test_rds_started_behind_envctls_back_is_named_and_stopped_again(estate: Estate) -> None:
    db = f"orders-{estate.env}"
    asleep = estate.sleep()
    assert estate.check(asleep.remembered) == []
    factory("rds", REGION).start_db_instance(DBInstanceIdentifier=db)
    warnings = estate.check({})
    assert len(warnings) == 1
    assert warnings[0].startswith(f"rds {db} is available although the environment is asleep")
    again = estate.sleep(asleep.remembered)
    assert again.actions == [f"rds {db}: available -> stopped (it had started again by itself while asleep)"]
    assert estate.now()[f"rds {db}"] == ("stopped", {"envctl:sleep:stopped": "true"})
    assert estate.check(again.remembered) == []


@dataclass(frozen=True)
class Switches:
    nodegroups: bool = True
    autoscaling: bool = True
    rds: bool = True
    ec2: bool = True


def test_switched_off_targets_are_left_alone(estate: Estate) -> None:
    env = estate.env
    outcome = estate.sleep(config=Switches(rds=False, ec2=False))
    asleep = estate.now()
    assert asleep[f"nodegroup {env}/workers"] == (0, 0, 3)
    assert asleep[f"rds orders-{env}"] == estate.awake[f"rds orders-{env}"]
    assert asleep[f"ec2 bastion-{env}"] == estate.awake[f"ec2 bastion-{env}"]
    estate.wake(outcome.remembered, config=Switches(rds=False, ec2=False))
    assert estate.now() == estate.awake


def test_state_is_handed_over_before_each_change(estate: Estate) -> None:
    env = estate.env
    eks = factory("eks", REGION)
    seen: list[tuple[dict[str, Any], dict[str, int]]] = []

    def persist(data: dict[str, Any]) -> None:
        live = eks.describe_nodegroup(clusterName=env, nodegroupName="workers")["nodegroup"]["scalingConfig"]
        seen.append((data, live))

    sleep_builtins(env, region=REGION, config=None, client_factory=factory, remembered={},
                   on_remember=persist)
    record, live = next((d, lv) for d, lv in seen if f"{env}/workers" in d.get("nodegroups", {}))
    assert record["nodegroups"][f"{env}/workers"] == {"min": 1, "desired": 2, "max": 3}
    assert live["desiredSize"] == 2  # recorded while the nodegroup was still awake
    assert estate.now()[f"nodegroup {env}/workers"] == (0, 0, 3)


PRICES = {("ec2", "t3.medium"): 0.0416, ("ec2", "m5.large"): 0.096, ("ec2", "t3.small"): 0.0208,
          ("ec2", "t3.micro"): 0.0104, ("rds", "db.t4g.micro"): 0.016, ("rds", "db.t4g.medium"): 0.073,
          ("fargate", "vcpu_hour"): 0.04, ("fargate", "gb_hour"): 0.004}


def test_sleepables_price_what_sleep_switches_off_awake_or_asleep(estate: Estate) -> None:
    from envctl.sleep.savings import sleepables

    env = estate.env

    def found(remembered: dict[str, Any], prices: dict[Any, float] = PRICES) -> dict[str, Any]:
        items = sleepables(env, region=REGION, config=None, client_factory=factory, remembered=remembered,
                           price_of=lambda kind, type_, engine: prices.get((kind, type_)))
        return {s.what: (s.awake_count, s.now_count, s.unit, s.unit_hourly) for s in items}

    awake = found({})
    assert awake[f"nodegroup {env}/workers"] == (2, 2, "t3.medium", 0.0416)
    assert awake[f"nodegroup {env}/batch"] == (4, 4, "m5.large", 0.096)
    assert awake[f"autoscaling group asg-{env}"] == (2, 2, "t3.small", 0.0208)
    assert awake[f"rds orders-{env}"] == (1, 1, "db.t4g.micro", 0.016)
    assert awake[f"aurora ledger-{env}"] == (1, 1, "db.t4g.medium", 0.073)
    assert awake[f"ecs service apps-{env}/worker"] == (3, 3, "Fargate 0.25 vCPU 0.5 GB", 0.25 * 0.04 + 0.5 * 0.004)
    outcome = estate.sleep()
    for remembered in (outcome.remembered, {}):  # asleep: the awake sizes from the state, or from the tags
        asleep = found(remembered)
        assert {what: (a, u, p) for what, (a, _n, u, p) in asleep.items()} == \
            {what: (a, u, p) for what, (a, _n, u, p) in awake.items()}
        assert {n for (_a, n, _u, _p) in asleep.values()} == {0}
    assert {p for (*_rest, p) in found({}, {}).values()} == {None}  # unknown prices stay unknown, never $0


def test_each_sleep_records_what_it_finds_not_what_an_earlier_one_did(estate: Estate) -> None:
    """An old record (of a nodegroup torn down and made again bigger) never overrides the size a sleep finds."""
    env = estate.env
    first = estate.sleep()
    estate.wake(first.remembered)
    eks = factory("eks", REGION)
    eks.update_nodegroup_config(clusterName=env, nodegroupName="workers",
                                scalingConfig={"minSize": 1, "desiredSize": 3, "maxSize": 3})
    ecs = factory("ecs", REGION)
    ecs.update_service(cluster=f"apps-{env}", service="worker", desiredCount=5)
    second = estate.sleep(first.remembered)  # handed the stale record, as a state that survived would be
    assert second.remembered["nodegroups"][f"{env}/workers"] == {"min": 1, "desired": 3, "max": 3}
    assert second.remembered["ecs"][f"apps-{env}/worker"] == {"desired": 5, "min": 2, "max": 6}
    estate.wake(first.remembered)  # even a stale record loses to the tags of the last sleep
    now = estate.now()
    assert now[f"nodegroup {env}/workers"] == (1, 3, 3)
    assert now["ecs worker"] == (5, (2, 6), {})


def test_wake_forgets_what_was_deleted_while_asleep(estate: Estate) -> None:
    env = estate.env
    asleep = estate.sleep()
    eks = factory("eks", REGION)
    for ng in ("workers", "batch"):
        eks.delete_nodegroup(clusterName=env, nodegroupName=ng)
    eks.delete_cluster(name=env)
    factory("autoscaling", REGION).delete_auto_scaling_group(AutoScalingGroupName=f"asg-{env}", ForceDelete=True)
    woken = estate.wake(asleep.remembered)
    assert woken.errors == []
    assert woken.remembered == {}
    assert f"nodegroup {env}/workers: no longer exists; forgot its sizes" in woken.actions
    assert f"autoscaling group asg-{env}: no longer exists; forgot its sizes" in woken.actions
    assert estate.now()[f"rds orders-{env}"] == ("available", {})


def test_a_wait_ends_by_its_component_timeout_and_says_so(estate: Estate) -> None:
    from envctl.sleep.waits import Wait, Waits

    group = f"asg-{estate.env}"
    done = Wait(f"rds orders-{estate.env}", "available", "rds", "DBInstanceAvailable",
                {"DBInstanceIdentifier": f"orders-{estate.env}"}, timeout_s=60)
    never = Wait(f"autoscaling group {group}", "5 in service", "autoscaling", "GroupInService",
                 {"AutoScalingGroupNames": [group]}, timeout_s=1.0, count=5)  # it has 2 and wants 2
    assert Waits([done]).run(factory, REGION) == []  # already there: one look, no delay
    errors = Waits([never]).run(factory, REGION, delay_s=0.25)
    assert len(errors) == 1
    assert errors[0].startswith(f"autoscaling group {group}: not 5 in service after ")
    assert "(its component's timeout is 1 s); run the command again once it settles" in errors[0]
