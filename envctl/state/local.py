"""The local backend: state, history journal and lock as files under ``<root>/.envctl/``.

A state file is written whole or not at all (temp file, fsync, ``os.replace``), so a ``kill -9`` at any moment
leaves the previous or the next state, never a torn one. The lock is an ``flock`` on a file in ``locks/``:
the kernel drops it when its holder dies, so a killed run never blocks the next one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from envctl.config.durations import now_iso
from envctl.config.paths import PRIVATE_FILE, atomic_write_text, read_json, state_dir
from envctl.errors import LockedError
from envctl.state.model import EnvState, LockHolder, StateEncoder


class LocalBackend:
    """State in ``.envctl/state/<env>.json``, history in ``.envctl/history/<env>.jsonl``, locks by flock."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._encoder = StateEncoder()

    @property
    def base(self) -> Path:
        return state_dir(self.root)

    def state_path(self, env: str) -> Path:
        return self.base / "state" / f"{env}.json"

    def load(self, env: str) -> EnvState:
        path = self.state_path(env)
        data = read_json(path)
        if data is None:
            return EnvState(env=env)
        return EnvState.from_dict(data, source=str(path))

    def save(self, state: EnvState, *, changed: Collection[str] | None = None) -> None:
        state.updated = now_iso()
        # written after every step of a run: compact (python -m json.tool shows it indented); owner-only, as
        # it holds the outputs, masked secrets among them
        text = self._encoder.encode(state, changed) + "\n"
        atomic_write_text(self.state_path(state.env), text, mode=PRIVATE_FILE)
        state.exists = True

    @contextlib.contextmanager
    def lock(self, env: str, holder: LockHolder, *,
             on_lost: Callable[[str], None] | None = None) -> Iterator[list[str]]:
        """An flock on ``locks/<env>.lock``: the kernel releases it when this process ends, and nobody can take it
        while it is held, so ``on_lost`` is never called."""
        import fcntl

        path = self.base / "locks" / f"{env}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                other = _read_holder(path)
                who = other.describe() if other else "another envctl run"
                raise LockedError(f"environment '{env}' is locked by {who}",
                                  hint="wait for it to finish, or stop it; the lock is released when it ends"
                                  ) from None
                # the lock file stays: its content names the holder for the next caller
            warnings = []
            previous = _read_holder(path)
            if previous is not None:
                warnings.append(f"took over a stale lock on '{env}' left by {previous.describe()} "
                                "(that run ended without releasing it)")
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(asdict(holder)).encode(), 0)
            os.fsync(fd)
            try:
                yield warnings
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)

    def read_lock(self, env: str) -> LockHolder | None:
        import fcntl

        path = self.base / "locks" / f"{env}.lock"
        if not path.exists():
            return None
        fd = os.open(path, os.O_RDWR)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return _read_holder(path)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def break_lock(self, env: str) -> None:
        path = self.base / "locks" / f"{env}.lock"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

    def append_run(self, record: dict[str, Any]) -> None:
        path = self.base / "history" / f"{record['env']}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, separators=(",", ":")) + "\n"
        # One write of a whole line with O_APPEND: concurrent appenders never interleave inside a line.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        try:
            os.fchmod(fd, PRIVATE_FILE)  # a journal an older envctl created 0644
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def runs(self, env: str | None = None) -> list[dict[str, Any]]:
        folder = self.base / "history"
        files = [folder / f"{env}.jsonl"] if env else sorted(folder.glob("*.jsonl"))
        return merge_run_records(line for path in files if path.exists()
                                 for line in path.read_text(encoding="utf-8").splitlines())


def merge_run_records(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Journal lines -> one record per run (the last written wins), ordered by start time."""
    return merge_runs(_parsed(lines))


def merge_runs(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per run (the last one given wins), ordered by start time."""
    by_id = {record["run_id"]: record for record in records}
    return sorted(by_id.values(), key=lambda r: (r.get("started") or "", r["run_id"]))


def _parsed(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-write is skipped, never fatal


def _read_holder(path: Path) -> LockHolder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "null")
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return LockHolder(**{k: data[k] for k in LockHolder.__dataclass_fields__})
    except KeyError:
        return None
