"""The sandbox's CloudTrail: writes recorded as management events, read back with LookupEvents as from AWS.

Everything goes through the session's sandbox (envctl's own server) with boto3, as a real client would.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from typing import Any

import pytest

from tests.conftest import make_env, run_cli

pytestmark = pytest.mark.sandbox

UTC = dt.timezone.utc


def _client(service: str, **config: Any) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(retries={"mode": "standard", "max_attempts": 1}, **config))


def _events(**params: Any) -> list[dict[str, Any]]:
    pages = _client("cloudtrail").get_paginator("lookup_events").paginate(**params)
    return [event for page in pages for event in page["Events"]]


def test_writes_are_kept_in_cloudtrails_shape_and_reads_are_not(aws: str) -> None:
    ec2 = _client("ec2", user_agent_appid="envctl.test-run.network")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.describe_vpcs()
    _client("secretsmanager").create_secret(Name="orders/db", SecretString="hunter2-is-not-a-password")
    cluster = _client("eks").create_cluster(name="probe", roleArn="arn:aws:iam::123456789012:role/x",
                                            resourcesVpcConfig={"subnetIds": []})["cluster"]["arn"]

    events = _events()
    assert [e["EventName"] for e in events] == ["CreateCluster", "CreateSecret", "CreateVpc"]  # newest first
    created_vpc = events[2]
    assert created_vpc["EventSource"] == "ec2.amazonaws.com"
    assert created_vpc["ReadOnly"] == "false"
    assert created_vpc["Username"] == "moto"
    assert {"ResourceType": "AWS::EC2::VPC", "ResourceName": vpc} in created_vpc["Resources"]
    assert isinstance(created_vpc["EventTime"], dt.datetime)
    body = json.loads(created_vpc["CloudTrailEvent"])
    assert body["eventID"] == created_vpc["EventId"]
    assert (body["eventName"], body["eventSource"], body["awsRegion"]) == ("CreateVpc", "ec2.amazonaws.com",
                                                                           "us-east-1")
    assert "app/envctl.test-run.network" in body["userAgent"]
    assert body["userIdentity"]["accessKeyId"] == "testing"
    assert body["userIdentity"]["arn"] == "arn:aws:iam::123456789012:user/moto"
    assert body["requestParameters"]["cidrBlock"] == "10.9.0.0/16"
    assert body["responseElements"]["vpc"]["vpcId"] == vpc
    assert body["readOnly"] is False
    assert dt.datetime.strptime(body["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
    # The secret's value is hidden, as CloudTrail hides it.
    assert "hunter2" not in events[1]["CloudTrailEvent"]
    # A REST-JSON call is named from its method and path.
    assert {"ResourceType": "AWS::EKS::Cluster", "ResourceName": cluster} in events[0]["Resources"]


def test_lookup_pages_newest_first_and_filters_by_attribute_and_time(aws: str) -> None:
    ec2 = _client("ec2")
    groups = [ec2.create_security_group(GroupName=f"g{i}", Description="d")["GroupId"] for i in range(7)]
    _client("sqs").create_queue(QueueName="orders")
    cloudtrail = _client("cloudtrail")

    pages = list(cloudtrail.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["Events"]) for p in pages] == [3, 3, 2]
    ids = [e["EventId"] for p in pages for e in p["Events"]]
    assert len(set(ids)) == 8

    def lookup(key: str, value: str) -> list[str]:
        return [e["EventName"] for e in _events(LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])]

    assert lookup("EventSource", "sqs.amazonaws.com") == ["CreateQueue"]
    assert lookup("EventName", "CreateSecurityGroup") == ["CreateSecurityGroup"] * 7
    assert lookup("ResourceName", groups[3]) == ["CreateSecurityGroup"]
    assert lookup("ReadOnly", "true") == []
    assert lookup("ReadOnly", "false") == ["CreateQueue"] + ["CreateSecurityGroup"] * 7

    now = dt.datetime.now(UTC)
    assert len(_events(StartTime=now - dt.timedelta(hours=1), EndTime=now + dt.timedelta(minutes=5))) == 8
    assert _events(StartTime=dt.datetime(2020, 1, 1, tzinfo=UTC), EndTime=dt.datetime(2021, 1, 1, tzinfo=UTC)) == []
    # CloudTrail is regional: nothing happened in eu-west-1.
    assert _client("cloudtrail", region_name="eu-west-1").lookup_events()["Events"] == []


@pytest.mark.parametrize(("params", "code"), [
    ({"MaxResults": 51}, "InvalidMaxResultsException"),
    ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateVpc"},
                           {"AttributeKey": "ReadOnly", "AttributeValue": "false"}]},
     "InvalidLookupAttributesException"),
    ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
    ({"StartTime": dt.datetime(2030, 1, 1, tzinfo=UTC), "EndTime": dt.datetime(2029, 1, 1, tzinfo=UTC)},
     "InvalidTimeRangeException"),
])
def test_lookup_refuses_what_cloudtrail_refuses(aws: str, params: dict[str, Any], code: str) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        _client("cloudtrail").lookup_events(**params)
    assert err.value.response["Error"]["Code"] == code


def test_a_failed_create_is_kept_with_its_error_and_names_nothing(aws: str) -> None:
    iam = _client("iam")
    iam.create_role(RoleName="twice", AssumeRolePolicyDocument="{}")
    with pytest.raises(Exception, match="EntityAlreadyExists"):
        iam.create_role(RoleName="twice", AssumeRolePolicyDocument="{}")
    failed, created = _events()
    assert json.loads(failed["CloudTrailEvent"])["errorCode"] == "EntityAlreadyExists"
    assert failed["Resources"] == []
    assert {"ResourceType": "AWS::IAM::Role", "ResourceName": "twice"} in created["Resources"]


def test_a_reset_wipes_the_events_with_the_resources(aws: str) -> None:
    _client("sqs").create_queue(QueueName="gone-soon")
    assert len(_events()) == 1
    urllib.request.urlopen(urllib.request.Request(aws + "/moto-api/reset", method="POST", data=b""), timeout=10)
    assert _events() == []


def test_every_call_of_a_script_names_its_run_and_component(tmp_path: Any, aws: str) -> None:
    from envctl.run.scriptenv import ua_app_id

    root = tmp_path
    make_env(root, "ua", """
        name: ua
        region: us-east-1
        aws: {target: sandbox}
        components:
          queue: {}
        """, {"queue": {
        "install-queue.sh": 'echo "$AWS_SDK_UA_APP_ID" > seen-app-id\n'
                            'aws sqs create-queue --queue-name ua-orders --tags "$ENVCTL_TAGS_KV" >/dev/null\n',
        "delete-queue.sh": "true\n"}})
    up = run_cli("up", "ua", root=root, env={"AWS_SDK_UA_APP_ID": "not-envctl", "AWS_EXECUTION_ENV": None})
    assert up.exit_code == 0, up.output
    run_id = json.loads(run_cli("history", "ua", "--json", root=root).stdout)[-1]["run_id"]

    app_id = ua_app_id(run_id, "queue")
    assert app_id == f"envctl.{run_id}.queue"
    assert (root / "environments" / "ua" / "queue" / "seen-app-id").read_text().strip() == app_id
    (created,) = _events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateQueue"}])
    assert f"app/{app_id} " in json.loads(created["CloudTrailEvent"])["userAgent"] + " "


@pytest.mark.parametrize("component", ["network", "c" * 21, "c" * 22, "rds-orders-" + "x" * 60])
def test_the_app_id_fits_the_sdks_limit_and_is_the_same_every_time(component: str) -> None:
    from envctl.run.scriptenv import ua_app_id

    run_id = "20261130T094000Z-ab12"
    app_id = ua_app_id(run_id, component)
    assert len(app_id) <= 50
    assert app_id == ua_app_id(run_id, component)
    assert app_id.startswith(f"envctl.{run_id}.")
    assert set(app_id) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
    assert ua_app_id(run_id, component + "2") != app_id
