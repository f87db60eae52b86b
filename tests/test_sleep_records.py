"""Sleep through the CLI: ECS services and Aurora clusters to zero and back exactly (also from a machine with
no local state), and each sleep recording what it finds (sleep, down, resize, up, sleep, wake)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import make_env, run_cli
from tests.test_sleep_cli import ACCOUNT, make_cluster, nodegroup, project, status

pytestmark = pytest.mark.sandbox

REGION = "us-east-1"


def service_and_cluster() -> tuple[int, tuple[int, int], dict[str, str], str, dict[str, str]]:
    """The ECS service's desired count, its scaler's bounds and sleep tags; the Aurora cluster's status and tags."""
    ecs = boto3.client("ecs", region_name=REGION)
    svc = ecs.describe_services(cluster="apps", services=["worker"], include=["TAGS"])["services"][0]
    target = boto3.client("application-autoscaling", region_name=REGION).describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=["service/apps/worker"])["ScalableTargets"][0]
    rds = boto3.client("rds", region_name=REGION)
    cluster = rds.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0]
    return (svc["desiredCount"], (target["MinCapacity"], target["MaxCapacity"]),
            {t["key"]: t["value"] for t in svc.get("tags", []) if t["key"].startswith("envctl:sleep")},
            cluster["Status"],
            {t["Key"]: t["Value"] for t in cluster.get("TagList", []) if t["Key"].startswith("envctl:sleep")})


def make_service_and_aurora(env: str) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    tags = {"envctl:env": env, "envctl:component": "app"}
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="apps")
    ecs.register_task_definition(family="worker", cpu="256", memory="512", networkMode="awsvpc",
                                 requiresCompatibilities=["FARGATE"],
                                 containerDefinitions=[{"name": "worker", "image": "example/worker:1.4.2"}])
    ecs.create_service(cluster="apps", serviceName="worker", taskDefinition="worker", desiredCount=3,
                       launchType="FARGATE", tags=[{"key": k, "value": v} for k, v in tags.items()],
                       networkConfiguration={"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}})
    boto3.client("application-autoscaling", region_name=REGION).register_scalable_target(
        ServiceNamespace="ecs", ResourceId="service/apps/worker", ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2, MaxCapacity=6)
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-postgresql", MasterUsername="admin",
                          MasterUserPassword="not-a-secret-1", Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    rds.create_db_instance(DBInstanceIdentifier="ledger-1", DBClusterIdentifier="ledger", Engine="aurora-postgresql",
                           DBInstanceClass="db.t4g.medium")


def test_ecs_service_and_aurora_cluster_sleep_and_wake_exactly_also_without_local_state(
        aws: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    make_service_and_aurora("test")
    assert run_cli("up", "test", root=root).exit_code == 0
    awake = service_and_cluster()
    assert awake == (3, (2, 6), {}, "available", {})
    # priced while awake: the cluster's untagged instance by its class, the service's 3 tasks by their size
    lines = {item["what"]: item for item in status(root)["cost"]["sleep"]["items"]}
    assert lines["rds:cluster ledger"]["hourly_usd"] == pytest.approx(0.073)
    assert lines["ecs:service apps/worker"]["detail"] == "3 x Fargate 0.25 vCPU 0.5 GB"

    slept = run_cli("sleep", "test", root=root)
    assert slept.exit_code == 0, slept.output
    asleep = (0, (0, 0), {"envctl:sleep:size": "desired=3 min=2 max=6"}, "stopped", {"envctl:sleep:stopped": "true"})
    assert service_and_cluster() == asleep
    assert "ecs service apps/worker: desired 3 (scaler 2-6) -> desired 0 (scaler 0-0)" in slept.stdout
    again = run_cli("sleep", "test", root=root)
    assert again.exit_code == 0, again.output
    assert "built-ins: nothing to sleep" in again.stdout
    assert service_and_cluster() == asleep

    shutil.rmtree(root / ".envctl")  # another machine: no state, only what is on AWS
    woke = run_cli("wake", "test", root=root)
    assert woke.exit_code == 0, woke.output
    assert service_and_cluster() == awake
    again = run_cli("wake", "test", root=root)
    assert again.exit_code == 0, again.output
    assert "built-ins: nothing to wake" in again.stdout
    assert service_and_cluster() == awake


def nodegroup_project(root: Path, desired: int) -> Path:
    """One component, the cluster's 'workers' nodegroup, sized from env.yaml (1/desired/3)."""
    create = (f'"{sys.executable}" -c "import boto3, os; eks = boto3.client(\'eks\'); '
              "subnet = boto3.client('ec2').describe_subnets()['Subnets'][0]['SubnetId']; "
              "eks.create_nodegroup(clusterName='test', nodegroupName='workers', subnets=[subnet], "
              "nodeRole='arn:aws:iam::123456789012:role/n', tags={'envctl:env': 'test'}, "
              "scalingConfig={'minSize': 1, 'desiredSize': int(os.environ['NODES']), 'maxSize': 3})\"\n")
    delete = (f'"{sys.executable}" -c "import boto3; '
              "boto3.client('eks').delete_nodegroup(clusterName='test', nodegroupName='workers')\"\n")
    make_env(root, "test", f"""
        name: test
        region: us-east-1
        aws: {ACCOUNT}
        components:
          nodes: {{vars: {{NODES: "{desired}"}}}}
        """, {"nodes": {"install-nodes.sh": create, "delete-nodes.sh": delete}})
    return root


def state_of(root: Path) -> dict[str, Any]:
    return json.loads((root / ".envctl" / "state" / "test.json").read_text())  # type: ignore[no-any-return]


def test_wake_restores_the_size_of_the_last_sleep_after_down_resize_and_up(aws: str, tmp_path: Path) -> None:
    eks = boto3.client("eks", region_name=REGION)
    subnet = boto3.client("ec2", region_name=REGION).describe_subnets()["Subnets"][0]["SubnetId"]
    eks.create_cluster(name="test", roleArn="arn:aws:iam::123456789012:role/c",
                       resourcesVpcConfig={"subnetIds": [subnet]}, tags={"envctl:env": "test"})
    root = nodegroup_project(tmp_path, desired=2)
    assert run_cli("up", "test", root=root).exit_code == 0
    assert nodegroup("test") == (1, 2, 3)
    assert run_cli("sleep", "test", root=root).exit_code == 0
    assert nodegroup("test") == (0, 0, 3)
    assert state_of(root)["sleep"]["nodegroups"] == {"test/workers": {"min": 1, "desired": 2, "max": 3}}

    down = run_cli("down", "test", "--yes", "--no-verify", root=root)
    assert down.exit_code == 0, down.output
    assert state_of(root)["sleep"] == {}  # down forgets what the sleep recorded

    nodegroup_project(tmp_path, desired=3)  # env.yaml now asks for 3 nodes
    assert run_cli("up", "test", root=root).exit_code == 0
    assert nodegroup("test") == (1, 3, 3)
    assert run_cli("sleep", "test", root=root).exit_code == 0
    assert nodegroup("test") == (0, 0, 3)
    woke = run_cli("wake", "test", root=root)
    assert woke.exit_code == 0, woke.output
    assert nodegroup("test") == (1, 3, 3)
    assert "nodegroup test/workers: 0/0/3 -> 1/3/3" in woke.stdout


def test_wake_restores_the_new_size_even_with_a_stale_record_left_in_the_state(aws: str, tmp_path: Path) -> None:
    """A state written by an older envctl (down did not forget) or copied from elsewhere: the sleep wins."""
    make_cluster("test")
    root = project(tmp_path)
    assert run_cli("up", "test", root=root).exit_code == 0
    path = root / ".envctl" / "state" / "test.json"
    stale = state_of(root)
    stale["sleep"] = {"nodegroups": {"test/workers": {"min": 1, "desired": 1, "max": 1}}}
    path.write_text(json.dumps(stale))
    assert run_cli("sleep", "test", root=root).exit_code == 0
    assert run_cli("wake", "test", root=root).exit_code == 0
    assert nodegroup("test") == (1, 2, 3)
