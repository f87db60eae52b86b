"""Does the scheduler keep every allowed slot busy, and what does one component cost?

1. A generated 200-component graph, each install a real script sleeping 0.05-0.45 s, unlimited parallelism:
   `up` wall time against the critical path (the longest chain of sleeps: no schedule can beat it).
2. 500 no-op components: `up` and `down` wall time, milliseconds per component.

    python benchmarks/bench_scheduler.py
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, envctl, random_dag, sandbox, write_env

sys.path.insert(0, str(REPO))

from envctl.config.graph import critical_path_length


def efficiency(n: int = 200, seed: int = 42) -> None:
    deps = random_dag(n, seed=seed)
    rng = random.Random(seed)
    durations = {c: round(rng.uniform(0.05, 0.45), 3) for c in deps}
    bound = critical_path_length(deps, durations)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_env(Path(tmp), deps, {c: f"sleep {d}" for c, d in durations.items()})
        wall, _ = envctl(root, "up", "bench", "--parallel", str(n))
        run = json.loads(envctl(root, "history", "bench", "--json")[1].stdout)[-1]
    from datetime import datetime

    engine_wall = (datetime.fromisoformat(run["steps"][-1]["end"]) - datetime.fromisoformat(run["started"]))
    last_end = max(datetime.fromisoformat(s["end"]) for s in run["steps"])
    first_start = min(datetime.fromisoformat(s["start"]) for s in run["steps"])
    sched_wall = (last_end - first_start).total_seconds()
    print(f"{n} components, sleeps 0.05-0.45 s, unlimited parallelism:")
    print(f"  critical path (lower bound):   {bound:.3f} s")
    print(f"  first start -> last end:       {sched_wall:.3f} s   ratio {sched_wall / bound:.4f}")
    print(f"  whole command (process start, load, lock, state, history): {wall:.3f} s"
          f"   ratio {wall / bound:.4f}")
    del engine_wall


def overhead(n: int = 500) -> None:
    deps = {f"c{i:03d}": ([f"c{i - 1:03d}"] if i % 10 else []) for i in range(n)}  # 50 chains of 10
    with tempfile.TemporaryDirectory() as tmp:
        root = write_env(Path(tmp), deps, {})
        up, _ = envctl(root, "up", "bench", "--parallel", "8")
        down, _ = envctl(root, "down", "bench", "--yes", "--no-verify", "--parallel", "8")
    print(f"{n} no-op components (50 chains of 10), --parallel 8:")
    print(f"  up:   {up:.2f} s  = {up / n * 1000:.2f} ms per component (whole command)")
    print(f"  down: {down:.2f} s  = {down / n * 1000:.2f} ms per component (whole command)")


if __name__ == "__main__":
    with sandbox():
        efficiency()
        overhead()
