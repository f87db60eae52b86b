"""How long `envctl timeline` takes on a big run, and how big the picture gets.

A 500-component run record (a generated graph, each step 1-60 s, started the moment its dependencies ended,
as the engine does) is written to a history journal; then the pure rendering is timed in-process and the
whole command (`envctl timeline`, a new process) end to end.

    python benchmarks/bench_timeline.py
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, envctl, median, random_dag

sys.path.insert(0, str(REPO))

from envctl.state.local import LocalBackend
from envctl.timeline import analysis as timeline
from envctl.timeline import svg as picture


def synthetic_run(n: int, *, seed: int = 42) -> dict[str, Any]:
    deps = random_dag(n, seed=seed)
    rng = random.Random(seed)
    t0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.timezone.utc)
    end: dict[str, float] = {}
    steps = []
    for comp, ds in deps.items():  # random_dag lists dependencies before their dependents
        start = max((end[d] for d in ds), default=0.0) + 0.05
        end[comp] = start + rng.uniform(1, 60)
        steps.append({"component": comp, "action": "install", "start": (t0 + dt.timedelta(seconds=start)).isoformat(),
                      "end": (t0 + dt.timedelta(seconds=end[comp])).isoformat(), "result": "ok"})
    steps.sort(key=lambda s: s["start"])
    return {"run_id": "20261121T090000Z-bench", "command": "up", "env": "bench", "started": t0.isoformat(),
            "ended": (t0 + dt.timedelta(seconds=max(end.values()) + 0.1)).isoformat(), "result": "ok",
            "parallel": n, "depends_on": deps, "steps": steps}


def timed(fn: Any, *args: Any) -> tuple[float, Any]:
    runs = []
    value = None
    for _ in range(5):
        t = time.perf_counter()
        value = fn(*args)
        runs.append(time.perf_counter() - t)
    return median(runs), value


def main(n: int = 500) -> None:
    run = synthetic_run(n)
    json_s, data = timed(timeline.to_json, run)
    svg_s, svg = timed(picture.render_svg, run)
    html_s, html = timed(picture.render_html, run)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "environments").mkdir()
        LocalBackend(root).append_run(run)
        command = median([envctl(root, "timeline")[0] for _ in range(3)])
    print(f"{n}-step run, critical path {len(data['critical_path'])} steps, "
          f"{data['critical_path_s']:.0f} s of {data['wall_s']:.0f} s wall:")
    print(f"  to_json:      {json_s * 1000:7.1f} ms")
    print(f"  render_svg:   {svg_s * 1000:7.1f} ms  ({len(svg) / 1024:.0f} KiB)")
    print(f"  render_html:  {html_s * 1000:7.1f} ms  ({len(html) / 1024:.0f} KiB)")
    print(f"  envctl timeline (whole command, median of 3): {command * 1000:.0f} ms")


if __name__ == "__main__":
    main()
