"""What a run needs around its scheduler: the environment's lock (waiting for it if asked), Ctrl-C, SIGTERM and
a closed terminal passed on to the scripts, the state saved on its own thread, and the project's git commit
for the journal."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from envctl.run.cancel import Cancel
from envctl.state.model import LockHolder, StateBackend

# how long the writer lets a finished step's worker start the next steps before it saves
_SETTLE_SECONDS = 0.005


class StateWriter:
    """Saves the state after every batch of finished steps, on its own thread, so that serialising and syncing
    the file never delays the start of the next component. Bursts coalesce into one write; ``close`` waits for
    the last one and re-raises what a write raised."""

    def __init__(self, save: Callable[[], None]) -> None:
        self._save = save
        self._cond = threading.Condition()
        self._dirty = self._closing = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="envctl-state-writer", daemon=True)
        self._thread.start()

    def mark(self) -> None:
        with self._cond:
            self._dirty = True
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._dirty and not self._closing:
                    self._cond.wait()
                if not self._dirty:
                    return
                # the thread that marked goes on to start what its step made ready: a save begun at once would
                # take the interpreter from it (and the next steps coalesce into the same save)
                deadline = time.monotonic() + _SETTLE_SECONDS
                while not self._closing and (left := deadline - time.monotonic()) > 0:
                    self._cond.wait(left)
                if not self._dirty:  # dropped by close(flush=False)
                    return
                self._dirty = False
            try:
                self._save()
            except BaseException as err:  # handed to the run's own thread by close()
                self._error = err

    def close(self, *, flush: bool = True) -> None:
        """``flush=False``: drop a save not yet begun (the caller saves the final state itself)."""
        with self._cond:
            self._closing = True
            if not flush:
                self._dirty = False
            self._cond.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error


@contextlib.contextmanager
def acquire(backend: StateBackend, env: str, holder: LockHolder, wait: float, reporter: Any, *,
            on_lost: Callable[[str], None] | None = None) -> Iterator[list[str]]:
    """The environment's lock; with ``wait`` > 0, wait up to that long for a running session to finish.
    ``on_lost(why)`` is called from another thread if the lock is taken away while held (team state)."""
    from envctl.errors import LockedError

    deadline = time.monotonic() + wait
    announced = False
    while True:
        try:
            cm = backend.lock(env, holder, on_lost=on_lost)
            warnings = cm.__enter__()
        except LockedError as err:
            if time.monotonic() >= deadline:
                raise
            if not announced:
                reporter.note(f"{err.message}; waiting up to {wait:.0f}s for it (--wait-lock)")
                announced = True
            time.sleep(min(2.0, max(0.05, deadline - time.monotonic())))
            continue
        break
    try:
        yield warnings
    except BaseException as err:
        if not cm.__exit__(type(err), err, err.__traceback__):
            raise
    else:
        cm.__exit__(None, None, None)


# What each signal becomes for the scripts. A closed terminal (SIGHUP) ends the run like Ctrl-C; the scripts
# get SIGTERM for it: they run in sessions of their own, where a hangup means nothing and few scripts trap it,
# while SIGTERM is the signal they clean up on.
_PASSED_ON = {signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM, signal.SIGHUP: signal.SIGTERM}


@contextlib.contextmanager
def forward_signals(cancel: Cancel, enabled: bool) -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP: start nothing new and pass the signal on to the running scripts' groups.

    A hangup means the terminal is gone and writing to it fails: the standard streams that were that terminal
    are pointed at /dev/null first, so that the run can still record what finished, release its lock and exit
    130. Under ``nohup`` (SIGHUP ignored when envctl started) a hangup stays ignored.
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in _PASSED_ON}
    if previous[signal.SIGHUP] == signal.SIG_IGN:
        del previous[signal.SIGHUP]
    # asked now: once the terminal has hung up, isatty() on it fails like every other call
    terminal = [fd for fd in (0, 1, 2) if _isatty(fd)]

    def handler(signum: int, _frame: object) -> None:
        if signum == signal.SIGHUP:
            _leave_terminal(terminal)
        cancel.trip(_PASSED_ON[signal.Signals(signum)])

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def _leave_terminal(fds: list[int]) -> None:
    """Point the standard streams that were the terminal at /dev/null (it hung up)."""
    if not fds:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        for fd in fds:
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def git_commit(root: Path) -> str | None:
    """The commit the project root is at, read from .git without running git."""
    for folder in (root, *root.parents):
        git = folder / ".git"
        if git.is_file():  # a worktree: "gitdir: <path>"
            text = git.read_text(encoding="utf-8").strip()
            if text.startswith("gitdir:"):
                git = (folder / text.split(":", 1)[1].strip()).resolve()
        if not git.is_dir():
            continue
        try:
            head = (git / "HEAD").read_text(encoding="utf-8").strip()
            if not head.startswith("ref:"):
                return head
            ref = head.split(":", 1)[1].strip()
            common = git
            if (git / "commondir").is_file():
                common = (git / (git / "commondir").read_text(encoding="utf-8").strip()).resolve()
            for base in (git, common):
                if (base / ref).is_file():
                    return (base / ref).read_text(encoding="utf-8").strip()
            packed = common / "packed-refs"
            if packed.is_file():
                for line in packed.read_text(encoding="utf-8").splitlines():
                    if line.endswith(" " + ref):
                        return line.split(" ", 1)[0]
        except OSError:
            return None
        return None
    return None


def new_run_id(now: float | None = None) -> str:
    """``20261130T120356Z-8a3f``: the UTC second, then the fraction of it in 1/65536ths, so run ids (and the
    run directories named by them) sort in the order the runs started, even within one second."""
    now = time.time() if now is None else now
    whole = int(now)
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(whole)) + f"-{int((now - whole) * 0x10000):04x}"
