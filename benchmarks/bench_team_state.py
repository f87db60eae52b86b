"""Team state on a moto server: state init, save and load, lock take + release, history reads.

    python benchmarks/bench_team_state.py [--runs 50] [--history 10,100,300]

Starts its own moto server on a free port and stops it at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--history", default="10,100,300")
    args = parser.parse_args()
    proc, url = start_moto()
    os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_DEFAULT_REGION="us-east-1")
    from envctl.config.model import StateConfig
    from envctl.state.admin import init_remote
    from envctl.state.model import LockHolder
    from envctl.state.s3 import S3Backend

    root = Path(tempfile.mkdtemp())
    try:
        (root / ".envctl").mkdir()  # a project's own files: where runs() remembers the records it read
        backend = S3Backend(root, StateConfig(backend="s3", bucket="bench-state", region="us-east-1",
                                              lock_table="bench-locks", lock_ttl=120))
        t0 = time.perf_counter()
        init_remote(backend, {})
        print(f"state init (bucket + table):             {time.perf_counter() - t0:.3f} s")
        state = backend.load("bench")
        for i in range(20):
            comp = state.component(f"c{i:02d}")
            comp.state, comp.outputs = "up", {"ID": "x" * 20}
        holder = LockHolder.current("bench")
        with backend.lock("bench", holder):
            save_ms = median_ms(lambda: backend.save(state), args.runs)
        print(f"save, 20 components, under the lock:     {save_ms:.1f} ms")
        print(f"load:                                    {median_ms(lambda: backend.load('bench'), args.runs):.1f} ms")

        def take_release() -> None:
            with backend.lock("bench", holder):
                pass

        print(f"lock take + release:                     {median_ms(take_release, args.runs):.1f} ms")
        written = 0
        for n in (int(x) for x in args.history.split(",")):
            for i in range(written, n):
                backend.append_run({"run_id": f"r{i:05d}", "env": "bench", "result": "ok", "steps": [],
                                    "started": f"2026-11-21T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"})
            written = n
            shutil.rmtree(root / ".envctl" / "cache", ignore_errors=True)
            t0 = time.perf_counter()
            count = len(backend.runs("bench"))
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            backend.runs("bench")
            print(f"runs() over {count:>4} run objects: {cold:.3f} s the first time, "
                  f"{time.perf_counter() - t0:.3f} s once read")
    finally:
        shutil.rmtree(root, ignore_errors=True)
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
