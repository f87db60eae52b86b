"""Log groups AWS services create for the environment's functions, databases and clusters, untagged."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.orphans_support import client, down, environment, ids, listed, up, verify

pytestmark = pytest.mark.sandbox


def groups(*names: str) -> None:
    logs = client("logs")
    for name in names:
        logs.create_log_group(logGroupName=name)  # as the service makes them: no tags


def test_lambda_log_groups_of_recorded_and_of_tagged_functions(tmp_path, aws):
    environment(tmp_path, {"api": {"install.sh": 'echo "FUNCTION_NAME=api" >> "$ENVCTL_OUTPUT"\n'},
                           "jobs": {}})
    up(tmp_path)
    # A live function carrying the environment's tag: its log group is found without any output naming it.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("handler.py", "def handle(event, context):\n    return None\n")
    role = client("iam").create_role(RoleName="jobs", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client("lambda").create_function(FunctionName="worker", Runtime="python3.12", Role=role,
                                     Handler="handler.handle", Code={"ZipFile": archive.getvalue()},
                                     Tags={"envctl:env": "test", "envctl:component": "jobs"})
    groups("/aws/lambda/api", "/aws/lambda/worker", "/aws/lambda/api-2", "/aws/lambda/worker-2",
           "/aws/lambda/us-east-1.api")

    down(tmp_path)  # the recorded function's outputs move to deleted_outputs
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    api = listed(data, "logs:log-group", "/aws/lambda/api")
    assert (api["component"], api["region"], api["hourly_usd"], api["free"]) == ("api", "us-east-1", 0.0, False)
    assert api["attrs"]["parent"] == "Lambda function api"
    assert listed(data, "logs:log-group", "/aws/lambda/worker")["component"] == "jobs"
    assert not ids(data) & {"/aws/lambda/api-2", "/aws/lambda/worker-2", "/aws/lambda/us-east-1.api"}
    assert data["unpriced"] == 0


def test_rds_log_exports_of_a_deleted_instance_and_cluster(tmp_path, aws):
    db = {"install.sh": """
echo "ORDERS_DB_INSTANCE_ID=orders" >> "$ENVCTL_OUTPUT"
echo "EVENTS_DB_CLUSTER_ID=events" >> "$ENVCTL_OUTPUT"
"""}
    environment(tmp_path, {"db": db})
    up(tmp_path)
    groups("/aws/rds/instance/orders/postgresql", "/aws/rds/instance/orders/upgrade",
           "/aws/rds/cluster/events/postgresql", "/aws/rds/instance/orders-2/postgresql",
           "/aws/rds/cluster/events-2/postgresql")
    client("logs").tag_log_group(logGroupName="/aws/rds/instance/orders/upgrade", tags={"envctl:env": "prod"})

    down(tmp_path)
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    for name in ("/aws/rds/instance/orders/postgresql", "/aws/rds/cluster/events/postgresql"):
        item = listed(data, "logs:log-group", name)
        assert (item["component"], item["region"], item["hourly_usd"]) == ("db", "us-east-1", 0.0)
    assert ids(data) == {"/aws/rds/instance/orders/postgresql", "/aws/rds/cluster/events/postgresql"}


def test_ecs_container_insights_group_of_a_recorded_cluster(tmp_path, aws):
    environment(tmp_path, {"ecs": {"install.sh": 'echo "ECS_CLUSTER_NAME=web" >> "$ENVCTL_OUTPUT"\n'}})
    up(tmp_path)
    groups("/aws/ecs/containerinsights/web/performance", "/aws/ecs/containerinsights/web-2/performance")

    down(tmp_path)
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    item = listed(data, "logs:log-group", "/aws/ecs/containerinsights/web/performance")
    assert (item["component"], item["orphan_of"], item["hourly_usd"]) == ("ecs", "web", 0.0)
    assert ids(data) == {"/aws/ecs/containerinsights/web/performance"}
