"""The example environment ``test`` end to end, through the CLI as the contract defines it.

``envctl up test`` in the sandbox builds every resource the issue lists, tagged ``envctl:env=test`` and
``envctl:component=<name>`` (checked with boto3, IAM and EKS included); a second ``up`` changes nothing; sleep
and wake scale the nodegroup and stop the database and back;
``envctl down --yes`` leaves nothing tagged ``envctl:env=test`` in any of those services; and every delete
script succeeds against an empty sandbox.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.sandbox

ENV = "test"
# What install must make: (kind, component) -> how many.
EXPECTED = {
    ("ec2:vpc", "network"): 1,
    ("ec2:subnet", "network"): 4,
    ("ec2:internet-gateway", "network"): 1,
    ("ec2:route-table", "network"): 2,
    ("ec2:natgateway", "network"): 1,
    ("ec2:elastic-ip", "network"): 1,
    ("iam:role", "iam"): 3,
    ("iam:policy", "iam"): 1,
    ("eks:cluster", "cluster"): 1,
    ("eks:nodegroup", "nodegroup"): 1,
    ("ecr:repository", "ecr"): 1,
    ("rds:db", "rds-orders"): 1,
    ("rds:subgrp", "rds-orders"): 1,
    ("ec2:security-group", "rds-orders"): 1,
    ("secretsmanager:secret", "rds-orders"): 1,
}


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def tagged_resources(env: str) -> dict[tuple[str, str], dict[str, str]]:
    """Every resource in the services the example uses that carries ``envctl:env=<env>``: (kind, id) -> tags.

    Walks each service's own list calls, since IAM, EKS, ECR, Elastic IPs and DB subnet groups are not in
    the tagging API. Deleted NAT gateways linger in the sandbox as ``deleted`` and are not counted.
    """
    import boto3

    found: dict[tuple[str, str], dict[str, str]] = {}
    ec2 = boto3.client("ec2")
    flt = [{"Name": "tag:envctl:env", "Values": [env]}]
    for vpc in ec2.describe_vpcs(Filters=flt)["Vpcs"]:
        found["ec2:vpc", vpc["VpcId"]] = _tags(vpc.get("Tags"))
    for sub in ec2.describe_subnets(Filters=flt)["Subnets"]:
        found["ec2:subnet", sub["SubnetId"]] = _tags(sub.get("Tags"))
    for igw in ec2.describe_internet_gateways(Filters=flt)["InternetGateways"]:
        found["ec2:internet-gateway", igw["InternetGatewayId"]] = _tags(igw.get("Tags"))
    for rtb in ec2.describe_route_tables(Filters=flt)["RouteTables"]:
        found["ec2:route-table", rtb["RouteTableId"]] = _tags(rtb.get("Tags"))
    for nat in ec2.describe_nat_gateways(Filter=flt)["NatGateways"]:
        if nat["State"] not in ("deleted", "deleting"):
            found["ec2:natgateway", nat["NatGatewayId"]] = _tags(nat.get("Tags"))
    for eip in ec2.describe_addresses(Filters=flt)["Addresses"]:
        found["ec2:elastic-ip", eip["AllocationId"]] = _tags(eip.get("Tags"))
    for sg in ec2.describe_security_groups(Filters=flt)["SecurityGroups"]:
        found["ec2:security-group", sg["GroupId"]] = _tags(sg.get("Tags"))

    iam = boto3.client("iam")
    for role in iam.list_roles()["Roles"]:
        tags = _tags(iam.list_role_tags(RoleName=role["RoleName"])["Tags"])
        if tags.get("envctl:env") == env:
            found["iam:role", role["RoleName"]] = tags
    for policy in iam.list_policies(Scope="Local")["Policies"]:
        tags = _tags(iam.list_policy_tags(PolicyArn=policy["Arn"])["Tags"])
        if tags.get("envctl:env") == env:
            found["iam:policy", policy["Arn"]] = tags

    eks = boto3.client("eks")
    for name in eks.list_clusters()["clusters"]:
        cluster_tags = eks.describe_cluster(name=name)["cluster"].get("tags") or {}
        if cluster_tags.get("envctl:env") == env:
            found["eks:cluster", name] = dict(cluster_tags)
        for ng in eks.list_nodegroups(clusterName=name)["nodegroups"]:
            ng_tags = eks.describe_nodegroup(clusterName=name, nodegroupName=ng)["nodegroup"].get("tags") or {}
            if ng_tags.get("envctl:env") == env:
                found["eks:nodegroup", f"{name}/{ng}"] = dict(ng_tags)

    ecr = boto3.client("ecr")
    for repo in ecr.describe_repositories()["repositories"]:
        tags = _tags(ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"])
        if tags.get("envctl:env") == env:
            found["ecr:repository", repo["repositoryName"]] = tags

    rds = boto3.client("rds")
    for db in rds.describe_db_instances()["DBInstances"]:
        tags = _tags(db.get("TagList"))
        if tags.get("envctl:env") == env:
            found["rds:db", db["DBInstanceIdentifier"]] = tags
    for group in rds.describe_db_subnet_groups()["DBSubnetGroups"]:
        tags = _tags(rds.list_tags_for_resource(ResourceName=group["DBSubnetGroupArn"])["TagList"])
        if tags.get("envctl:env") == env:
            found["rds:subgrp", group["DBSubnetGroupName"]] = tags

    sm = boto3.client("secretsmanager")
    for secret in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]:
        tags = _tags(secret.get("Tags"))
        if tags.get("envctl:env") == env:
            found["secretsmanager:secret", secret["Name"]] = tags
    return found


def kinds(found: dict[tuple[str, str], dict[str, str]]) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for (kind, _), tags in found.items():
        key = (kind, tags.get("envctl:component", "?"))
        counts[key] = counts.get(key, 0) + 1
    return counts


def _sizes_and_db() -> tuple[tuple[int, int, int], str]:
    import boto3

    scaling = boto3.client("eks").describe_nodegroup(clusterName="test", nodegroupName="test-general")[
        "nodegroup"]["scalingConfig"]
    db = boto3.client("rds").describe_db_instances(DBInstanceIdentifier="test-orders")["DBInstances"][0]
    return (scaling["minSize"], scaling["desiredSize"], scaling["maxSize"]), db["DBInstanceStatus"]


def _copy_of_the_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(REPO / "environments", root / "environments")
    return root


def _detail(found: dict[Any, Any]) -> str:
    return "\n".join(f"{kind} {ident}" for kind, ident in sorted(found))


def test_up_builds_everything_tagged_again_changes_nothing_sleeps_and_down_leaves_nothing(
        tmp_path: Path, aws: str) -> None:
    root = _copy_of_the_repo(tmp_path)

    up = run_cli("up", ENV, root=root)
    assert up.exit_code == 0, up.output
    built = tagged_resources(ENV)
    assert kinds(built) == EXPECTED, _detail(built)
    for (kind, ident), tags in built.items():
        assert tags["envctl:env"] == ENV, (kind, ident)
        assert tags.get("project") == "intercept", (kind, ident)

    again = run_cli("up", ENV, root=root)
    assert again.exit_code == 0, again.output
    # The install scripts themselves are idempotent: run again, they find everything and make nothing new.
    forced = run_cli("up", ENV, "--force", root=root)
    assert forced.exit_code == 0, forced.output
    assert tagged_resources(ENV) == built

    # Asleep overnight: nodes at zero and the database stopped; awake again as it was.
    assert run_cli("sleep", ENV, root=root).exit_code == 0
    assert _sizes_and_db() == ((0, 0, 3), "stopped")
    assert run_cli("wake", ENV, root=root).exit_code == 0
    assert _sizes_and_db() == ((1, 2, 3), "available")

    down = run_cli("down", ENV, "--yes", root=root)
    assert down.exit_code == 0, down.output
    left = tagged_resources(ENV)
    assert left == {}, _detail(left)


def test_every_delete_succeeds_against_an_empty_sandbox(tmp_path: Path, aws: str) -> None:
    root = _copy_of_the_repo(tmp_path)
    # No state at all: down runs every delete script, on nothing.
    down = run_cli("down", ENV, "--yes", root=root)
    assert down.exit_code == 0, down.output
    assert tagged_resources(ENV) == {}
