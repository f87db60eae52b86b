"""Scripts never outlive envctl: a small watcher process per run signals their process groups when envctl is
gone, however it ended (an exception, ``kill -9``, the OOM killer).

Each script runs in its own session, so nothing the terminal or envctl's own death does reaches it. Linux's
parent-death signal (``PR_SET_PDEATHSIG``) does not close that gap: it fires when the *thread* that forked the
child ends (envctl starts scripts from worker threads), reaches the script alone and not what it started in
its group, needs a ``preexec_fn`` (which takes subprocess off its fast spawn path), and exists only on Linux.

Instead envctl starts one watcher per run, in a session of its own (a closed terminal's SIGHUP and a Ctrl-C
do not reach it), and keeps the write end of a pipe to it. Every script's process group is written to the
pipe when it starts (``+pgid``) and when it is gone (``-pgid``). The kernel closes the pipe however envctl
ends, so the watcher reads end-of-file: after a clean run with nothing registered it just exits; otherwise
it sends SIGTERM to every group still registered and SIGKILL after the grace period, as a timeout would.
A pipe is portable (macOS included) and needs no polling of envctl's pid.

This file is also the watcher's program: it is run by path with ``python -I -S`` and imports only the
standard library.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time

_POLL_SECONDS = 0.05


class ScriptWatcher:
    """envctl's side: start the watcher, register and unregister process groups, close at the end."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc
        self._lock = threading.Lock()
        self._broken = False

    @classmethod
    def start(cls, grace: float) -> ScriptWatcher:
        """Raises OSError when the watcher cannot be started."""
        proc = subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__), f"{grace:g}"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True, close_fds=True)
        return cls(proc)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def add(self, pgid: int) -> None:
        self._send(f"+{pgid}\n")

    def remove(self, pgid: int) -> None:
        self._send(f"-{pgid}\n")

    def _send(self, line: str) -> None:
        stdin = self._proc.stdin
        with self._lock:
            if self._broken or stdin is None:
                return
            try:
                os.write(stdin.fileno(), line.encode())
            except OSError:  # the watcher is gone (killed by someone): envctl goes on without it
                self._broken = True

    @property
    def alive(self) -> bool:
        return not self._broken and self._proc.poll() is None

    def close(self) -> None:
        """End of the run: with every group unregistered, the watcher exits at the end-of-file."""
        with self._lock:
            self._broken = True
            if self._proc.stdin is not None:
                with contextlib.suppress(OSError):
                    self._proc.stdin.close()


def _exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(groups: set[int], sig: int) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def watch(grace: float) -> None:
    """The watcher: read registrations until end-of-file, then end what is still registered."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    groups: set[int] = set()
    for line in sys.stdin.buffer:
        with contextlib.suppress(ValueError):
            pgid = int(line[1:])
            if line.startswith(b"+"):
                groups.add(pgid)
            else:
                groups.discard(pgid)
    if not groups:
        return
    _signal(groups, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while groups and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
        groups = {g for g in groups if _exists(g)}
    _signal(groups, signal.SIGKILL)


if __name__ == "__main__":
    watch(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
