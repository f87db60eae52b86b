"""How fast envctl starts (`envctl --help` must not import boto3) and plans 500 components.

    python benchmarks/bench_cli.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, envctl, median, random_dag, sandbox, write_env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def timed(cmd: list[str]) -> float:
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        return time.perf_counter() - t0

    bare = median([timed([sys.executable, "-c", "pass"]) for _ in range(args.runs)])
    helps = median([timed([sys.executable, "-m", "envctl", "--help"]) for _ in range(args.runs)])
    modules = subprocess.run(
        [sys.executable, "-c", "import sys, runpy; sys.argv=['envctl','--help']\ntry:\n"
         "    runpy.run_module('envctl', run_name='__main__')\nexcept SystemExit: pass\n"
         "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3','botocore','moto','networkx'}))"],
        env=env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    with tempfile.TemporaryDirectory() as tmp:
        root = write_env(Path(tmp), random_dag(500), {})
        plans = [envctl(root, "plan", "bench", "--json")[0] for _ in range(5)]
    print(f"python -c pass:           {bare * 1000:7.1f} ms (the interpreter alone)")
    print(f"envctl --help:            {helps * 1000:7.1f} ms (median of {args.runs}); heavy modules loaded: "
          f"{modules}")
    print(f"envctl plan (500 comps):  {median(plans) * 1000:7.1f} ms (median of 5, load + validate + order)")


if __name__ == "__main__":
    with sandbox():
        main()
