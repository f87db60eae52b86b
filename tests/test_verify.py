"""``envctl verify`` and the leak check of ``down``, on env folders with tiny real scripts and the sandbox."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import boto3
import pytest

from tests.conftest import make_env, run_cli

pytestmark = pytest.mark.sandbox

POLICY_DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}'


def env_yaml(name: str = "test", extra: str = "") -> str:
    return f"""
    name: {name}
    region: us-east-1
    aws: {{target: sandbox}}
    vars: {{CLUSTER_NAME: demo}}
    components:
      network: {{}}
      cluster: {{depends_on: [network]}}
      app: {{depends_on: [cluster]}}
    {extra}
    """


def trivial(comp: str) -> dict[str, str]:
    return {f"install-{comp}.sh": "true\n", f"delete-{comp}.sh": "true\n"}


def project(root: Path, name: str = "test") -> Path:
    make_env(root, name, env_yaml(name), {c: trivial(c) for c in ("network", "cluster", "app")})
    return root


def tags(component: str, env: str = "test") -> list[dict[str, str]]:
    return [{"Key": "envctl:env", "Value": env}, {"Key": "envctl:component", "Value": component}]


def leave_things(env: str = "test", cluster: str = "demo") -> dict[str, str]:
    ec2 = boto3.client("ec2")
    subnet_vpc = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=subnet_vpc, CidrBlock="10.5.1.0/24")["Subnet"]["SubnetId"]
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip, TagSpecifications=[
        {"ResourceType": "natgateway", "Tags": tags("network", env)}])["NatGateway"]["NatGatewayId"]
    boto3.client("eks").create_cluster(name=cluster, roleArn="arn:aws:iam::123456789012:role/eks",
                                       resourcesVpcConfig={"subnetIds": []},
                                       tags={"envctl:env": env, "envctl:component": "cluster"})
    policy = boto3.client("iam").create_policy(PolicyName="app-policy", PolicyDocument=POLICY_DOC,
                                               Tags=tags("app", env))["Policy"]["Arn"]
    boto3.client("logs").create_log_group(logGroupName=f"/aws/eks/{cluster}/cluster")
    return {"nat": nat, "policy": policy}


def test_verify_json_names_leftovers_prices_them_and_exits_5(tmp_path, aws):
    root = project(tmp_path)
    left = leave_things()

    res = run_cli("verify", "test", "--json", root=root)
    assert res.exit_code == 5, res.output
    data = json.loads(res.stdout)
    assert data["env"] == "test" and data["clean"] is False
    by_type = {r["type"]: r for r in data["resources"]}
    assert set(by_type) == {"ec2:natgateway", "eks:cluster", "iam:policy", "logs:log-group"}
    assert by_type["ec2:natgateway"]["component"] == "network"
    assert by_type["ec2:natgateway"]["hourly_usd"] == 0.045
    assert by_type["ec2:natgateway"]["monthly_usd"] == 32.85
    assert left["nat"] in by_type["ec2:natgateway"]["arn"]
    assert by_type["iam:policy"] == {**by_type["iam:policy"], "arn": left["policy"], "component": "app",
                                     "region": "global", "hourly_usd": 0.0}
    assert by_type["logs:log-group"]["component"] == "cluster"
    assert by_type["logs:log-group"]["orphan_of"] == "demo"
    # NAT 0.045 + EKS 0.10 + an empty log group 0: the total is the sum of what is priced.
    assert data["hourly_usd"] == 0.145
    assert data["monthly_usd"] == 105.85
    assert data["unpriced"] == 0
    assert data["pending_deletion"] == []
    for item in data["resources"]:
        assert {"arn", "type", "component", "region", "hourly_usd", "monthly_usd"} <= set(item)


def test_verify_is_clean_exit_0_with_others_leftovers_around(tmp_path, aws):
    root = project(tmp_path)
    leave_things(env="prod", cluster="prod")  # another environment's, orphans of its own cluster included
    boto3.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=3)  # an untagged stranger

    res = run_cli("verify", "--json", root=root)  # the only environment
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["clean"] is True and data["resources"] == []


def test_verify_clean_when_nothing_is_left(tmp_path, aws):
    root = project(tmp_path)
    ec2 = boto3.client("ec2")
    ec2.create_vpc(CidrBlock="10.6.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tags("x", "prod")}])
    kms = boto3.client("kms")
    key = kms.create_key(Tags=[{"TagKey": "envctl:env", "TagValue": "test"}])["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)

    res = run_cli("verify", "test", "--json", root=root)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["clean"] is True and data["resources"] == [] and data["hourly_usd"] == 0
    assert [p["id"] for p in data["pending_deletion"]] == [key]

    text = run_cli("verify", "test", root=root)
    assert text.exit_code == 0
    assert "CLEAN" in text.stdout and "Pending deletion" in text.stdout


def test_verify_text_and_markdown(tmp_path, aws):
    root = project(tmp_path)
    left = leave_things()
    boto3.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=10, VolumeType="io2", Iops=100,
                                      TagSpecifications=[{"ResourceType": "volume", "Tags": tags("app")}])
    boto3.client("sqs").create_queue(QueueName="jobs", tags={"envctl:env": "test", "envctl:component": "app"})

    md = run_cli("verify", "test", "--markdown", root=root)
    assert md.exit_code == 5, md.output
    assert md.stdout.startswith("### ❌ envctl verify: `test`")
    assert "| component | type | resource | region | $/hour | $/month |" in md.stdout
    assert "| network | `ec2:natgateway` |" in md.stdout
    assert "| cluster | `logs:log-group` | `/aws/eks/demo/cluster` (orphan of cluster `demo`) |" in md.stdout
    assert "| **total** | | | | **$0.1467** | **$107.10** |" in md.stdout
    assert "1 resource(s) of unknown price are not in the total." in md.stdout  # the SQS queue

    text = run_cli("verify", "test", root=root)
    assert text.exit_code == 5
    assert left["policy"] in text.stdout
    assert "NOT CLEAN: 6 resource(s) left in test" in text.stdout
    assert "unknown" in text.stdout


def test_print_policy_is_valid_json_with_only_read_actions(tmp_path):
    res = run_cli("verify", "--print-policy", root=tmp_path)
    assert res.exit_code == 0, res.output
    policy = json.loads(res.stdout)
    actions = policy["Statement"][0]["Action"]
    assert policy["Statement"][0]["Effect"] == "Allow"
    assert "tag:GetResources" in actions and "iam:ListPolicyTags" in actions and "ce:GetCostAndUsage" in actions
    assert all(a.split(":")[1].startswith(("List", "Describe", "Get", "Search", "Lookup", "BatchGet"))
               for a in actions)
    assert "secretsmanager:GetSecretValue" not in actions


def test_spend_says_plainly_when_there_is_no_data_and_shows_it_when_there_is(tmp_path, aws):
    root = project(tmp_path)
    res = run_cli("verify", "test", "--json", "--spend", root=root)
    assert res.exit_code == 0, res.output
    spend = json.loads(res.stdout)["spend"]
    assert spend["month_to_date_usd"] is None and "cost allocation tag" in spend["note"]

    import datetime as dt

    from envctl.teardown import verify

    body = {"results": [{"ResultsByTime": [
        {"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-02"},
         "Total": {"UnblendedCost": {"Amount": "12.50", "Unit": "USD"}}, "Groups": [], "Estimated": False},
        {"TimePeriod": {"Start": "2026-11-20", "End": "2026-11-21"},
         "Total": {"UnblendedCost": {"Amount": "3.25", "Unit": "USD"}}, "Groups": [], "Estimated": True}]}]}
    req = urllib.request.Request(aws + "/moto-api/static/ce/cost-and-usage-results", method="POST",
                                 data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    got = verify.actual_spend("test", lambda s, r: boto3.client(s, region_name=r), today=dt.date(2026, 11, 21))
    assert (got.month_to_date, got.yesterday) == (15.75, 3.25)
    assert "estimates" in got.note


def test_no_env_and_several_with_state_names_them(tmp_path, aws):
    project(tmp_path, "alpha")
    project(tmp_path, "beta")
    from envctl.state.local import LocalBackend
    from envctl.state.model import EnvState

    for name in ("alpha", "beta"):
        LocalBackend(tmp_path).save(EnvState(env=name))
    res = run_cli("verify", root=tmp_path)
    assert res.exit_code == 2
    assert "alpha, beta" in res.stderr


FORGETFUL = {
    "network": {"install-network.sh": "true\n", "delete-network.sh": "true\n"},
    "cluster": {
        "install-cluster.sh": """
aws eks create-cluster --name "$CLUSTER_NAME" --role-arn arn:aws:iam::123456789012:role/eks \\
  --resources-vpc-config subnetIds=[] --tags "$ENVCTL_TAGS_KV" >/dev/null
aws logs create-log-group --log-group-name "/aws/eks/$CLUSTER_NAME/cluster"
echo "CLUSTER_NAME=$CLUSTER_NAME" >> "$ENVCTL_OUTPUT"
""",
        # EKS makes its log group itself and keeps it: the delete removes only the cluster.
        "delete-cluster.sh": 'aws eks delete-cluster --name "$CLUSTER_NAME" >/dev/null || true\n',
    },
    "app": {
        "install-app.sh": f"""
aws iam create-policy --policy-name app-policy --policy-document '{POLICY_DOC}' --tags $ENVCTL_TAGS_CLI >/dev/null
aws iam create-role --role-name app-role --assume-role-policy-document '{{}}' --tags $ENVCTL_TAGS_CLI >/dev/null
""",
        # The classic leak: the delete forgets the custom policy its install created.
        "delete-app.sh": "aws iam delete-role --role-name app-role\n",
    },
}


def test_down_names_the_component_that_leaked_and_exits_5(tmp_path, aws):
    make_env(tmp_path, "test", env_yaml(), FORGETFUL)
    up = run_cli("up", "test", root=tmp_path)
    assert up.exit_code == 0, up.output
    policy_arn = "arn:aws:iam::123456789012:policy/app-policy"

    down = run_cli("down", "test", "--yes", root=tmp_path)
    assert down.exit_code == 5, down.output
    out = down.output
    assert "app: its delete left 1 resource(s) behind" in out
    assert f"iam:policy {policy_arn}" in out
    assert "cluster: its delete left 1 resource(s) behind" in out
    assert "/aws/eks/demo/cluster" in out and "orphan of cluster demo" in out
    assert "NOT CLEAN: 2 resource(s) left in test" in out
    # After the cluster's outputs are gone from the state, verify still finds its orphan (env var fallback).
    res = run_cli("verify", "test", "--json", root=tmp_path)
    assert res.exit_code == 5
    assert {r["arn"] for r in json.loads(res.stdout)["resources"]} >= {policy_arn}


def test_verify_refuses_to_call_the_wrong_account_clean(tmp_path, aws):
    make_env(tmp_path, "test", """
    name: test
    region: us-east-1
    aws: {target: account, account_id: "111122223333"}
    components:
      app: {}
    """, {"app": trivial("app")})
    res = run_cli("verify", "test", root=tmp_path)
    assert res.exit_code == 2
    assert "111122223333" in res.stderr and "123456789012" in res.stderr


def test_cluster_and_db_names_come_from_outputs_and_vars(tmp_path):
    from envctl.config.load import load_environment
    from envctl.teardown.verify import targets_from

    make_env(tmp_path, "test", """
    name: test
    region: us-east-1
    aws: {target: sandbox}
    vars: {CLUSTER_NAME: main}
    components:
      eks: {}
      batch: {vars: {BATCH_CLUSTER_NAME: jobs}}
      db: {}
    """, {c: trivial(c) for c in ("eks", "batch", "db")})
    env = load_environment(tmp_path, "test")
    targets = targets_from(env, {"eks": {"CLUSTER_NAME": "main", "VPC_ID": "vpc-1"},
                                 "db": {"ORDERS_DB_INSTANCE_ID": "orders"}})
    assert dict(targets.clusters) == {"main": "eks", "jobs": "batch"}
    assert dict(targets.db_instances) == {"orders": "db"}
    # After down cleared the outputs, the environment's CLUSTER_NAME still names it (no owner component).
    assert dict(targets_from(env, {}).clusters) == {"main": None, "jobs": "batch"}


def test_a_deleted_ecs_service_and_cluster_are_gone_a_live_one_is_a_leftover(tmp_path: Path, aws: str) -> None:
    """ECS keeps a deleted service and cluster as INACTIVE, and the tagging API goes on listing them: verify
    asks ECS, so only the live ones are leftovers."""
    root = project(tmp_path)
    ecs = boto3.client("ecs")
    ecs_tags = [{"key": t["Key"], "value": t["Value"]} for t in tags("app")]
    for cluster in ("web", "gone"):
        ecs.create_cluster(clusterName=cluster, tags=ecs_tags)
        ecs.register_task_definition(family=f"{cluster}-task", containerDefinitions=[
            {"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "memory": 128}])
        ecs.create_service(cluster=cluster, serviceName=f"{cluster}-svc", taskDefinition=f"{cluster}-task",
                           desiredCount=2, tags=ecs_tags)
    ecs.delete_service(cluster="gone", service="gone-svc", force=True)
    ecs.delete_cluster(cluster="gone")
    result = run_cli("verify", "test", "--json", root=root)
    assert result.exit_code == 5, result.output
    left = {r["arn"].rsplit("/", 1)[-1]: r for r in json.loads(result.stdout)["resources"]
            if r["type"].startswith("ecs:")}
    assert set(left) == {"web", "web-svc"}, sorted(left)
    assert {r["component"] for r in left.values()} == {"app"}


def test_a_cache_cluster_is_priced_by_its_nodes(tmp_path: Path, aws: str) -> None:
    from envctl.teardown.pricing import load_prices

    rates = load_prices().region_table("us-east-1")
    assert rates is not None
    project(tmp_path)
    cache = boto3.client("elasticache")
    cache.create_cache_cluster(CacheClusterId="app-sessions", Engine="memcached", CacheNodeType="cache.t3.small",
                               NumCacheNodes=2, Tags=tags("app"))  # a Redis cluster has one node
    cache.create_cache_cluster(CacheClusterId="other-sessions", Engine="redis", CacheNodeType="cache.t3.small",
                               NumCacheNodes=1, Tags=tags("app", "other"))  # another team's
    res = run_cli("verify", "test", "--json", root=tmp_path)
    assert res.exit_code == 5, res.output
    report = json.loads(res.stdout)
    assert [r["id"] for r in report["resources"]] == ["app-sessions"] and report["unpriced"] == 0
    assert report["resources"][0]["hourly_usd"] == pytest.approx(2 * rates["elasticache"]["cache.t3.small"])
    assert report["resources"][0]["attrs"]["nodes"] == 2


def test_a_search_domain_is_confirmed_with_its_nodes_and_priced(aws: str) -> None:
    """The sandbox's tagging API does not list OpenSearch domains (AWS's does): the describe call that
    confirms a listed one, and reads its nodes, is checked on its own."""
    from envctl.inventory.confirm import confirm
    from envctl.inventory.model import Scope
    from envctl.teardown.pricing import load_prices, price

    boto3.client("opensearch").create_domain(
        DomainName="app-search", TagList=tags("app"),
        ClusterConfig={"InstanceType": "t3.small.search", "InstanceCount": 2, "DedicatedMasterEnabled": True,
                       "DedicatedMasterType": "m6g.large.search", "DedicatedMasterCount": 3})
    scope = Scope(env="test", clusters={}, db_instances={},
                  client=lambda service, region: boto3.client(service, region_name=region))
    arn = "arn:aws:es:us-east-1:123456789012:domain/"
    hits = {arn + "app-search": ("es:domain", "app-search", {"envctl:env": "test", "envctl:component": "app"}),
            arn + "gone": ("es:domain", "gone", {"envctl:env": "test", "envctl:component": "app"})}
    [domain] = confirm(scope, "us-east-1", hits)
    assert domain.id == "app-search" and domain.component == "app"
    rates = (load_prices().region_table("us-east-1") or {})["opensearch"]
    found = price(domain)
    assert found.hourly_usd == pytest.approx(2 * rates["t3.small.search"] + 3 * rates["m6g.large.search"])
    assert "3 x m6g.large.search" in found.basis
