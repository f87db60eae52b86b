"""verify in a crowded account: what it costs must not grow with what other teams own.

    python benchmarks/bench_verify_crowded.py              # 8,000 resources of others, 12 of the environment
    python benchmarks/bench_verify_crowded.py --others 2000

Starts a moto server of its own on a free port (stopped at the end) that counts the requests it serves by
caller (envctl's boto3 calls apart from the scripts' `aws` CLI calls). Fills the account with resources of
other teams (IAM roles, policies and instance profiles among them, EC2, logs, secrets, KMS, S3, ECR, ...),
then brings up an environment of 6 components whose own scripts make 12 resources, and measures:

- one tag-filtered listing of the account, as a person types it: `aws resourcegroupstaggingapi get-resources
  --tag-filters Key=envctl:env,Values=bench`, the whole command (median of 5);
- `envctl verify bench --json`, the whole command (median of 5), and its API calls;
- `down` of the environment (per-delete leak listings and the final verify): envctl's own API calls.

Targets: verify <= 300 calls and <= 3x the listing's time (whole commands, each as a user runs it); down <= 2x
one verify's calls. Also shown, not a target: both as calls inside one process (verify's core call against a
single GetResources call, which reads no IAM, no EC2 and no untagged orphan).
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks._common import free_port  # noqa: E402 (needs the path set just above)
from benchmarks._common import start_server as start_common  # noqa: E402

REGION = "us-east-1"
ENV = "bench"
POLICY = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
ENV_TAGS = '--tags "$ENVCTL_TAGS_JSON"'

# ------------------------------------------------------------------ the server, counting by caller


def serve(port: int) -> None:
    """Run moto's server app behind a counter: GET /bench/counts, POST /bench/counts to reset."""
    from moto.moto_server.threaded_moto_server import DomainDispatcherApplication, create_backend_app
    from moto.server import MotoRequestHandler  # type: ignore[attr-defined]
    from werkzeug.serving import run_simple

    app = DomainDispatcherApplication(create_backend_app)
    counts: dict[str, int] = {"envctl": 0, "aws-cli": 0}
    lock = threading.Lock()

    def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == "/bench/counts":
            with lock:
                body = json.dumps(counts).encode()
                if environ.get("REQUEST_METHOD") == "POST":
                    counts.update(dict.fromkeys(counts, 0))
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            caller = "aws-cli" if str(environ.get("HTTP_USER_AGENT", "")).startswith("aws-cli/") else "envctl"
            with lock:
                counts[caller] += 1
        return app(environ, start_response)

    run_simple("127.0.0.1", port, counted, threaded=True, request_handler=MotoRequestHandler)


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return start_common([sys.executable, __file__, "--serve", str(port)], url + "/bench/counts"), url


def counts(url: str, *, reset: bool = False) -> dict[str, int]:
    req = urllib.request.Request(url + "/bench/counts", method="POST" if reset else "GET",
                                 data=b"" if reset else None)
    return dict(json.loads(urllib.request.urlopen(req, timeout=10).read()))


# ------------------------------------------------------------------ the account's other tenants


def client_factory(url: str) -> Callable[[str], Any]:
    import boto3
    from botocore.config import Config

    session, lock, cache = boto3.session.Session(), threading.Lock(), {}
    config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32)

    def client(service: str) -> Any:
        with lock:
            if service not in cache:
                cache[service] = session.client(service, region_name=REGION, endpoint_url=url, config=config,
                                                aws_access_key_id="testing", aws_secret_access_key="testing")
            return cache[service]

    return client


def others_tags(i: int) -> list[dict[str, str]]:
    """Other environments' tags (lookalikes of ``bench`` among them), a team tag, or none at all."""
    kind = i % 4
    if kind == 0:
        return [{"Key": "envctl:env", "Value": ("bench2", "benc", "bench-old", f"team{i % 37}")[i % 8 // 2]},
                {"Key": "envctl:component", "Value": "app"}]
    if kind == 1:
        return [{"Key": "team", "Value": f"t{i % 11}"}]
    return []


# family -> (how many, maker(i)); 8,000 in all at the default scale
def makers(client: Callable[[str], Any], vpc: str) -> dict[str, tuple[int, Callable[[int], Any]]]:
    def spec(kind: str, i: int) -> dict[str, Any]:
        tags = others_tags(i)
        return {"TagSpecifications": [{"ResourceType": kind, "Tags": tags}]} if tags else {}

    def kv(i: int) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in others_tags(i)}

    def bucket(i: int) -> None:
        client("s3").create_bucket(Bucket=f"others-{i}")
        if others_tags(i):
            client("s3").put_bucket_tagging(Bucket=f"others-{i}", Tagging={"TagSet": others_tags(i)})

    iam, ec2 = client("iam"), client("ec2")
    return {
        "iam:role": (1500, lambda i: iam.create_role(RoleName=f"others-role-{i}", AssumeRolePolicyDocument="{}",
                                                     Tags=others_tags(i))),
        "iam:policy": (1500, lambda i: iam.create_policy(PolicyName=f"others-policy-{i}", PolicyDocument=POLICY,
                                                         Tags=others_tags(i))),
        "iam:instance-profile": (300, lambda i: iam.create_instance_profile(
            InstanceProfileName=f"others-profile-{i}", Tags=others_tags(i))),
        "iam:oidc-provider": (20, lambda i: iam.create_open_id_connect_provider(
            Url=f"https://oidc.eks.{REGION}.amazonaws.com/id/{i:032X}", ThumbprintList=["a" * 40],
            Tags=others_tags(i))),
        "ec2:security-group": (1000, lambda i: ec2.create_security_group(
            GroupName=f"others-{i}", Description="others", VpcId=vpc, **spec("security-group", i))),
        "ec2:volume": (1000, lambda i: ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8,
                                                         **spec("volume", i))),
        "ec2:subnet": (100, lambda i: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", **spec("subnet", i))),
        "ec2:elastic-ip": (100, lambda i: ec2.allocate_address(Domain="vpc", **spec("elastic-ip", i))),
        "ec2:launch-template": (100, lambda i: ec2.create_launch_template(
            LaunchTemplateName=f"others-{i}", LaunchTemplateData={"InstanceType": "t3.small"},
            **spec("launch-template", i))),
        "logs:log-group": (1200, lambda i: client("logs").create_log_group(logGroupName=f"/others/{i}",
                                                                           tags=kv(i))),
        "secretsmanager:secret": (300, lambda i: client("secretsmanager").create_secret(
            Name=f"others-{i}", SecretString="x", Tags=others_tags(i))),
        "kms:key": (200, lambda i: client("kms").create_key(
            Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in others_tags(i)])),
        "s3:bucket": (300, bucket),
        "ecr:repository": (100, lambda i: client("ecr").create_repository(
            repositoryName=f"others/{i}", tags=others_tags(i))),
        "route53:hostedzone": (50, lambda i: client("route53").create_hosted_zone(
            Name=f"others-{i}.example.com", CallerReference=str(i))),
        "dynamodb:table": (220, lambda i: client("dynamodb").create_table(
            TableName=f"others-{i}", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], **({"Tags": others_tags(i)} if others_tags(i)
                                                                       else {}))),
        "eks:cluster": (10, lambda i: client("eks").create_cluster(
            name=f"others-{i}", roleArn="arn:aws:iam::123456789012:role/eks", resourcesVpcConfig={"subnetIds": []},
            tags=kv(i) or {"team": "x"})),
    }


def fill_account(url: str, total: int) -> tuple[int, float]:
    """Create ``total`` resources of others (the default mix scaled), on 16 threads. Returns (count, seconds)."""
    client = client_factory(url)
    vpc = client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    table = makers(client, vpc)
    scale = total / sum(n for n, _ in table.values())
    jobs = [(make, i) for n, make in table.values() for i in range(max(1, round(n * scale)))]
    def make(job: tuple[Callable[[int], Any], int]) -> None:
        for attempt in range(4):  # the server answers an HTML 500 now and then under 16 writers: try again
            try:
                job[0](job[1])
                return
            except Exception:
                if attempt == 3:
                    raise
                time.sleep(0.2)

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(make, jobs))
    return len(jobs) + 1, time.monotonic() - t0


# ------------------------------------------------------------------ the environment: 6 components, 12 resources

SCRIPTS: dict[str, dict[str, str]] = {
    "network": {
        "install": """
            vpc=$(aws ec2 create-vpc --cidr-block 10.20.0.0/16 --query Vpc.VpcId --output text \\
              --tag-specifications "$(spec vpc)")
            subnet=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.20.1.0/24 --query Subnet.SubnetId \\
              --output text --tag-specifications "$(spec subnet)")
            printf 'VPC_ID=%s\\nSUBNET_ID=%s\\n' "$vpc" "$subnet" >> "$ENVCTL_OUTPUT"
            """,
        "delete": """
            aws ec2 delete-subnet --subnet-id "$NETWORK_SUBNET_ID"
            aws ec2 delete-vpc --vpc-id "$NETWORK_VPC_ID"
            """,
    },
    "security": {
        "install": """
            sg=$(aws ec2 create-security-group --group-name bench-app --description app --vpc-id "$NETWORK_VPC_ID" \\
              --query GroupId --output text --tag-specifications "$(spec security-group)")
            eni=$(aws ec2 create-network-interface --subnet-id "$NETWORK_SUBNET_ID" --groups "$sg" \\
              --query NetworkInterface.NetworkInterfaceId --output text \\
              --tag-specifications "$(spec network-interface)")
            printf 'SG_ID=%s\\nENI_ID=%s\\n' "$sg" "$eni" >> "$ENVCTL_OUTPUT"
            """,
        "delete": """
            aws ec2 delete-network-interface --network-interface-id "$SECURITY_ENI_ID"
            aws ec2 delete-security-group --group-id "$SECURITY_SG_ID"
            """,
    },
    "storage": {
        "install": """
            vol=$(aws ec2 create-volume --availability-zone us-east-1a --size 20 --volume-type gp3 \\
              --query VolumeId --output text --tag-specifications "$(spec volume)")
            snap=$(aws ec2 create-snapshot --volume-id "$vol" --query SnapshotId --output text \\
              --tag-specifications "$(spec snapshot)")
            printf 'VOLUME_ID=%s\\nSNAPSHOT_ID=%s\\n' "$vol" "$snap" >> "$ENVCTL_OUTPUT"
            """,
        "delete": """
            aws ec2 delete-snapshot --snapshot-id "$STORAGE_SNAPSHOT_ID"
            aws ec2 delete-volume --volume-id "$STORAGE_VOLUME_ID"
            """,
    },
    "identity": {
        "install": f"""
            aws iam create-role --role-name bench-app --assume-role-policy-document '{{}}' {ENV_TAGS} >/dev/null
            aws iam create-policy --policy-name bench-app --policy-document '{POLICY}' {ENV_TAGS} >/dev/null
            """,
        "delete": """
            aws iam delete-role --role-name bench-app
            aws iam delete-policy --policy-arn "arn:aws:iam::123456789012:policy/bench-app"
            """,
    },
    "logs": {
        "install": """
            aws logs create-log-group --log-group-name /bench/app --tags "$ENVCTL_TAGS_KV"
            aws secretsmanager create-secret --name bench/app --secret-string x --tags "$ENVCTL_TAGS_JSON" >/dev/null
            """,
        "delete": """
            aws logs delete-log-group --log-group-name /bench/app
            aws secretsmanager delete-secret --secret-id bench/app --force-delete-without-recovery >/dev/null
            """,
    },
    "edge": {
        "install": """
            aws ecr create-repository --repository-name bench/app --tags "$ENVCTL_TAGS_JSON" >/dev/null
            eip=$(aws ec2 allocate-address --domain vpc --query AllocationId --output text \\
              --tag-specifications "$(spec elastic-ip)")
            printf 'EIP_ID=%s\\n' "$eip" >> "$ENVCTL_OUTPUT"
            """,
        "delete": """
            aws ecr delete-repository --repository-name bench/app --force >/dev/null
            aws ec2 release-address --allocation-id "$EDGE_EIP_ID"
            """,
    },
}
DEPENDS = {"security": ["network"]}
PRELUDE = """spec() { printf '[{"ResourceType":"%s","Tags":%s}]' "$1" "$ENVCTL_TAGS_JSON"; }\n"""


def write_environment(root: Path, url: str) -> None:
    env_dir = root / "environments" / ENV
    lines = [f"name: {ENV}", f"region: {REGION}",
             f'aws: {{target: account, account_id: "123456789012", endpoint_url: "{url}"}}', "components:"]
    for comp, scripts in SCRIPTS.items():
        lines.append(f"  {comp}: {{depends_on: [{', '.join(DEPENDS.get(comp, []))}]}}")
        for action, body in scripts.items():
            path = env_dir / comp / f"{action}-{comp}.sh"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + PRELUDE + textwrap.dedent(body).lstrip("\n"))
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
    (env_dir / "env.yaml").write_text("\n".join(lines) + "\n")


def clean_environ(url: str) -> dict[str, str]:
    """An explicit environment for envctl and its scripts: nothing inherited but PATH, HOME and the locale."""
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": os.environ.get("LANG", "C.UTF-8"), "PYTHONPATH": str(REPO),
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": url, "AWS_MAX_ATTEMPTS": "2", "NO_COLOR": "1"}


def envctl(root: Path, url: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "envctl", "--root", str(root), *args], env=clean_environ(url),
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    return time.monotonic() - t0, proc


# ------------------------------------------------------------------ measuring


def time_listing(url: str, runs: int = 5) -> tuple[float, int, int]:
    """One tag-filtered listing of the account, as a person would run it: (median seconds, calls, hits)."""
    tagging = client_factory(url)("resourcegroupstaggingapi")
    times, calls, hits = [], 0, 0
    for _ in range(runs):
        t0 = time.monotonic()
        pages = list(tagging.get_paginator("get_resources").paginate(
            TagFilters=[{"Key": "envctl:env", "Values": [ENV]}]))
        times.append(time.monotonic() - t0)
        calls, hits = len(pages), sum(len(p["ResourceTagMappingList"]) for p in pages)
    return statistics.median(times), calls, hits


def time_cli_listing(url: str) -> float:
    """The same listing as a person types it: the stock ``aws`` CLI, whole command (seconds)."""
    argv = [sys.executable, "-m", "awscli", "resourcegroupstaggingapi", "get-resources", "--tag-filters",
            f"Key=envctl:env,Values={ENV}", "--output", "json"]
    t0 = time.monotonic()
    subprocess.run(argv, env=clean_environ(url), check=True, capture_output=True, timeout=120)
    return time.monotonic() - t0


def time_whole_commands(root: Path, url: str, rounds: int = 5) -> tuple[float, float, float, Any]:
    """The aws CLI listing and ``envctl verify --json`` in turn, ``rounds`` times (pairs share the machine's
    weather): (median listing s, median verify s, median of the pairs' ratios, the last verify's process)."""
    listing, verify, ratios, last = [], [], [], None
    for _ in range(rounds):
        listing.append(time_cli_listing(url))
        took, last = envctl(root, url, "verify", ENV, "--json")
        verify.append(took)
        ratios.append(took / listing[-1])
    return statistics.median(listing), statistics.median(verify), statistics.median(ratios), last


def time_verify(root: Path, url: str, runs: int = 3) -> tuple[float, int, Any]:
    """The core call behind ``envctl verify`` (fresh clients each run): (median seconds, calls, report)."""
    from envctl.config.load import load_environment
    from envctl.teardown.verify import verify_environment

    os.environ.update({k: v for k, v in clean_environ(url).items() if k.startswith("AWS_")})
    env = load_environment(root, ENV)
    times, calls, report = [], 0, None
    for _ in range(runs):
        counts(url, reset=True)
        t0 = time.monotonic()
        report = verify_environment(env, root)
        times.append(time.monotonic() - t0)
        calls = counts(url)["envctl"]
    return statistics.median(times), calls, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--others", type=int, default=8000, help="resources of others (default 8000)")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    proc, url = start_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            return run(Path(tmp), url, args.others)
    finally:
        proc.terminate()
        proc.wait(10)


def check(up: subprocess.CompletedProcess[str], what: str) -> None:
    if up.returncode not in (0, 5):
        sys.stderr.write(up.stdout + up.stderr)
        raise SystemExit(f"{what} failed with exit {up.returncode}")


def run(root: Path, url: str, others: int) -> int:
    made, fill_s = fill_account(url, others - 1)
    print(f"account: {made} resources of others created in {fill_s:.1f} s")
    write_environment(root, url)
    up_s, up = envctl(root, url, "up", ENV)
    check(up, "envctl up")
    print(f"environment: envctl up {ENV} ({len(SCRIPTS)} components) in {up_s:.1f} s")

    list_s, list_calls, hits = time_listing(url)
    verify_s, verify_calls, report = time_verify(root, url)
    found = len(report.items)
    aws_cli_s, cli_s, ratio_cli, cli = time_whole_commands(root, url)
    counts(url, reset=True)
    down_s, down = envctl(root, url, "down", ENV, "--yes")
    check(down, "envctl down")
    down_calls = counts(url)
    print(f"{'what':<44} {'API calls':>9} {'seconds':>8}")
    print(f"{'one tag-filtered listing (GetResources)':<44} {list_calls:>9} {list_s:>8.3f}   {hits} hits")
    print(f"{'verify (core call, median of 3)':<44} {verify_calls:>9} {verify_s:>8.3f}   {found} found, "
          f"{len(report.errors)} failed checks")
    print(f"{'aws resourcegroupstaggingapi get-resources':<44} {list_calls:>9} {aws_cli_s:>8.3f}   "
          "whole command, median of 5")
    print(f"{'envctl verify --json (whole command)':<44} {verify_calls:>9} {cli_s:>8.3f}   "
          f"median of 5, exit {cli.returncode}")
    print(f"{'envctl down (envctl calls; scripts apart)':<44} {down_calls['envctl']:>9} {down_s:>8.3f}   "
          f"scripts: {down_calls['aws-cli']} calls, exit {down.returncode}")
    ratio_t, ratio_down = verify_s / list_s, down_calls["envctl"] / verify_calls
    print(f"in one process (not a target): verify's core call {ratio_t:.0f}x one GetResources call")
    goals = [(f"verify calls {verify_calls} <= 300", verify_calls <= 300),
             (f"envctl verify {ratio_cli:.1f}x the aws CLI listing's <= 3x (whole commands, median of 5 pairs)",
              ratio_cli <= 3),
             (f"down calls {ratio_down:.2f}x one verify's <= 2x", ratio_down <= 2),
             (f"verify found the environment's 12 resources ({found})", found == 12),
             ("down ended clean (exit 0)", down.returncode == 0)]
    for text, ok in goals:
        print(f"{'ok  ' if ok else 'MISS'} {text}")
    return 0 if all(ok for _, ok in goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
