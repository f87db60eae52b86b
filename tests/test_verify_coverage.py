"""What verify covered, and saying so: regions, partitions, checks that failed (exit 6), lookalikes."""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import boto3
import pytest

from tests.conftest import make_env, run_cli

pytestmark = pytest.mark.sandbox

POLICY_DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}'


def trivial(comp: str) -> dict[str, str]:
    return {f"install-{comp}.sh": "true\n", f"delete-{comp}.sh": "true\n"}


def project(root: Path, *, region: str = "us-east-1", extra: str = "", aws: str = "{target: sandbox}") -> Path:
    make_env(root, "test", f"""
    name: test
    region: {region}
    aws: {aws}
    vars: {{CLUSTER_NAME: demo}}
    components:
      network: {{}}
      app: {{depends_on: [network]}}
    {extra}
    """, {c: trivial(c) for c in ("network", "app")})
    return root


def tags(component: str = "app", env: str = "test") -> list[dict[str, str]]:
    return [{"Key": "envctl:env", "Value": env}, {"Key": "envctl:component", "Value": component}]


def volume(region: str, env: str = "test") -> str:
    ec2 = boto3.client("ec2", region_name=region)
    return ec2.create_volume(AvailabilityZone=f"{region}a", Size=10, VolumeType="gp3", TagSpecifications=[
        {"ResourceType": "volume", "Tags": tags(env=env)}])["VolumeId"]


def verify_json(root: Path, *args: str) -> tuple[int, dict]:
    res = run_cli("verify", "test", "--json", *args, root=root)
    assert res.exit_code in (0, 5, 6), res.output
    return res.exit_code, json.loads(res.stdout)


# ---------------------------------------------------------------- regions


def test_a_leftover_in_a_second_configured_region_is_found_with_its_region(tmp_path, aws):
    root = project(tmp_path, extra="verify: {regions: [us-west-2]}")
    west = volume("us-west-2")

    code, data = verify_json(root)
    assert code == 5
    [res] = data["resources"]
    assert (res["id"], res["region"], res["component"]) == (west, "us-west-2", "app")
    assert res["arn"].startswith("arn:aws:ec2:us-west-2:") and res["monthly_usd"] is not None
    assert data["complete"] is True
    assert data["coverage"]["regions"] == ["us-east-1", "us-west-2", "global"]
    assert data["coverage"]["failed"] == [] and "tagging" in data["coverage"]["checks"]


@pytest.mark.parametrize(("block", "key", "says"), [
    ("verify: {regions: us-west-2}", "verify.regions", "must be a list"),
    ("verify: {regions: [us-west]}", "verify.regions[0]", "not an AWS region"),
    ("verify: {regions: [us-west-2, cn-north-1]}", "verify.regions[1]", "aws-cn"),
    ("verify: {region: [us-west-2]}", "verify.region", "unknown key"),
])
def test_bad_verify_regions_are_refused_naming_file_and_key(tmp_path, block, key, says):
    root = project(tmp_path, extra=block)
    res = run_cli("verify", "test", root=root)
    assert res.exit_code == 2
    assert "env.yaml" in res.stderr and key in res.stderr and says in res.stderr
    assert "Traceback" not in res.output


def test_arns_follow_the_partition_of_the_region(tmp_path, aws):
    root = project(tmp_path, region="cn-north-1")
    ec2 = boto3.client("ec2", region_name="cn-north-1")
    ec2.allocate_address(Domain="vpc", TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": tags("network")}])
    boto3.client("iam", region_name="cn-north-1").create_policy(PolicyName="app", PolicyDocument=POLICY_DOC,
                                                                Tags=tags())

    code, data = verify_json(root)
    assert code == 5
    arns = {r["type"]: r["arn"] for r in data["resources"]}
    assert set(arns) == {"ec2:elastic-ip", "iam:policy"}
    assert arns["ec2:elastic-ip"].startswith("arn:aws-cn:ec2:cn-north-1:")
    assert arns["iam:policy"].startswith("arn:aws-cn:iam::")
    assert data["coverage"]["regions"] == ["cn-north-1", "global"]


# ---------------------------------------------------------------- precision


def test_lookalikes_of_other_environments_are_never_listed(tmp_path, aws):
    root = project(tmp_path)
    iam, logs, sm = boto3.client("iam"), boto3.client("logs"), boto3.client("secretsmanager")
    for env in ("test2", "tes", "test-old", "TEST"):
        volume("us-east-1", env=env)
        iam.create_role(RoleName=f"role-{env}", AssumeRolePolicyDocument="{}", Tags=tags(env=env))
        iam.create_policy(PolicyName=f"policy-{env}", PolicyDocument=POLICY_DOC, Tags=tags(env=env))
        sm.create_secret(Name=f"secret-{env}", SecretString="x", Tags=tags(env=env))
        logs.create_log_group(logGroupName=f"/app/{env}", tags={"envctl:env": env})
    logs.create_log_group(logGroupName="/aws/eks/demo2/cluster")  # a cluster whose name shares a prefix
    mine = iam.create_policy(PolicyName="mine", PolicyDocument=POLICY_DOC, Tags=tags())["Policy"]["Arn"]

    code, data = verify_json(root)
    assert code == 5
    assert [r["arn"] for r in data["resources"]] == [mine]


# ---------------------------------------------------------------- a check that cannot run: exit 6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _own_moto(environ: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env={"PATH": os.environ.get("PATH", ""), **environ},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/data.json", timeout=1).read()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "moto did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def enforcing_moto() -> Iterator[str]:
    """A moto server of this test's own that enforces IAM after the first 4 requests (the setup below)."""
    yield from _own_moto({"INITIAL_NO_AUTH_ACTION_COUNT": "4"})


@pytest.fixture
def own_moto() -> Iterator[str]:
    """A moto server of this test's own (a look at every region leaves the shared sandbox slow to reset)."""
    yield from _own_moto({})


def restricted_user(url: str, *denied: str) -> dict[str, str]:
    """A user allowed everything but ``denied``: the 4 unauthenticated setup calls, then its keys."""
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    iam.create_user(UserName="verifier")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                                                  {"Effect": "Deny", "Action": list(denied), "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="verifier", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="verifier", PolicyArn=arn)
    key = iam.create_access_key(UserName="verifier")["AccessKey"]
    return {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
            "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None, "AWS_ENDPOINT_URL": None,  # type: ignore[dict-item]
            "AWS_DEFAULT_REGION": "us-east-1"}


def account_project(root: Path, url: str) -> Path:
    return project(root, aws=f'{{target: account, account_id: "123456789012", endpoint_url: "{url}"}}')


def test_a_denied_check_is_incomplete_exit_6_never_clean(tmp_path, enforcing_moto):
    root = account_project(tmp_path, enforcing_moto)
    creds = restricted_user(enforcing_moto, "iam:GetAccountAuthorizationDetails")

    res = run_cli("verify", "test", "--json", root=root, env=creds)
    assert res.exit_code == 6, res.output
    data = json.loads(res.stdout)
    assert data["clean"] is False and data["complete"] is False and data["resources"] == []
    # (Under enforcement the sandbox also rejects the signature of its EKS and Route 53 calls: more failures.)
    failed = {f["check"]: f for f in data["coverage"]["failed"]}
    assert failed["iam-roles@global"]["region"] == "global"
    assert "AccessDenied" in failed["iam-roles@global"]["message"]
    assert "GetAccountAuthorizationDetails" in failed["iam-roles@global"]["message"]
    assert "tagging@us-east-1" not in failed and "tagging" in data["coverage"]["checks"]

    text = run_cli("verify", "test", root=root, env=creds)
    assert text.exit_code == 6
    assert "CLEAN" not in text.stdout.replace("NOT CLEAN", "")
    assert "UNKNOWN: nothing of test found in us-east-1 (+ global), but " in text.stdout
    assert "so $0 is not proven" in text.stdout and "iam-roles@global" in text.stdout
    md = run_cli("verify", "test", "--markdown", root=root, env=creds)
    assert md.exit_code == 6 and "Failed check `iam-roles@global`: " in md.stdout


def test_leftovers_win_over_an_incomplete_check_and_down_ends_6_when_nothing_is_found(tmp_path, enforcing_moto):
    root = account_project(tmp_path, enforcing_moto)
    # roles are listed once a first bring-up is on record (read in bulk before): both are denied
    creds = restricted_user(enforcing_moto, "iam:ListRoles", "iam:GetAccountAuthorizationDetails")
    up = run_cli("up", "test", root=root, env=creds)
    assert up.exit_code == 0, up.output

    down = run_cli("down", "test", "--yes", root=root, env=creds)
    assert down.exit_code == 6, down.output
    assert "UNKNOWN: nothing of test found" in down.output and "iam-roles@global" in down.output

    ec2 = boto3.client("ec2", endpoint_url=enforcing_moto, region_name="us-east-1",
                       aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"])
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, TagSpecifications=[
        {"ResourceType": "volume", "Tags": tags()}])
    res = run_cli("verify", "test", "--json", root=root, env=creds)
    assert res.exit_code == 5, res.output
    data = json.loads(res.stdout)
    assert data["complete"] is False and len(data["resources"]) == 1
    assert "so there may be more" in run_cli("verify", "test", root=root, env=creds).stdout


# ---------------------------------------------------------------- throttling


class _Throttling(http.server.BaseHTTPRequestHandler):
    """In front of a moto server, as a real account's rate limits are: the first request of every operation
    gets its service's throttling error, in the shape its protocol has on AWS; the retry goes through."""

    upstream = ""
    seen: ClassVar[set[str]] = set()
    throttled: ClassVar[list[str]] = []
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        auth = self.headers.get("Authorization") or ""
        service = auth.split("Credential=", 1)[-1].split("/")[3] if "Credential=" in auth else "?"
        target = self.headers.get("X-Amz-Target")
        action = urllib.parse.parse_qs(body.decode("latin-1")).get("Action", [""])[0]
        operation = f"{service}:{target or action or self.command + ' ' + self.path.split('?')[0]}"
        if operation not in self.seen:
            self.seen.add(operation)
            self.throttled.append(operation)
            return self._reply(*self._throttle(service, target, action))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(self.upstream + self.path, method=self.command, headers=headers,
                                         data=body if body or self.command in ("POST", "PUT") else None)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, got, data = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as err:
            status, got, data = err.code, err.headers, err.read()
        self._reply(status, {k: v for k, v in got.items()
                             if k.lower() not in ("content-length", "transfer-encoding", "connection")}, data)

    @staticmethod
    def _throttle(service: str, target: str | None, action: str) -> tuple[int, dict[str, str], bytes]:
        if target:  # JSON protocol (the tagging API, KMS, ECR, logs, ...)
            return 400, {"Content-Type": "application/x-amz-json-1.1"}, \
                b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        if action and service == "ec2":
            return 503, {"Content-Type": "text/xml"}, (b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                                                       b"<Message>Request limit exceeded.</Message></Error></Errors>"
                                                       b"<RequestID>1</RequestID></Response>")
        if action or service == "route53":  # query protocol (IAM, STS, ...), and Route 53's REST-XML
            return 400, {"Content-Type": "text/xml"}, (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling"
                                                       b"</Code><Message>Rate exceeded</Message></Error>"
                                                       b"<RequestId>1</RequestId></ErrorResponse>")
        if service == "s3":
            return 503, {"Content-Type": "application/xml"}, (b"<Error><Code>SlowDown</Code><Message>Please reduce "
                                                              b"your request rate.</Message></Error>")
        return 429, {"Content-Type": "application/json", "x-amzn-ErrorType": "ThrottlingException"}, \
            b'{"message":"Rate exceeded"}'  # REST-JSON (EKS, Lambda, ...)

    def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def throttling(aws: str) -> Iterator[str]:
    _Throttling.upstream, _Throttling.seen, _Throttling.throttled = aws, set(), []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_throttled_account_is_still_looked_at_whole(tmp_path: Path, aws: str, throttling: str) -> None:
    """Every kind of call verify makes is throttled once: it backs off, retries, and its answer is the
    unthrottled one: the leftover found, every check complete, nothing taken as missing."""
    root = account_project(tmp_path, throttling)
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": None,
             "AWS_PROFILE": None, "AWS_ENDPOINT_URL": None, "AWS_DEFAULT_REGION": "us-east-1"}
    left = volume("us-east-1")  # made directly, not through the throttling
    res = run_cli("verify", "test", "--json", root=root, env=creds)  # type: ignore[arg-type]
    assert res.exit_code == 5, res.output
    data = json.loads(res.stdout)
    assert data["complete"] is True and data["coverage"]["failed"] == []
    assert [r["id"] for r in data["resources"]] == [left]
    services = {op.split(":")[0] for op in _Throttling.throttled}
    assert {"tagging", "ec2", "iam", "sts"} <= services, _Throttling.throttled


# ---------------------------------------------------------------- scale: others' IAM costs no call each


def _others_iam(count: int) -> None:
    iam = boto3.client("iam")
    for i in range(count):
        iam.create_role(RoleName=f"others-{i}", AssumeRolePolicyDocument="{}", Tags=tags(env=f"team{i}"))
        iam.create_policy(PolicyName=f"others-{i}", PolicyDocument=POLICY_DOC, Tags=tags(env=f"team{i}"))
        iam.create_instance_profile(InstanceProfileName=f"others-{i}")


def _calls_of_verify_after_up(root: Path) -> tuple[int, list[str]]:
    make_env(root, "test", """
    name: test
    region: us-east-1
    aws: {target: sandbox}
    components:
      app: {}
    """, {"app": {
        "install-app.sh": f"aws iam create-policy --policy-name app --policy-document '{POLICY_DOC}' "
                          "--tags \"$ENVCTL_TAGS_JSON\" >/dev/null\n",
        "delete-app.sh": "aws iam delete-policy --policy-arn arn:aws:iam::123456789012:policy/app\n"}})
    assert run_cli("up", "test", root=root).exit_code == 0
    code, data = verify_json(root)
    assert code == 5
    return data["api_calls"], [r["id"] for r in data["resources"]]


def test_verify_calls_do_not_grow_with_iam_of_others_older_than_the_environment(tmp_path, aws):
    alone = _calls_of_verify_after_up(tmp_path / "alone")
    run_cli("down", "test", "--yes", "--no-verify", root=tmp_path / "alone")
    _others_iam(25)
    time.sleep(2.5)  # older than the environment's first bring-up by more than envctl's clock slack (2 s)
    crowded = _calls_of_verify_after_up(tmp_path / "crowded")
    assert alone == crowded and crowded[1] == ["app"]


def test_roles_made_since_the_first_bring_up_cost_no_call_each_when_they_are_many(tmp_path, aws):
    make_env(tmp_path, "test", """
    name: test
    region: us-east-1
    aws: {target: sandbox}
    components:
      app: {}
    """, {"app": {
        "install-app.sh": "aws iam create-role --role-name app --assume-role-policy-document '{}' "
                          "--tags \"$ENVCTL_TAGS_JSON\" >/dev/null\n",
        "delete-app.sh": "aws iam delete-role --role-name app\n"}})
    assert run_cli("up", "test", root=tmp_path).exit_code == 0

    def roles_found() -> tuple[int, list[tuple[str, str | None]]]:
        code, data = verify_json(tmp_path)
        assert code == 5 and data["complete"] is True
        return data["api_calls"], [(r["id"], r["component"]) for r in data["resources"] if r["type"] == "iam:role"]

    calls, found = roles_found()
    assert found == [("app", "app")]
    iam = boto3.client("iam")
    for i in range(60):  # another team's busy afternoon, after the environment came up
        iam.create_role(RoleName=f"others-new-{i}", AssumeRolePolicyDocument="{}", Tags=tags(env=f"team{i}"))
    assert roles_found() == (calls, [("app", "app")])  # read in bulk now: the same calls, not 60 more


def test_a_region_not_covered_is_never_claimed_and_all_regions_finds_it(tmp_path, own_moto):
    root = project(tmp_path, extra="verify: {regions: [us-west-2]}",
                   aws=f'{{target: account, account_id: "123456789012", endpoint_url: "{own_moto}"}}')
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_PROFILE": None,
             "AWS_SESSION_TOKEN": None, "AWS_ENDPOINT_URL": None}
    ec2 = boto3.client("ec2", endpoint_url=own_moto, region_name="eu-west-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    ireland = ec2.create_volume(AvailabilityZone="eu-west-1a", Size=10, TagSpecifications=[
        {"ResourceType": "volume", "Tags": tags()}])["VolumeId"]

    text = run_cli("verify", "test", root=root, env=creds)
    assert text.exit_code == 0, text.output
    assert "CLEAN: nothing of test is left in us-east-1, us-west-2 (+ global), $0/h" in text.stdout
    assert "eu-west-1" not in text.stdout
    md = run_cli("verify", "test", "--markdown", root=root, env=creds)
    assert md.exit_code == 0
    assert "Checked: `us-east-1`, `us-west-2` and the global services" in md.stdout
    assert "Not checked: every other region" in md.stdout and "--all-regions" in md.stdout

    res = run_cli("verify", "test", "--json", "--all-regions", root=root, env=creds)
    assert res.exit_code == 5, res.output
    data = json.loads(res.stdout)
    assert [(r["id"], r["region"]) for r in data["resources"]] == [(ireland, "eu-west-1")]
    covered = data["coverage"]["regions"]
    assert data["coverage"]["all_regions"] is True and data["complete"] is True
    assert {"us-east-1", "us-west-2", "eu-west-1", "global"} <= set(covered)
    # Only regions enabled for the account: the server reports the opt-in regions as not opted in.
    assert "ap-east-1" not in covered and "me-south-1" not in covered


def test_print_policy_grants_the_bulk_iam_read_the_region_listing_and_downs_rechecks(tmp_path):
    res = run_cli("verify", "--print-policy", root=tmp_path)
    assert res.exit_code == 0
    actions = json.loads(res.stdout)["Statement"][0]["Action"]
    assert {"iam:GetAccountAuthorizationDetails", "ec2:DescribeRegions", "iam:GetRole", "iam:GetPolicy",
            "eks:DescribeCluster", "tag:GetResources"} <= set(actions)
    assert "iam:ListRoleTags" not in actions  # no call per role any more
