"""envctl cost: the month ahead from the schedule, on the sandbox, checked against the calendar."""

from __future__ import annotations

import datetime as _dt
import json
import urllib.request
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from envctl.state.local import LocalBackend
from tests.conftest import REPO, make_env, run_cli

pytestmark = pytest.mark.sandbox

UTC = _dt.timezone.utc
ZONE = "Europe/Amsterdam"
SCHEDULE = f'schedule: {{timezone: {ZONE}, sleep: "0 19 * * 1-5", wake: "0 8 * * 1-5"}}\n'
PRICES = json.loads((REPO / "envctl" / "data" / "prices.json").read_text())["regions"]["us-east-1"]
SCRIPTS = {"install-x.sh": "true\n", "delete-x.sh": "true\n"}


def project(root: Path, schedule: str = SCHEDULE) -> Path:
    make_env(root, "demo", """
        name: demo
        region: us-east-1
        components:
          network: {}
          app: {depends_on: [network]}
        """ + schedule, {"network": SCRIPTS, "app": SCRIPTS})
    return root


def tags(component: str, **extra: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in {"envctl:env": "demo", "envctl:component": component, **extra}.items()]


def build() -> dict[str, str]:
    """A NAT gateway (and its address), an EKS cluster with 2 nodes, a Fargate service of 2 tasks, a cache
    cluster, a running instance, and an instance someone stopped on purpose."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="demo", Description="demo", VpcId=vpc)["GroupId"]
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip",
                                                                 "Tags": tags("network")}])["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip, TagSpecifications=[
        {"ResourceType": "natgateway", "Tags": tags("network")}])["NatGateway"]["NatGatewayId"]
    run = ec2.run_instances(ImageId="ami-12345678", InstanceType="t3.micro", MinCount=2, MaxCount=2,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": tags("app")}])["Instances"]
    ec2.create_tags(Resources=[run[1]["InstanceId"]], Tags=[{"Key": "Name", "Value": "parked"}])
    ec2.stop_instances(InstanceIds=[run[1]["InstanceId"]])
    eks = boto3.client("eks", region_name="us-east-1")
    kv = {"envctl:env": "demo", "envctl:component": "app"}
    eks.create_cluster(name="demo", roleArn="arn:aws:iam::123456789012:role/r",
                       resourcesVpcConfig={"subnetIds": [subnet]}, tags=kv)
    eks.create_nodegroup(clusterName="demo", nodegroupName="workers", nodeRole="arn:aws:iam::123456789012:role/n",
                         subnets=[subnet], instanceTypes=["t3.medium"], tags=kv,
                         scalingConfig={"minSize": 1, "desiredSize": 2, "maxSize": 3})
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.create_cluster(clusterName="demo", tags=[{"key": k, "value": v} for k, v in kv.items()])
    ecs.register_task_definition(family="worker", cpu="256", memory="512", networkMode="awsvpc",
                                 requiresCompatibilities=["FARGATE"],
                                 containerDefinitions=[{"name": "worker", "image": "example/worker:1.4.2"}])
    ecs.create_service(cluster="demo", serviceName="worker", taskDefinition="worker", desiredCount=2,
                       launchType="FARGATE", tags=[{"key": k, "value": v} for k, v in kv.items()],
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}})
    boto3.client("elasticache", region_name="us-east-1").create_cache_cluster(
        CacheClusterId="demo-sessions", Engine="redis", CacheNodeType="cache.t4g.micro", NumCacheNodes=1,
        Tags=tags("app"))
    return {"nat": nat, "running": run[0]["InstanceId"], "parked": run[1]["InstanceId"]}


def cost(root: Path, *args: str) -> dict[str, Any]:
    res = run_cli("cost", "demo", "--json", *args, root=root)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def calendar_awake_hours() -> float:
    """Weekdays 08:00-19:00 in Amsterdam, hour by real hour over 52 weeks, scaled to a 730-hour month."""
    zone = ZoneInfo(ZONE)
    t = _dt.datetime(2025, 1, 6, tzinfo=zone).astimezone(UTC)  # a Monday
    end = _dt.datetime(2026, 1, 5, tzinfo=zone).astimezone(UTC)
    awake = total = 0
    while t < end:
        local = t.astimezone(zone)
        awake += local.weekday() < 5 and 8 <= local.hour < 19
        total += 1
        t += _dt.timedelta(hours=1)
    return awake / total * 730


def test_the_month_on_schedule_against_the_calendar(tmp_path: Path, aws: str) -> None:
    root = project(tmp_path)
    assert run_cli("up", "demo", root=root).exit_code == 0
    ids = build()
    data = cost(root)
    hours, rates, month = data["hours_per_month"], data["hourly_usd"], data["monthly_usd"]
    assert hours["awake"] == pytest.approx(calendar_awake_hours(), abs=0.01)
    assert hours["awake"] + hours["asleep"] == pytest.approx(730, abs=0.01)
    fargate = 0.25 * PRICES["fargate"]["vcpu_hour"] + 0.5 * PRICES["fargate"]["gb_hour"]
    cache = PRICES["elasticache"]["cache.t4g.micro"]
    floor = (PRICES["hourly"]["ec2:natgateway"] + PRICES["hourly"]["public-ipv4"] + PRICES["hourly"]["eks:cluster"]
             + cache)
    awake = floor + PRICES["ec2"]["t3.micro"] + 2 * PRICES["ec2"]["t3.medium"] + 2 * fargate
    assert rates["awake"] == pytest.approx(awake, abs=1e-4)
    assert rates["asleep"] == pytest.approx(floor, abs=1e-4)
    assert month["always_on"] == pytest.approx(rates["awake"] * 730, abs=0.01)
    assert month["on_schedule"] == pytest.approx(
        rates["awake"] * hours["awake"] + rates["asleep"] * hours["asleep"], abs=0.02)
    assert month["saving"] == pytest.approx(month["always_on"] - month["on_schedule"], abs=0.01)
    billing = {item["id"]: item for item in data["bills_while_asleep"]}
    assert billing[ids["nat"]]["type"] == "ec2:natgateway"
    assert billing[ids["nat"]]["hourly_usd"] == pytest.approx(PRICES["hourly"]["ec2:natgateway"])
    assert billing[ids["nat"]]["component"] == "network"
    assert billing["demo-sessions"]["type"] == "elasticache:cluster"
    assert billing["demo-sessions"]["hourly_usd"] == pytest.approx(cache)
    assert ids["parked"] not in billing and ids["running"] not in billing  # stopped, or stopped by sleep
    assert data["unpriced"] == 0
    text = run_cli("cost", "demo", root=root).stdout
    assert "What keeps billing while asleep" in text and ids["nat"] in text

    # status: "now" and "awake" agree for the awake environment (the nodes and tasks priced in both)
    status = json.loads(run_cli("status", "demo", "--json", root=root).stdout)["cost"]
    assert status["hourly_usd"] == pytest.approx(rates["awake"], abs=1e-4)
    assert status["awake_hourly_usd"] == pytest.approx(rates["awake"], abs=1e-4)
    assert status["forecast"]["on_schedule"] == pytest.approx(month["on_schedule"], abs=0.01)
    assert "on its schedule" in run_cli("status", "demo", root=root).stdout

    # asleep: now is the asleep rate, and the forecast is the same month
    assert run_cli("sleep", "demo", root=root).exit_code == 0
    asleep = cost(root)
    assert asleep["hourly_usd"]["now"] == pytest.approx(rates["asleep"], abs=1e-4)
    assert asleep["hourly_usd"]["awake"] == pytest.approx(rates["awake"], abs=1e-4)
    assert asleep["monthly_usd"] == month


def _record(command: str, result: str, at: _dt.datetime) -> dict[str, Any]:
    stamp = at.isoformat()
    return {"run_id": f"{at:%Y%m%dT%H%M%SZ}-{command}", "command": command, "env": "demo", "user": "u",
            "host": "h", "started": stamp, "ended": (at + _dt.timedelta(minutes=1)).isoformat(), "result": result,
            "steps": []}


def _weekday_times(hour: int, before: _dt.datetime, count: int) -> list[_dt.datetime]:
    """The last ``count`` weekday ``hour``:00 Amsterdam moments before ``before``, newest first (UTC)."""
    zone, found = ZoneInfo(ZONE), []
    day = before.astimezone(zone).date()
    while len(found) < count:
        moment = _dt.datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)
        if day.weekday() < 5 and moment < before:
            found.append(moment)
        day -= _dt.timedelta(days=1)
    return found


def test_missed_sleeps_come_from_the_history_with_their_cost(tmp_path: Path, aws: str) -> None:
    root = project(tmp_path)
    assert run_cli("up", "demo", root=root).exit_code == 0
    build()
    now = _dt.datetime.now(UTC)
    missed_at, slept_at = _weekday_times(19, now - _dt.timedelta(hours=2), 2)
    history = LocalBackend(root)
    for record in (_record("up", "ok", slept_at - _dt.timedelta(hours=3)),
                   _record("sleep", "ok", slept_at + _dt.timedelta(minutes=2)),
                   _record("wake", "ok", missed_at - _dt.timedelta(hours=4))):
        history.append_run(record)
    data = cost(root)
    assert [m["scheduled"] for m in data["missed_sleeps"]] == [missed_at.isoformat(timespec="minutes")]
    missed = data["missed_sleeps"][0]
    next_wake = min([t for t in _weekday_times(8, now + _dt.timedelta(days=4), 8) if t > missed_at] + [now])
    hours = (next_wake - missed_at).total_seconds() / 3600
    assert missed["hours"] == pytest.approx(hours, abs=0.02)
    saved = data["hourly_usd"]["awake"] - data["hourly_usd"]["asleep"]
    assert missed["cost_usd"] == pytest.approx(hours * saved, abs=0.02)
    assert missed["reason"].startswith("no sleep run was recorded")


def test_without_a_schedule_the_month_is_always_on_and_the_example_says_what_a_schedule_saves(
        tmp_path: Path, aws: str) -> None:
    root = project(tmp_path, schedule="")
    assert run_cli("up", "demo", root=root).exit_code == 0
    build()
    data = cost(root)
    assert data["schedule"] is None and data["missed_sleeps"] == []
    month = data["monthly_usd"]
    assert month["on_schedule"] == month["always_on"] and month["saving"] == 0
    example = data["example"]
    assert example["schedule"] == {"timezone": "UTC", "sleep": "0 19 * * 1-5", "wake": "0 8 * * 1-5"}
    assert 0 < example["saving"] < month["always_on"]
    assert "add a schedule" in run_cli("cost", "demo", root=root).stdout
    spend = cost(root, "--spend")["spend"]  # moto's Cost Explorer knows nothing of it: said, not $0
    assert spend["total_usd"] is None and "cost allocation tags" in spend["note"]


def test_spend_by_component_from_cost_explorer(tmp_path: Path, aws: str) -> None:
    root = project(tmp_path)
    assert run_cli("up", "demo", root=root).exit_code == 0
    groups = [{"Keys": [f"envctl:component${name}"], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
              for name, amount in (("network", "21.5"), ("app", "40.25"))]
    body = {"results": [{"ResultsByTime": [{"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-30"},
                                            "Total": {}, "Groups": groups, "Estimated": False}]}]}
    request = urllib.request.Request(aws + "/moto-api/static/ce/cost-and-usage-results", method="POST",
                                     data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()
    spend = cost(root, "--spend")["spend"]
    assert spend["by_component"] == {"app": 40.25, "network": 21.5}
    assert spend["total_usd"] == pytest.approx(61.75)


def test_cost_of_an_environment_that_is_down_only_looks(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    root = project(tmp_path)
    res = run_cli("cost", "demo", root=root, env={"ENVCTL_SANDBOX_PORT": port})
    assert res.exit_code == 0, res.output
    assert "demo is down: nothing of it runs to forecast" in res.stderr
    assert res.stdout == ""
    stopped = run_cli("sandbox", "status", "--json", root=root, env={"ENVCTL_SANDBOX_PORT": port})
    assert json.loads(stopped.stdout) == {"running": False}  # cost started no sandbox to look
