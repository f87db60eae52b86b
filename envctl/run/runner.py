"""The scheduler and the one subprocess wrapper: the only module that starts scripts.

The scheduler starts a node the moment everything it waits for is done (not level by level: a slow node
holds back only what depends on it), at most ``parallel`` at a time, longest remaining chain first.
"""

from __future__ import annotations

import heapq
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from envctl.run.cancel import GRACE_SECONDS, Cancel, killpg

__all__ = ["Cancel", "ScheduleResult", "ScriptResult", "run_script", "schedule"]


# ---------------------------------------------------------------- one script


@dataclass(frozen=True)
class ScriptResult:
    exit_code: int | None
    duration_s: float
    timed_out: bool = False
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.interrupted


def run_script(script: Path, *, cwd: Path, env: Mapping[str, str], log_path: Path, timeout: float,
               on_line: Callable[[str], None] | None = None,
               redact: Callable[[str], str] | None = None,
               cancel: Cancel | None = None, grace: float = GRACE_SECONDS) -> ScriptResult:
    """Run ``script`` as its own process in its own process group; stream its output line by line.

    No shell sits between envctl and the script: the argv is the script path alone and configured values reach
    it only through ``env``, so nothing in them is ever interpreted. Output goes to ``log_path`` (and
    ``on_line``) as it comes, never held whole in memory. On timeout the group gets SIGTERM, then SIGKILL
    after ``grace`` seconds. When the script exits, whatever it left running in its group is killed.

    One thread does it all: it waits on the output pipe and on the process itself (a pidfd) at once, so an exit
    is noticed the moment it happens and the next component starts without delay.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "w", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen([str(script)], cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        pgid = proc.pid  # start_new_session: the script leads its own group
        sink = _LineSink(log, on_line, redact)
        try:
            if cancel is not None and cancel._add(pgid):
                killpg(pgid, cancel.signum)  # cancelled between the decision to start and now
            timed_out = _supervise(proc, pgid, sink, started + timeout, grace)
        finally:
            if cancel is not None:
                cancel._remove(pgid)
            sink.close()
        duration = time.monotonic() - started
        interrupted = cancel is not None and cancel.is_set and proc.returncode != 0 and not timed_out
        if timed_out:
            log.write(f"[envctl] timed out after {timeout:.0f}s: sent SIGTERM to the process group, "
                      f"SIGKILL after {grace:.0f}s\n")
        elif interrupted:
            log.write("[envctl] interrupted\n")
    return ScriptResult(proc.returncode, duration, timed_out=timed_out, interrupted=interrupted)


# once the script has exited, how long its output pipe may stay open (held by something that left its group)
_DRAIN_SECONDS = 2.0


def _supervise(proc: subprocess.Popen[bytes], pgid: int, sink: _LineSink, deadline: float, grace: float) -> bool:
    """Pump output until the script is gone and its pipe is drained; enforce the deadline. True if timed out."""
    assert proc.stdout is not None
    out_fd = proc.stdout.fileno()
    os.set_blocking(out_fd, False)
    pidfd = _pidfd(proc.pid)
    selector = selectors.DefaultSelector()
    selector.register(out_fd, selectors.EVENT_READ, "out")
    if pidfd is not None:
        selector.register(pidfd, selectors.EVENT_READ, "exit")
    timed_out = exited = False
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                if exited:
                    break  # the pipe outlived the script: stop reading
                if not timed_out:
                    timed_out = True
                    killpg(pgid, signal.SIGTERM)
                    deadline = now + grace
                    continue
                killpg(pgid, signal.SIGKILL)
                proc.wait()
                exited, deadline = True, time.monotonic() + _DRAIN_SECONDS
                continue
            wait = deadline - now if pidfd is not None else min(0.05, deadline - now)
            for key, _ in selector.select(timeout=wait):
                if key.data == "exit":
                    selector.unregister(key.fd)
                    proc.wait()
                    killpg(pgid, signal.SIGKILL)  # nothing it started in its group may outlive it
                    exited, deadline = True, time.monotonic() + _DRAIN_SECONDS
                    continue
                chunk = _read(out_fd)
                if chunk is None:
                    continue
                if not chunk:  # EOF: every writer is gone
                    selector.unregister(out_fd)
                    proc.wait()
                    killpg(pgid, signal.SIGKILL)
                    return timed_out
                sink.feed(chunk)
            if pidfd is None and not exited and proc.poll() is not None:
                killpg(pgid, signal.SIGKILL)
                exited, deadline = True, time.monotonic() + _DRAIN_SECONDS
    finally:
        selector.close()
        if pidfd is not None:
            os.close(pidfd)
        proc.stdout.close()
    proc.wait()
    return timed_out


def _pidfd(pid: int) -> int | None:
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        return int(opener(pid))
    except OSError:
        return None


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None


class _LineSink:
    """Bytes in, whole lines out: redacted, written to the log as they come, passed to the watcher."""

    def __init__(self, log: IO[str], on_line: Callable[[str], None] | None,
                 redact: Callable[[str], str] | None) -> None:
        self.log, self.on_line, self.redact = log, on_line, redact
        self.pending = b""

    def feed(self, chunk: bytes) -> None:
        data = self.pending + chunk
        *lines, self.pending = data.split(b"\n")
        if len(self.pending) > 1 << 20:  # a 1 MiB line without a newline: pass it on rather than hold it
            lines.append(self.pending)
            self.pending = b""
        for raw in lines:
            self._emit(raw.decode("utf-8", errors="replace"))
        if lines:
            self.log.flush()

    def _emit(self, text: str) -> None:
        if self.redact is not None:
            text = self.redact(text)
        self.log.write(text + "\n")
        if self.on_line is not None:
            self.on_line(text)

    def close(self) -> None:
        if self.pending:
            self._emit(self.pending.decode("utf-8", errors="replace"))
            self.pending = b""
        self.log.flush()


# ---------------------------------------------------------------- the graph


@dataclass
class ScheduleResult:
    ok: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # node -> failed nodes upstream
    not_started: list[str] = field(default_factory=list)          # fail-fast or interrupted


def schedule(nodes: Sequence[str], waits_for: Mapping[str, Sequence[str]], run_node: Callable[[str], bool], *,
             parallel: int = 8, fail_fast: bool = False, cancel: Cancel | None = None,
             weights: Mapping[str, float] | None = None,
             on_batch_done: Callable[[], None] | None = None) -> ScheduleResult:
    """Run ``run_node`` over ``nodes`` so that each starts only after everything in ``waits_for`` is ok.

    ``waits_for`` entries outside ``nodes`` are treated as done. A failed node blocks everything downstream;
    independent branches go on unless ``fail_fast``. At most ``parallel`` run at once, longest remaining chain
    first. The worker that finishes a node starts the first node that became ready itself, with no hand-over
    to another thread, so a dependent starts the moment its last dependency is done. ``on_batch_done`` is
    called after each finished node but the one that ends the schedule, after which the caller saves anyway
    (keep it cheap: the caller's state writer only takes note there).
    """
    members = set(nodes)
    deps = {n: {d for d in waits_for.get(n, ()) if d in members} for n in nodes}
    dependents: dict[str, list[str]] = {n: [] for n in nodes}
    for n, ds in deps.items():
        for d in ds:
            dependents[d].append(n)
    priority = _chain_lengths(nodes, dependents, weights or {})
    position = {n: i for i, n in enumerate(nodes)}
    remaining = {n: len(ds) for n, ds in deps.items()}
    ready = [(-priority[n], position[n], n) for n in nodes if remaining[n] == 0]
    heapq.heapify(ready)
    result = ScheduleResult()
    failed_upstream: dict[str, set[str]] = {}
    limit = max(1, parallel)
    cond = threading.Condition()
    running = 0
    stop = False
    crashed: BaseException | None = None

    def take() -> list[str]:  # with cond held: claim slots for ready nodes
        nonlocal running, stop
        if cancel is not None and cancel.stopping:
            stop = True
        chosen: list[str] = []
        while ready and not stop and running < limit:
            chosen.append(heapq.heappop(ready)[2])
            running += 1
        return chosen

    def settle(node: str, ok: bool) -> list[str]:  # with cond held
        nonlocal running, stop
        running -= 1
        if ok:
            result.ok.append(node)
            for child in dependents[node]:
                remaining[child] -= 1
                if remaining[child] == 0 and child not in failed_upstream:
                    heapq.heappush(ready, (-priority[child], position[child], child))
        else:
            result.failed.append(node)
            stop = stop or fail_fast
            _block(node, dependents, failed_upstream, node)
        chosen = take()  # counted in running
        if not running:
            cond.notify_all()  # the end: the scheduler's own thread waits for nothing else, the caller saves
        elif on_batch_done is not None:
            on_batch_done()
        return chosen

    def work(node: str | None) -> None:
        nonlocal crashed
        while node is not None:
            try:
                ok = bool(run_node(node))
            except BaseException as err:  # a bug, not a script failure: re-raised once the run is over
                ok = False
                with cond:
                    crashed = crashed or err
            with cond:
                chosen = settle(node, ok)
            for other in chosen[1:]:
                started.append(pool.submit(work, other))
            node = chosen[0] if chosen else None

    pool = _workers()
    started: list[Future[None]] = []
    try:
        with cond:
            first = take()
        for node in first:
            started.append(pool.submit(work, node))
        with cond:
            while running:
                cond.wait(timeout=0.5)  # a signal handler runs here; the Cancel it trips stops take()
    except BaseException:
        while not all(f.done() for f in list(started)):  # what runs finishes (and is recorded) first
            wait(list(started))
        raise
    if crashed is not None:
        raise crashed
    settled = set(result.ok) | set(result.failed)
    for n in nodes:
        if n in settled:
            continue
        if n in failed_upstream:
            result.blocked[n] = sorted(failed_upstream[n])
        else:
            result.not_started.append(n)
    return result


# One pool of step threads for the process. A run ends without joining its idle workers (with a wide run that
# cost tens of milliseconds) and the next run in the same process reuses them. The scheduler bounds how many
# steps run at once; this only caps the threads.
_POOL_LIMIT = 1024
STEP_THREAD_PREFIX = "envctl-step"  # once a run is over, threads so named are idle: nothing to wait for
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_POOL_LIMIT, thread_name_prefix=STEP_THREAD_PREFIX)
        return _pool


def _block(node: str, dependents: Mapping[str, list[str]], failed_upstream: dict[str, set[str]],
           culprit: str) -> None:
    stack = list(dependents[node])
    while stack:
        child = stack.pop()
        seen = child in failed_upstream
        failed_upstream.setdefault(child, set()).add(culprit)
        if not seen:
            stack.extend(dependents[child])


def _chain_lengths(nodes: Sequence[str], dependents: Mapping[str, list[str]],
                   weights: Mapping[str, float]) -> dict[str, float]:
    """For each node, the longest chain of work from it to the end: run the longest chains first."""
    memo: dict[str, float] = {}
    for start in reversed(list(nodes)):
        stack = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            if node in memo:
                continue
            if expanded:
                memo[node] = weights.get(node, 1.0) + max((memo[c] for c in dependents[node]), default=0.0)
            else:
                stack.append((node, True))
                stack.extend((c, False) for c in dependents[node] if c not in memo)
    return memo
