"""How verify scales: collect + report over N tagged resources of 10 types in a sandbox of its own.

    python benchmarks/bench_verify.py                 # 500 and 2,000 resources
    python benchmarks/bench_verify.py --sizes 100,400 # quicker

Starts its own moto server on a free port (stopped at the end), creates the resources in parallel, then times
``envctl.inventory.collect`` + ``envctl.teardown.report.build_report`` and counts the API calls they send. Prints how
wall time and calls grow between the smallest and the largest size (the claim: at most linearly).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import free_port
from benchmarks._common import start_server as start_common

REGION = "us-east-1"
ENV = "bench"
TYPES = ("ec2:volume", "ec2:security-group", "ec2:subnet", "ec2:elastic-ip", "ec2:launch-template",
         "logs:log-group", "iam:policy", "iam:role", "kms:key", "secretsmanager:secret")
POLICY = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return start_common(argv, url + "/moto-api/data.json"), url


def reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST", data=b""),
                           timeout=30).read()


def factory_for(url: str) -> Callable[[str, str], Any]:
    import threading

    import boto3
    from botocore.config import Config

    session, lock, cache = boto3.session.Session(), threading.Lock(), {}
    config = Config(retries={"mode": "standard", "max_attempts": 2}, max_pool_connections=32)

    def factory(service: str, region: str) -> Any:
        with lock:
            if (service, region) not in cache:
                cache[(service, region)] = session.client(
                    service, region_name=region, endpoint_url=url, config=config,
                    aws_access_key_id="testing", aws_secret_access_key="testing")
            return cache[(service, region)]

    return factory


def create_all(client: Callable[[str, str], Any], n: int) -> float:
    """n resources, n/10 of each type, spread over 5 components. Returns the seconds it took."""
    ec2 = client("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    def tags(i: int) -> list[dict[str, str]]:
        return [{"Key": "envctl:env", "Value": ENV}, {"Key": "envctl:component", "Value": f"c{i % 5}"}]

    def spec(kind: str, i: int) -> list[dict[str, Any]]:
        return [{"ResourceType": kind, "Tags": tags(i)}]

    makers: dict[str, Callable[[int], Any]] = {
        "ec2:volume": lambda i: ec2.create_volume(AvailabilityZone="us-east-1a", Size=8,
                                                  TagSpecifications=spec("volume", i)),
        "ec2:security-group": lambda i: ec2.create_security_group(
            GroupName=f"sg{i}", Description="b", VpcId=vpc, TagSpecifications=spec("security-group", i)),
        "ec2:subnet": lambda i: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i // 16}.{(i % 16) * 16}/28",
                                                  TagSpecifications=spec("subnet", i)),
        "ec2:elastic-ip": lambda i: ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip", i)),
        "ec2:launch-template": lambda i: ec2.create_launch_template(
            LaunchTemplateName=f"lt{i}", LaunchTemplateData={"InstanceType": "t3.small"},
            TagSpecifications=spec("launch-template", i)),
        "logs:log-group": lambda i: client("logs", REGION).create_log_group(
            logGroupName=f"/bench/{i}", tags={t["Key"]: t["Value"] for t in tags(i)}),
        "iam:policy": lambda i: client("iam", REGION).create_policy(PolicyName=f"p{i}", PolicyDocument=POLICY,
                                                                    Tags=tags(i)),
        "iam:role": lambda i: client("iam", REGION).create_role(RoleName=f"r{i}", AssumeRolePolicyDocument="{}",
                                                                Tags=tags(i)),
        "kms:key": lambda i: client("kms", REGION).create_key(
            Tags=[{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags(i)]),
        "secretsmanager:secret": lambda i: client("secretsmanager", REGION).create_secret(
            Name=f"s{i}", SecretString="x", Tags=tags(i)),
    }
    jobs = [(t, i) for i in range(n // len(TYPES)) for t in TYPES]
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda job: makers[job[0]](job[1]), jobs))
    return time.monotonic() - t0


def measure(url: str, n: int) -> dict[str, float]:
    from envctl.inventory import collect
    from envctl.teardown.report import build_report

    reset(url)
    client = factory_for(url)
    made = create_all(client, n)
    t0 = time.monotonic()
    inventory = collect(ENV, regions=[REGION], client_factory=client)
    report = build_report(ENV, inventory)
    wall = time.monotonic() - t0
    if inventory.errors:
        print("errors:", inventory.errors, file=sys.stderr)
    return {"n": n, "found": len(report.items), "create_s": made, "verify_s": wall,
            "api_calls": inventory.api_calls, "hourly_usd": report.hourly_usd}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="500,2000", help="comma-separated resource counts (default 500,2000)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ.pop("AWS_PROFILE", None)
    proc, url = start_server()
    try:
        rows = [measure(url, n) for n in sizes]
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"{'resources':>9} {'found':>6} {'create s':>9} {'verify s':>9} {'API calls':>10} {'calls/res':>10}")
    for r in rows:
        print(f"{r['n']:>9} {r['found']:>6} {r['create_s']:>9.2f} {r['verify_s']:>9.2f} {r['api_calls']:>10} "
              f"{r['api_calls'] / r['n']:>10.2f}")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        factor = last["n"] / first["n"]
        print(f"growth x{factor:g} in resources: wall time x{last['verify_s'] / first['verify_s']:.2f}, "
              f"API calls x{last['api_calls'] / first['api_calls']:.2f} (linear would be x{factor:g})")
    ok = all(r["found"] == r["n"] // len(TYPES) * len(TYPES) for r in rows)
    print("every created resource found" if ok else "MISSING RESOURCES")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
