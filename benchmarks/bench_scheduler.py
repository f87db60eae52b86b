"""How close does the whole `envctl up` come to the critical path, next to terraform and make on the same graph,
and what does one component cost?

1. A generated 200-component graph, each install a real bash script (`set -euo pipefail`, then a sleep of
   0.05-0.45 s), unlimited parallelism. The same scripts, with the same dependencies, run by three tools:
   `envctl up` (the whole command: process start, load, lint, lock, state after every step, history),
   `terraform apply -parallelism=N` (terraform_data resources with local-exec provisioners: built into
   terraform, so `terraform init` downloads nothing) and `make -jN` (phony targets). Rounds are interleaved so
   the three share the machine's weather; each figure is the median, as a ratio of the critical path (the
   longest chain of sleeps: no tool can beat it). envctl's lint cache is warm after the first round, as it is
   for a user's every run after the first; the first round is shown too. envctl's own part is split out
   from each round's history record: start to first script, the scheduler's span, last script to exit.
2. 500 no-op components: `up` and `down` wall time, milliseconds per component.

    python benchmarks/bench_scheduler.py [--rounds 5]
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, envctl, median, random_dag, sandbox, write_env

sys.path.insert(0, str(REPO))

from envctl.config.graph import critical_path_length

STRICT = "#!/bin/bash\nset -euo pipefail"


def compare(n: int = 200, seed: int = 42, rounds: int = 5) -> None:
    deps = random_dag(n, seed=seed)
    rng = random.Random(seed)
    durations = {c: round(rng.uniform(0.05, 0.45), 3) for c in deps}
    bound = critical_path_length(deps, durations)
    with tempfile.TemporaryDirectory() as tmp:
        root = write_env(Path(tmp) / "envctl", deps, {c: f"sleep {d}" for c, d in durations.items()},
                         header=STRICT)
        scripts = {c: root / "environments" / "bench" / c / f"install-{c}.sh" for c in deps}
        phases: list[tuple[float, float, float]] = []
        tools: dict[str, Callable[[], float]] = {"envctl up": lambda: _envctl_up(root, n, phases)}
        if shutil.which("terraform"):
            tools[f"terraform apply -parallelism={n}"] = _terraform(Path(tmp) / "tf", deps, scripts, n)
        if shutil.which("make"):
            tools[f"make -j{n}"] = _make(Path(tmp) / "make", deps, scripts, n)
        times: dict[str, list[float]] = {name: [] for name in tools}
        for _ in range(rounds):
            for name, run in tools.items():
                times[name].append(run())
    print(f"{n} components, bash scripts sleeping 0.05-0.45 s, unlimited parallelism, the same scripts for "
          f"every tool; median of {rounds} interleaved rounds:")
    width = max(len(name) for name in times) + len(" (whole command):")
    print(f"  {'critical path (lower bound):':{width}s} {bound:6.3f} s")
    for name, walls in times.items():
        extra = f"   (first round {walls[0] / bound:.3f}x)" if name == "envctl up" else ""
        print(f"  {name + ' (whole command):':{width}s} {median(walls):6.3f} s   {median(walls) / bound:.3f}x{extra}")
    before, span, after = (median(list(part)) for part in zip(*phases, strict=True))
    print(f"  envctl's own part, medians: {before * 1000:.0f} ms from its start to the first script, its scheduler "
          f"(first script start -> last end) {span:.3f} s = {span / bound:.3f}x, {after * 1000:.0f} ms from the "
          "last script's end to its exit")
    missing = [tool for tool in ("terraform", "make") if not shutil.which(tool)]
    if missing:
        print(f"  (not installed, so not compared: {', '.join(missing)})")


def _envctl_up(root: Path, n: int, phases: list[tuple[float, float, float]]) -> float:
    """The whole command's wall time; ``phases`` gets where it went, from the run's history record (read as a
    file: another envctl command between the rounds would change what the next tool meets)."""
    for folder in ("state", "history"):  # the environment down again; runs/ and the lint cache stay
        shutil.rmtree(root / ".envctl" / folder, ignore_errors=True)
    started = time.time()
    wall, _ = envctl(root, "up", "bench", "--parallel", str(n))
    ended = started + wall
    lines = (root / ".envctl" / "history" / "bench.jsonl").read_text().splitlines()
    steps = json.loads(lines[-1])["steps"]  # the run's closing record
    first = min(datetime.fromisoformat(s["start"]).timestamp() for s in steps)
    last = max(datetime.fromisoformat(s["end"]).timestamp() for s in steps)
    phases.append((first - started, last - first, ended - last))
    return wall


def _terraform(folder: Path, deps: dict[str, list[str]], scripts: dict[str, Path], n: int) -> Callable[[], float]:
    folder.mkdir(parents=True)
    blocks = []
    for comp, ds in deps.items():
        after = ", ".join(f"terraform_data.{d}" for d in ds)
        blocks.append(f'resource "terraform_data" "{comp}" {{\n  depends_on = [{after}]\n'
                      f'  provisioner "local-exec" {{\n    command = "{scripts[comp]}"\n  }}\n}}\n')
    (folder / "main.tf").write_text("\n".join(blocks))
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0"}
    subprocess.run(["terraform", "init", "-input=false"], cwd=folder, env=env, check=True, capture_output=True)

    def apply() -> float:
        for name in ("terraform.tfstate", "terraform.tfstate.backup"):
            (folder / name).unlink(missing_ok=True)
        return _timed(["terraform", "apply", "-auto-approve", "-input=false", f"-parallelism={n}"], folder, env)

    return apply


def _make(folder: Path, deps: dict[str, list[str]], scripts: dict[str, Path], n: int) -> Callable[[], float]:
    folder.mkdir(parents=True)
    names = " ".join(deps)
    rules = [f"all: {names}", f".PHONY: all {names}"]
    rules += [f"{comp}: {' '.join(ds)}\n\t@{scripts[comp]}" for comp, ds in deps.items()]
    (folder / "Makefile").write_text("\n".join(rules) + "\n")
    return lambda: _timed(["make", f"-j{n}", "-s", "all"], folder, dict(os.environ))


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


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
    count = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 5
    with sandbox():
        compare(rounds=count)
        overhead()
