"""Cancelling a run: nothing new starts, and the running scripts' process groups get the signal."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

from envctl.run.watchdog import ScriptWatcher

GRACE_SECONDS = 10.0


class Cancel:
    """Shared by a run: once set, nothing new starts and running scripts get the signal.

    The first trip forwards the signal to every running script's process group and, after the grace period,
    SIGKILLs what is left; a second trip SIGKILLs at once. :meth:`halt` only stops new starts (an error in
    envctl itself: what runs is better finished and recorded than cut). A watcher given to :meth:`watch` learns
    every group, so that scripts do not outlive envctl even when it is killed (:mod:`envctl.run.watchdog`).
    """

    def __init__(self, grace: float = GRACE_SECONDS) -> None:
        self.event = threading.Event()
        self.signum: int = signal.SIGTERM
        self.grace = grace
        self._groups: set[int] = set()
        self._lock = threading.Lock()
        self._halted = False
        self._watcher: ScriptWatcher | None = None

    def trip(self, signum: int = signal.SIGTERM) -> None:
        with self._lock:
            if self.event.is_set():
                groups, sig = set(self._groups), int(signal.SIGKILL)
            else:
                self.signum = signum
                self.event.set()
                groups, sig = set(self._groups), signum
                timer = threading.Timer(self.grace, self._kill_all)
                timer.daemon = True
                timer.start()
        for pgid in groups:
            killpg(pgid, sig)

    def halt(self) -> None:
        self._halted = True

    def watch(self, watcher: ScriptWatcher | None) -> None:  # None: the run is over
        self._watcher = watcher

    def _kill_all(self) -> None:
        with self._lock:
            groups = set(self._groups)
        for pgid in groups:
            killpg(pgid, signal.SIGKILL)

    @property
    def is_set(self) -> bool:
        return self.event.is_set()

    @property
    def stopping(self) -> bool:
        """Nothing new may start: tripped or halted."""
        return self._halted or self.event.is_set()

    def _add(self, pgid: int) -> bool:
        if self._watcher is not None:
            self._watcher.add(pgid)
        with self._lock:
            self._groups.add(pgid)
            return self.event.is_set()

    def _remove(self, pgid: int) -> None:
        with self._lock:
            self._groups.discard(pgid)
        if self._watcher is not None:
            self._watcher.remove(pgid)


def killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
