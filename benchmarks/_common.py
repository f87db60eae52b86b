"""Shared by the benchmarks: generated environments of tiny real scripts."""

from __future__ import annotations

import contextlib
import os
import random
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def random_dag(n: int, *, seed: int = 42, max_deps: int = 3) -> dict[str, list[str]]:
    rng = random.Random(seed)
    names = [f"c{i:03d}" for i in range(n)]
    return {name: sorted(rng.sample(names[max(0, i - 40):i], k=min(i, rng.randint(0, max_deps))))
            for i, name in enumerate(names)}


def write_env(root: Path, deps: dict[str, list[str]], bodies: dict[str, str], *, name: str = "bench",
              header: str = "#!/bin/sh") -> Path:
    """An environment whose components run ``bodies[c]`` (a /bin/sh body, or after ``header``) for install and
    nothing for delete."""
    env_dir = root / "environments" / name
    lines = [f"name: {name}", "region: us-east-1", "aws: {target: sandbox}", "components:"]
    for comp, ds in deps.items():
        lines.append(f"  {comp}: {{depends_on: [{', '.join(ds)}]}}")
        folder = env_dir / comp
        folder.mkdir(parents=True, exist_ok=True)
        for script, body in ((f"install-{comp}.sh", bodies.get(comp, ":")), (f"delete-{comp}.sh", ":")):
            path = folder / script
            path.write_text(f"{header}\n{body}\n")
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
    (env_dir / "env.yaml").write_text("\n".join(lines) + "\n")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(argv: list[str], ready_url: str, *, timeout: float = 30) -> subprocess.Popen[bytes]:
    """Start a server process and wait until ``ready_url`` answers; exit the benchmark if it never does."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(ready_url, timeout=1).read()
            return proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit(f"the server ({' '.join(argv[:3])}) did not start") from None
            time.sleep(0.05)


@contextlib.contextmanager
def sandbox() -> Iterator[None]:
    """A sandbox on a free port for the benchmark, started before anything is timed and stopped after."""
    port = free_port()
    os.environ["ENVCTL_SANDBOX_PORT"] = str(port)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "environments").mkdir()
        envctl(Path(tmp), "sandbox", "start")
        try:
            yield
        finally:
            envctl(Path(tmp), "sandbox", "stop")


def envctl(root: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "envctl", "--root", str(root), *args], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0,):
        raise SystemExit(f"envctl {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc


def median(values: list[float]) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
