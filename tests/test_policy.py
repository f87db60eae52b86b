"""``envctl policy``: documents IAM accepts as they are, from what the scripts really call."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any

import pytest

from envctl.provenance import iam_actions
from envctl.provenance.policy import MANAGED_POLICY_LIMIT, size
from tests.conftest import REPO, make_env, run_cli

READ_PREFIXES = ("Describe", "Get", "List", "Lookup", "Search", "BatchGet")


def policy(*args: str, root: Path = REPO) -> tuple[Any, str]:
    result = run_cli("policy", *args, root=root)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), result.stderr


def actions_of(document: dict[str, Any], effect: str = "Allow") -> list[str]:
    found: list[str] = []
    for statement in document["Statement"]:
        if statement["Effect"] == effect and "Action" in statement:
            found += statement["Action"]
    return found


def valid_shape(document: dict[str, Any]) -> None:
    assert document["Version"] == "2012-10-17"
    assert document["Statement"], "IAM refuses a document without statements"
    sids = [s["Sid"] for s in document["Statement"]]
    assert len(sids) == len(set(sids)) and all(sid.isalnum() for sid in sids)
    assert size(document) <= MANAGED_POLICY_LIMIT


def test_runner_of_the_shipped_environment() -> None:
    document, _ = policy("test", "--runner")
    valid_shape(document)
    actions = actions_of(document)
    for expected in ("eks:CreateCluster", "eks:DeleteCluster", "eks:CreateNodegroup", "eks:DeleteNodegroup",
                     "iam:PassRole", "rds:CreateDBInstance", "rds:DeleteDBInstance", "ec2:CreateNatGateway",
                     "ec2:DeleteNatGateway", "ec2:CreateTags", "ec2:DescribeNatGateways", "iam:CreateRole",
                     "iam:TagRole", "rds:AddTagsToResource", "secretsmanager:GetSecretValue",
                     "iam:GetAccountAuthorizationDetails", "logs:DeleteLogGroup", "sts:GetCallerIdentity"):
        assert expected in actions, expected
    assert not [a for a in actions if "*" in a or "?" in a], "no wildcards"
    assert len(actions) == len(set(actions))
    for statement in document["Statement"]:
        acts = statement["Action"]
        assert acts == sorted(acts)
    unknown = [a for a in actions if not iam_actions.is_known_action(a)]
    assert not unknown, f"not actions of botocore's models: {unknown}"
    linked = [s for s in document["Statement"] if s["Action"] == ["iam:CreateServiceLinkedRole"]]
    assert linked and linked[0]["Condition"]["StringEquals"]["iam:AWSServiceName"] == [
        "eks-nodegroup.amazonaws.com", "eks.amazonaws.com", "rds.amazonaws.com"]


def test_runner_reads_sourced_files(tmp_path: Path) -> None:
    """A call in a library a script sources counts: environments/lib/common.sh style."""
    lib = tmp_path / "environments" / "lib" / "shared.sh"
    lib.parent.mkdir(parents=True)
    lib.write_text('queue() { aws sqs create-queue --queue-name "$1" --tags "$ENVCTL_TAGS_KV"; }\n')
    make_env(tmp_path, "demo", "name: demo\nregion: us-east-1\ncomponents:\n  q: {}\n", {"q": {
        "install-q.sh": '. "$(dirname "${BASH_SOURCE[0]}")/../../lib/shared.sh"\nqueue demo\n',
        "delete-q.sh": "aws --region us-east-1 sqs delete-queue --queue-url \"$URL\"\n"
                       "aws eks wait cluster-deleted --name x\n"}})
    document, err = policy("demo", "--runner", root=tmp_path)
    assert sorted(actions_of(document)) == ["eks:DescribeCluster", "sqs:CreateQueue", "sqs:DeleteQueue",
                                            "sqs:TagQueue"]
    assert err == ""


def test_runner_says_what_it_could_not_map(tmp_path: Path) -> None:
    make_env(tmp_path, "demo", "name: demo\nregion: us-east-1\ncomponents:\n  q: {}\n", {"q": {
        "install-q.sh": "aws sqs create-queue --queue-name a\naws sqs make-it-so\n",
        "delete-q.sh": "aws nosuchservice delete-thing\n"}})
    document, err = policy("demo", "--runner", root=tmp_path)
    assert actions_of(document) == ["sqs:CreateQueue"]
    assert "environments/demo/q/install-q.sh:4: 'make-it-so' is not an operation of 'sqs'" in err
    assert "delete-q.sh:3: 'nosuchservice' is not an AWS CLI service" in err


def test_reader_only_reads() -> None:
    document, _ = policy("test", "--reader")
    valid_shape(document)
    actions = actions_of(document)
    assert "cloudtrail:LookupEvents" in actions and "ec2:DescribeVpcs" in actions and "tag:GetResources" in actions
    assert all(a.split(":")[1].startswith(READ_PREFIXES) for a in actions)
    assert "secretsmanager:GetSecretValue" not in actions and "s3:GetObject" not in actions
    assert all(iam_actions.is_known_action(a) for a in actions)


def test_reader_grants_team_state_reads_on_the_bucket_only(tmp_path: Path) -> None:
    make_env(tmp_path, "demo", "name: demo\nregion: us-east-1\nstate: {backend: s3, bucket: acme-state, "
             "lock_table: locks}\ncomponents:\n  q: {}\n", {"q": {"install-q.sh": "true\n", "delete-q.sh": "true\n"}})
    document, _ = policy("demo", "--reader", root=tmp_path)
    state = next(s for s in document["Statement"] if s["Sid"] == "ReadTeamState")
    assert state["Action"] == ["s3:GetObject"] and state["Resource"] == ["arn:aws:s3:::acme-state/envctl/*"]


def _denied(document: dict[str, Any], action: str, context: dict[str, str]) -> bool:
    """A small evaluator of the guardrail's Deny statements for one request (Bool and Null conditions)."""
    for statement in document["Statement"]:
        assert statement["Effect"] == "Deny"
        if "Action" in statement:
            matches = any(fnmatch.fnmatchcase(action, p) for p in statement["Action"])
        else:
            matches = not any(fnmatch.fnmatchcase(action, p) for p in statement["NotAction"])
        applies = all(
            (context.get(key) == value) if op == "Bool" else ((key in context) == (value == "false"))
            for op, pairs in statement["Condition"].items() for key, value in pairs.items())
        if matches and applies:
            return True
    return False


def test_agent_guardrail_denies_writes_through_the_mcp_server() -> None:
    document, _ = policy("test", "--agent-guardrail")
    valid_shape(document)
    assert {s["Effect"] for s in document["Statement"]} == {"Deny"}
    keys = {k for s in document["Statement"] for pairs in s["Condition"].values() for k in pairs}
    assert keys == {"aws:ViaAWSMCPService", "aws:CalledViaAWSMCP"}
    via_mcp = {"aws:ViaAWSMCPService": "true", "aws:CalledViaAWSMCP": "aws-mcp.amazonaws.com"}
    runner, _ = policy("test", "--runner")
    writes = [a for a in actions_of(runner) if not a.split(":")[1].startswith(READ_PREFIXES)]
    writes += ["sqs:CreateQueue", "lambda:InvokeFunction", "organizations:LeaveOrganization"]
    assert all(_denied(document, w, via_mcp) for w in writes)
    assert not any(_denied(document, w, {}) for w in writes), "a person's own calls are not touched"
    assert not _denied(document, "ec2:DescribeVpcs", via_mcp)
    assert _denied(document, "secretsmanager:GetSecretValue", via_mcp)
    assert _denied(document, "ec2:CreateVpc", {"aws:CalledViaAWSMCP": "aws-mcp.amazonaws.com"})


def test_big_policies_are_split_into_documents_under_the_limit(tmp_path: Path) -> None:
    import botocore.session
    from botocore import xform_name

    ops = botocore.session.get_session().get_service_model("ec2").operation_names[:400]
    body = "".join(f"aws ec2 {xform_name(op, '-')}\n" for op in ops)
    make_env(tmp_path, "big", "name: big\nregion: us-east-1\ncomponents:\n  c: {}\n",
             {"c": {"install-c.sh": body, "delete-c.sh": "true\n"}})
    result = run_cli("policy", "big", "--runner", root=tmp_path)
    assert result.exit_code == 0, result.output
    documents = json.loads(result.stdout)
    assert isinstance(documents, list) and len(documents) > 1
    for document in documents:
        valid_shape(document)
    got = [a for d in documents for a in actions_of(d)]
    assert sorted(got) == sorted(f"ec2:{op}" for op in ops)
    assert "documents" in result.stderr


@pytest.mark.parametrize("args", [(), ("--runner", "--reader")])
def test_exactly_one_kind(args: tuple[str, ...]) -> None:
    result = run_cli("policy", "test", *args, root=REPO)
    assert result.exit_code == 2
    assert "--runner" in result.stderr


def test_reader_covers_what_the_looks_of_sleep_call() -> None:
    """Every read the sleep package makes (status shows what is asleep and what waking costs) is in the reader
    policy: a new read there without a matching action here fails this test, not an analyst's status."""
    import re

    from botocore import xform_name

    reader, _ = policy("test", "--reader")
    names = {a.split(":")[1] for a in actions_of(reader)}
    called: set[str] = set()
    for path in (REPO / "envctl" / "sleep").glob("*.py"):
        text = path.read_text()
        called |= set(re.findall(r"\.((?:describe|list|get)_[a-z_]+)\(", text))
        called |= set(re.findall(r"get_paginator\(\"([a-z_]+)\"\)", text))
    missing = called - {"get_paginator", "get_waiter"} - {xform_name(n) for n in names}
    assert not missing, f"reads of envctl/sleep not in the reader policy: {sorted(missing)}"


@pytest.mark.parametrize(("command", "expected"), [
    ("aws --region us-east-1 --output text ec2 describe-vpcs", {"ec2:DescribeVpcs"}),
    ("aws ec2 run-instances --image-id x --iam-instance-profile Name=p --tag-specifications \"$T\"",
     {"ec2:RunInstances", "iam:PassRole", "ec2:CreateTags"}),
    ("aws lambda create-function --function-name f --role \"$ROLE\"", {"lambda:CreateFunction", "iam:PassRole"}),
    ("aws sts assume-role --role-arn \"$ROLE\" --role-session-name s", {"sts:AssumeRole"}),
    ("aws iam create-role --role-name r --assume-role-policy-document x --tags Key=a,Value=b",
     {"iam:CreateRole", "iam:TagRole"}),
    ("aws iam add-role-to-instance-profile --instance-profile-name p --role-name r",
     {"iam:AddRoleToInstanceProfile", "iam:PassRole"}),
    ("aws rds create-db-instance --db-instance-identifier d --monitoring-role-arn \"$M\" --kms-key-id k",
     {"rds:CreateDBInstance", "iam:PassRole", "kms:DescribeKey", "kms:CreateGrant"}),
    ("aws s3api list-objects-v2 --bucket b", {"s3:ListBucket"}),
    ("aws s3 cp ./site s3://bucket/site --recursive", {"s3:ListBucket", "s3:PutObject"}),
    ("aws s3 cp s3://bucket/key ./key", {"s3:ListBucket", "s3:GetObject"}),
    ("aws s3 sync ./site s3://bucket --delete", {"s3:ListBucket", "s3:PutObject", "s3:DeleteObject"}),
    ("aws ecr get-login-password", {"ecr:GetAuthorizationToken"}),
    ("aws cloudwatch put-metric-alarm --alarm-name a", {"cloudwatch:PutMetricAlarm"}),
    ("aws resourcegroupstaggingapi get-resources", {"tag:GetResources"}),
    ("aws configservice describe-config-rules", {"config:DescribeConfigRules"}),
    ("aws apigateway create-rest-api --name n", {"apigateway:POST"}),
    ("aws rds wait db-instance-available --db-instance-identifier d", {"rds:DescribeDBInstances"}),
    ("aws eks update-kubeconfig --name c", {"eks:DescribeCluster"}),
    ("aws configure set region us-east-1", set()),
    ("aws ec2 describe-instances --query 'Reservations[].Instances[].IamInstanceProfile.Arn'",
     {"ec2:DescribeInstances"}),
])
def test_call_to_actions(command: str, expected: set[str]) -> None:
    call = iam_actions.parse_call(command)
    assert call is not None
    mapped = iam_actions.actions_for(call)
    assert mapped.unknown is None
    assert mapped.actions == expected
    assert all(iam_actions.is_known_action(a) for a in mapped.actions)


@pytest.mark.parametrize("command", ["aws \"$SERVICE\" describe-things", "aws --version", "aws"])
def test_calls_that_are_not_a_service_and_operation(command: str) -> None:
    assert iam_actions.parse_call(command) is None


PY_INSTALL = '''#!/usr/bin/env python3
import boto3

sqs = boto3.client("sqs", region_name="us-east-1")
sqs.create_queue(QueueName="q", tags={"envctl:env": "demo"})
ec2 = boto3.session.Session().client("ec2")
ec2.run_instances(ImageId="ami-1", MinCount=1, MaxCount=1,
                  IamInstanceProfile={"Name": "profile"},
                  TagSpecifications=[{"ResourceType": "instance", "Tags": []}])
for page in ec2.get_paginator("describe_vpcs").paginate():
    pass
boto3.client("eks").get_waiter("cluster_active").wait(name="c")
sqs.close()
s3 = boto3.resource("s3")
'''


def test_runner_reads_boto3_clients_in_python_scripts(tmp_path: Path) -> None:
    env_dir = make_env(tmp_path, "demo", "name: demo\nregion: us-east-1\ncomponents:\n  q:\n    install: install.py\n",
                       {"q": {"delete-q.sh": "aws sqs delete-queue --queue-url \"$URL\"\n"}})
    script = env_dir / "q" / "install.py"
    script.write_text(PY_INSTALL)
    script.chmod(0o755)
    document, err = policy("demo", "--runner", root=tmp_path)
    assert sorted(actions_of(document)) == ["ec2:CreateTags", "ec2:DescribeVpcs", "ec2:RunInstances",
                                            "eks:DescribeCluster", "iam:PassRole", "sqs:CreateQueue",
                                            "sqs:DeleteQueue", "sqs:TagQueue"]
    assert "environments/demo/q/install.py:14: uses boto3's resource API, which is not read" in err
