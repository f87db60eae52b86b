"""``envctl audit``: every resource traced to the run, component and script that made it, read from CloudTrail.

End to end on the sandbox with the shipped ``test`` environment, then with what an agent and a plain SDK call
made beside it; against a plain moto server (no CloudTrail) the audit cannot read provenance and says so.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from envctl.provenance.classify import StepRef, classify
from envctl.safety.agents import MARKER_VARIABLES
from tests.conftest import REPO, make_env, run_cli

pytestmark = pytest.mark.sandbox

# The shell running the tests may be an AI agent's session: envctl must see a person's (the conftest clears the
# markers envctl knows; the app id and execution environment of an outer tool go too).
HUMAN_SESSION: dict[str, str | None] = {name: None for name in (*MARKER_VARIABLES, "AWS_EXECUTION_ENV",
                                                               "AWS_SDK_UA_APP_ID")}
AMAZON_Q = "AmazonQ-For-CLI Version/1.19.0"  # what Amazon Q Developer CLI puts in AWS_EXECUTION_ENV


def audit(root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("audit", "test", "--json", *args, root=root, env=HUMAN_SESSION)
    assert result.exit_code in (0, 5, 6), result.output
    return result.exit_code, json.loads(result.stdout)


def test_audit_traces_the_example_to_its_scripts_then_finds_what_others_made(
        tmp_path: Path, aws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    root = tmp_path / "repo"
    shutil.copytree(REPO / "environments", root / "environments")
    up = run_cli("up", "test", root=root, env=HUMAN_SESSION)
    assert up.exit_code == 0, up.output
    history = json.loads(run_cli("history", "test", "--json", root=root, env=HUMAN_SESSION).stdout)
    steps = {(run["run_id"], step["component"]): step for run in history for step in run["steps"]}

    code, report = audit(root)
    assert code == 0, report
    assert report["complete"] is True
    assert {r["type"] for r in report["resources"]} >= {
        "ec2:vpc", "ec2:subnet", "ec2:natgateway", "ec2:elastic-ip", "iam:role", "iam:policy", "eks:cluster",
        "eks:nodegroup", "ecr:repository", "rds:db", "secretsmanager:secret", "ec2:security-group"}
    for resource in report["resources"]:
        made = resource["created_by"]
        assert made["kind"] == "envctl", resource
        step = steps[made["run_id"], made["component"]]
        assert (made["script"], made["sha256"]) == (step["script"], step["sha256"]), resource
        assert made["component"] == resource["component"]

    # An agent makes a queue with the environment's tags; someone clicks a security group, untagged. (A
    # session reads AWS_EXECUTION_ENV when it is made: one session each, as two processes would have.)
    monkeypatch.setenv("AWS_EXECUTION_ENV", AMAZON_Q)
    boto3.session.Session().client("sqs").create_queue(
        QueueName="made-by-agent", tags={"envctl:env": "test", "envctl:component": "ecr", "project": "intercept"})
    monkeypatch.delenv("AWS_EXECUTION_ENV")
    group = boto3.session.Session().client("ec2").create_security_group(GroupName="clicked",
                                                                        Description="by hand")["GroupId"]

    code, report = audit(root)
    assert code == 5
    (queue,) = [r for r in report["resources"] if r["type"] == "sqs:queue"]
    assert queue["created_by"]["kind"] == "agent"
    assert queue["created_by"]["agent"] == "Amazon Q Developer CLI / Kiro CLI"
    assert "exec-env/AmazonQ-For-CLI" in queue["created_by"]["user_agent"]
    assert queue["finding"] is True
    assert report["findings"] == 1
    assert group not in {r["id"] for r in report["resources"]}
    assert report["outside_checked"] is False

    code, report = audit(root, "--account")
    assert code == 5
    outside = {o["id"]: o for o in report["outside"]}
    assert outside[group]["created_by"]["kind"] == "other"
    assert outside[group]["created_by"]["principal"] == "arn:aws:iam::123456789012:user/moto"
    assert outside[group]["type"] == "ec2:security-group"
    assert outside[group]["hourly_usd"] == 0.0
    assert [o["created_by"]["kind"] for o in outside.values() if "made-by-agent" in o["id"]] == ["agent"]
    assert all(o["created_by"]["kind"] != "envctl" for o in outside.values())

    text = run_cli("audit", "test", "--account", root=root, env=HUMAN_SESSION)
    assert text.exit_code == 5
    assert "FOUND: 1 resource(s) of test not made by an envctl run" in text.output
    assert group in text.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def plain_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's own server, without envctl's CloudTrail in front, adopted as the sandbox."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).read()
                break
            time.sleep(0.05)
        monkeypatch.setenv("ENVCTL_SANDBOX_PORT", str(port))
        for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(name, raising=False)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


def test_audit_against_a_server_without_cloudtrail_exits_6_and_says_why(tmp_path: Path, plain_moto: str) -> None:
    make_env(tmp_path, "test", """
        name: test
        region: us-east-1
        aws: {target: sandbox}
        components:
          queue: {}
        """, {"queue": {"install-queue.sh": 'aws sqs create-queue --queue-name plain --tags "$ENVCTL_TAGS_KV"\n',
                        "delete-queue.sh": "true\n"}})
    assert run_cli("up", "test", root=tmp_path, env=HUMAN_SESSION).exit_code == 0
    result = run_cli("audit", "test", root=tmp_path, env=HUMAN_SESSION)
    assert result.exit_code == 6, result.output
    assert "INCOMPLETE" in result.output
    assert "does not serve cloudtrail:LookupEvents" in result.output
    assert "moto server envctl did not start, so it keeps no CloudTrail" in result.output
    report = json.loads(run_cli("audit", "test", "--json", root=tmp_path, env=HUMAN_SESSION).stdout)
    assert report["complete"] is False
    assert [r["created_by"]["kind"] for r in report["resources"]] == ["unknown"]


def test_json_and_markdown_together_are_refused(tmp_path: Path) -> None:
    make_env(tmp_path, "test", "name: test\nregion: us-east-1\naws: {target: sandbox}\ncomponents:\n  a: {}\n",
             {"a": {"install-a.sh": "true\n", "delete-a.sh": "true\n"}})
    result = run_cli("audit", "test", "--json", "--markdown", root=tmp_path, env=HUMAN_SESSION)
    assert result.exit_code == 2
    assert "choose one" in result.output


def _event(user_agent: str, **extra: Any) -> dict[str, Any]:
    return {"eventName": "CreateQueue", "eventSource": "sqs.amazonaws.com", "eventTime": "2026-11-30T10:00:00Z",
            "userAgent": user_agent, "userIdentity": {"type": "AssumedRole",
                                                      "arn": "arn:aws:sts::111122223333:assumed-role/dev/ana"},
            **extra}


STEP = StepRef("20261130T094000Z-ab12", "queue", "install", "/repo/environments/test/queue/install-queue.sh", "ab")


@pytest.mark.parametrize(("event", "kind", "agent"), [
    (_event("aws-cli/2.17 app/envctl.20261130T094000Z-ab12.queue"), "envctl", None),
    # envctl's own mark wins over the agent session it ran in: the script was reviewed and recorded.
    (_event("aws-cli/2.17 exec-env/AmazonQ-For-CLI-Version-1.19.0 app/envctl.20261130T094000Z-ab12.queue"),
     "envctl", None),
    (_event("aws-cli/2.17 app/envctl.20261129T000000Z-ffff.queue"), "other", None),  # not a run of this env
    (_event("aws-cli/2.17 exec-env/AmazonQ-For-CLI-Version-1.19.0"), "agent", "Amazon Q Developer CLI / Kiro CLI"),
    (_event("aws-toolkit exec-env/AmazonQ-For-IDE-Version-3.1"), "agent", "Amazon Q Developer in the IDE"),
    (_event("Boto3/1.40 awslabs/mcp/AWS-API-MCP-server/1.0.2"), "agent", "AWS MCP server (awslabs/mcp)"),
    (_event("aws-cli/2.17 exec-env/ClaudeCode"), "agent", "coding agent (AWS_EXECUTION_ENV)"),
    (_event("Mozilla/5.0 (Macintosh)", sessionCredentialFromConsole="true"), "console", None),
    (_event("console.ec2.amazonaws.com"), "console", None),
    (_event("aws-cli/2.17 md/command#sqs.create-queue"), "other", None),
])
def test_who_made_a_call(event: dict[str, Any], kind: str, agent: str | None) -> None:
    made = classify(event, {"envctl.20261130T094000Z-ab12.queue": STEP})
    assert (made.kind, made.agent) == (kind, agent)
    if kind == "envctl":
        assert (made.run_id, made.component, made.sha256) == (STEP.run_id, "queue", "ab")
    else:
        assert made.principal == "arn:aws:sts::111122223333:assumed-role/dev/ana"


def test_the_read_only_policy_grants_lookup_events(tmp_path: Path) -> None:
    result = run_cli("verify", "--print-policy", root=tmp_path, env=HUMAN_SESSION)
    assert result.exit_code == 0
    actions = json.loads(result.stdout)["Statement"][0]["Action"]
    assert "cloudtrail:LookupEvents" in actions
    assert os.environ.get("ENVCTL_SANDBOX_PORT")  # the session's sandbox stays the one every other test uses


def test_reading_stops_at_its_budget_and_says_the_window_is_incomplete(aws: str) -> None:
    import datetime as dt

    import boto3

    from envctl.provenance.cloudtrail import Pace, read_writes

    ec2 = boto3.client("ec2")
    for i in range(5):
        ec2.create_security_group(GroupName=f"budget{i}", Description="d")
    now = dt.datetime.now(dt.timezone.utc)

    def factory(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region)

    whole = read_writes(factory, ["us-east-1"], now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1),
                        pace=Pace(None), max_events=5)
    assert whole.complete and len(whole.events) == 5
    cut = read_writes(factory, ["us-east-1"], now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1),
                      pace=Pace(None), max_events=3)
    assert len(cut.events) == 3
    assert not cut.complete
    assert "us-east-1: stopped after 3 write events" in cut.problems[0]


def test_lookups_are_paced_at_the_documented_rate() -> None:
    from envctl.provenance.cloudtrail import Pace

    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pace = Pace(2.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        pace.wait()
    assert slept == [0.5, 0.5, 0.5, 0.5]
    now[0] += 3.0  # a slow page: no wait after it
    pace.wait()
    assert len(slept) == 4


def test_account_scan_leaves_out_what_another_environments_run_made(tmp_path: Path, aws: str) -> None:
    for name in ("one", "two"):
        make_env(tmp_path, name, f"name: {name}\nregion: us-east-1\naws: {{target: sandbox}}\ncomponents:\n"
                                 "  queue: {}\n",
                 {"queue": {"install-queue.sh": f'aws sqs create-queue --queue-name {name}-q --tags "$ENVCTL_TAGS_KV"'
                                               " >/dev/null\n",
                            "delete-queue.sh": "true\n"}})
        assert run_cli("up", name, root=tmp_path, env=HUMAN_SESSION).exit_code == 0
    result = run_cli("audit", "one", "--account", "--json", root=tmp_path, env=HUMAN_SESSION)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["outside"] == []
    assert [(r["id"], r["created_by"]["kind"]) for r in report["resources"]] == [("one-q", "envctl")]


# Events as real CloudTrail writes them (shapes from AWS's documented examples): what each one created.
ARN_DB = "arn:aws:rds:eu-west-1:111122223333:db:orders"
ARN_LB = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/web/50dc6c495c0c9188"


@pytest.mark.parametrize(("name", "request_parameters", "response", "created"), [
    ("RunInstances", {"instanceType": "m6i.large"},
     {"reservationId": "r-1", "instancesSet": {"items": [{"instanceId": "i-0abc", "subnetId": "subnet-1"}]}},
     ["i-0abc"]),
    ("CreateNatGateway", {"subnetId": "subnet-1"},
     {"CreateNatGatewayResponse": {"natGateway": {"natGatewayId": "nat-1", "subnetId": "subnet-1"}}}, ["nat-1"]),
    ("CreateDBInstance", {"dBInstanceIdentifier": "orders"},
     {"dBInstanceIdentifier": "orders", "dBSubnetGroup": {"dBSubnetGroupName": "net"}, "dBInstanceArn": ARN_DB},
     ["orders", ARN_DB]),
    ("RestoreDBInstanceFromDBSnapshot", {"dBInstanceIdentifier": "orders", "dBSnapshotIdentifier": "snap"},
     {"dBInstanceIdentifier": "orders", "dBInstanceArn": ARN_DB}, ["orders", ARN_DB]),
    ("CreateSecurityGroup", {"groupName": "web"}, {"_return": True, "groupId": "sg-1"}, ["sg-1"]),
    ("CreateLogGroup", {"logGroupName": "/aws/eks/test/cluster"}, None, ["/aws/eks/test/cluster"]),
    ("CreateBucket", {"bucketName": "acme-logs", "Host": "acme-logs.s3.amazonaws.com"}, None, ["acme-logs"]),
    ("CreateRole", {"roleName": "ci"}, {"role": {"path": "/", "roleName": "ci", "roleId": "AROA1",
                                                 "arn": "arn:aws:iam::111122223333:role/ci"}},
     ["ci", "AROA1", "arn:aws:iam::111122223333:role/ci"]),
    ("CreateLoadBalancer", {"name": "web"},
     {"loadBalancers": [{"loadBalancerArn": ARN_LB, "loadBalancerName": "web", "vpcId": "vpc-1"}]},
     [ARN_LB, "web"]),
    ("CreateTags", {"resourcesSet": {"items": [{"resourceId": "vpc-1"}]}}, {"_return": True}, []),
    ("ModifyVpcAttribute", {"vpcId": "vpc-1"}, None, []),
])
def test_what_a_creating_call_made(name: str, request_parameters: Any, response: Any, created: list[str]) -> None:
    from envctl.aws.cloudtrail_shape import created_ids

    assert created_ids(name, request_parameters, response) == created


def test_what_a_deleting_call_took_away() -> None:
    from envctl.aws.cloudtrail_shape import deleted_ids

    assert deleted_ids("DeleteSecurityGroup", {"groupId": "sg-1"}) == ["sg-1"]
    assert deleted_ids("TerminateInstances", {"instancesSet": {"items": [{"instanceId": "i-1"}]}}) == ["i-1"]
    assert deleted_ids("CreateVpc", {"cidrBlock": "10.0.0.0/16"}) == []
