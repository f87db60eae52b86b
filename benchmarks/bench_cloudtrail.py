"""What the sandbox's CloudTrail costs a call, and how fast audit reads it back.

    python benchmarks/bench_cloudtrail.py            # 300 calls of each kind
    python benchmarks/bench_cloudtrail.py --calls 100

Starts two servers on free ports, moto's own and envctl's sandbox server (moto behind the CloudTrail recorder),
and times the same boto3 calls against each, one at a time: a read (ec2 DescribeVpcs, which the recorder only
names and passes on), a query-protocol write (ec2 CreateSecurityGroup, kept as an event) and a JSON write
(sqs CreateQueue). Then pages every event back with LookupEvents (50 a page). Prints medians per call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import free_port, start_server


def client(endpoint: str, service: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))


def medians_ms(fns: list[Callable[[int], Any]], calls: int) -> list[float]:
    """Each function's median time; calls alternate between them, so a busy machine slows both alike."""
    for fn in fns:
        fn(-1)  # warm up (EC2's first call loads its data)
    times: list[list[float]] = [[] for _ in fns]
    for i in range(calls):
        for fn, spent in zip(fns, times, strict=True):
            t0 = time.perf_counter()
            fn(i)
            spent.append(time.perf_counter() - t0)
    return [statistics.median(t) * 1000 for t in times]


def calls_against(endpoint: str) -> dict[str, Callable[[int], Any]]:
    ec2, sqs = client(endpoint, "ec2"), client(endpoint, "sqs")
    return {
        "read  ec2:DescribeVpcs": lambda i: ec2.describe_vpcs(),
        "write ec2:CreateSecurityGroup": lambda i: ec2.create_security_group(GroupName=f"g{i}", Description="b"),
        "write sqs:CreateQueue": lambda i: sqs.create_queue(QueueName=f"q{i}"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    plain_port, own_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as tmp:
        plain = start_server([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(plain_port)],
                             f"http://127.0.0.1:{plain_port}/moto-api/")
        own = start_server([sys.executable, "-m", "envctl.aws.sandbox_server", "--port", str(own_port),
                            "--pid-file", str(Path(tmp) / "pid")], f"http://127.0.0.1:{own_port}/moto-api/")
        try:
            plain_calls = calls_against(f"http://127.0.0.1:{plain_port}")
            own_calls = calls_against(f"http://127.0.0.1:{own_port}")
            base, recorded = {}, {}
            for name in plain_calls:
                base[name], recorded[name] = medians_ms([plain_calls[name], own_calls[name]], args.calls)
            cloudtrail = client(f"http://127.0.0.1:{own_port}", "cloudtrail")
            t0 = time.perf_counter()
            pages = list(cloudtrail.get_paginator("lookup_events").paginate())
            read_s = time.perf_counter() - t0
        finally:
            for proc in (plain, own):
                proc.terminate()
                proc.wait(10)
    print(f"{'call':32} {'moto ms':>9} {'+recorder ms':>13} {'extra ms':>9}")
    for name in base:
        print(f"{name:32} {base[name]:9.2f} {recorded[name]:13.2f} {recorded[name] - base[name]:9.2f}")
    events = sum(len(p["Events"]) for p in pages)
    print(f"LookupEvents: {events} events in {len(pages)} pages, {read_s:.2f} s "
          f"({read_s / max(len(pages), 1) * 1000:.1f} ms a page)")


if __name__ == "__main__":
    main()
