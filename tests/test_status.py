"""status: what the environment costs per hour now, asleep and awake, next to its components."""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import make_env, run_cli

pytestmark = pytest.mark.sandbox

ENV = """\
name: demo
region: us-east-1
components:
  cluster: {}
schedule: {timezone: UTC, sleep: "0 19 * * 1-5", wake: "0 8 * * 1-5"}
"""


def test_status_prices_what_is_up_and_what_sleep_saves(tmp_path, aws):
    make_env(tmp_path, "demo", ENV, {"cluster": {"install-cluster.sh": "true", "delete-cluster.sh": "true"}})
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0
    tags = {"envctl:env": "demo", "envctl:component": "cluster"}
    eks = boto3.client("eks", region_name="us-east-1")
    eks.create_cluster(name="demo", roleArn="arn:aws:iam::123456789012:role/r",
                       resourcesVpcConfig={"subnetIds": ["subnet-1"]}, tags=tags)
    eks.create_nodegroup(clusterName="demo", nodegroupName="workers", nodeRole="arn:aws:iam::123456789012:role/n",
                         subnets=["subnet-1"], instanceTypes=["t3.medium"], tags=tags,
                         scalingConfig={"minSize": 1, "desiredSize": 2, "maxSize": 3})
    res = run_cli("status", "demo", "--json", root=tmp_path)
    assert res.exit_code == 0, res.output
    cost = json.loads(res.stdout).get("cost") or pytest.fail(res.stdout)
    # the EKS control plane and the nodegroup's 2 nodes (priced from its size: no instance is visible), now
    # as awake: the same environment, the same price
    assert cost["hourly_usd"] == pytest.approx(0.10 + 2 * 0.0416)
    assert cost["awake_hourly_usd"] == pytest.approx(cost["hourly_usd"])
    assert cost["asleep_hourly_usd"] == pytest.approx(0.10)
    assert cost["sleep"]["saved_hourly_usd"] == pytest.approx(2 * 0.0416)
    # asleep 19:00-08:00 on weekdays and all weekend: 113 of 168 hours
    assert cost["sleep"]["saved_daily_usd"] == pytest.approx(round(2 * 0.0416 * 113 / 7, 2))
    text = run_cli("status", "demo", root=tmp_path).stdout
    assert "costs $0.1832/h now" in text and "sleep saves" in text


def test_status_no_cost_asks_aws_nothing_and_a_down_environment_is_not_priced(tmp_path, aws):
    make_env(tmp_path, "demo", ENV, {"cluster": {"install-cluster.sh": "true", "delete-cluster.sh": "true"}})
    res = run_cli("status", "demo", "--json", root=tmp_path)
    assert res.exit_code == 0 and "cost" not in json.loads(res.stdout)
    assert json.loads(res.stdout)["state"] == "down"
    run_cli("up", "demo", root=tmp_path)
    res = run_cli("status", "demo", "--json", "--no-cost", root=tmp_path)
    assert json.loads(res.stdout)["state"] == "up" and "cost" not in json.loads(res.stdout)
