"""Versioned, atomic, locked state per environment, and the append-only history journal.

Everything envctl keeps lives under ``<root>/.envctl/`` and this module is the only writer there. The local
backend writes a file whole or not at all (temp file, fsync, ``os.replace``), so a ``kill -9`` at any moment
leaves the previous or the next state, never a torn one. The lock is an ``flock`` on a file in ``locks/``:
the kernel drops it when its holder dies, so a killed run never blocks the next one.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import errno
import json
import os
import socket
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from envctl.errors import LockedError, StateError

SCHEMA_VERSION = 1
COMPONENT_STATES = ("down", "up", "asleep", "install_failed", "delete_failed")


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def parse_iso(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text)


# ---------------------------------------------------------------- files


def state_dir(root: Path) -> Path:
    """``<root>/.envctl``, created with a ``.gitignore`` of ``*`` so it is never committed."""
    path = root / ".envctl"
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        atomic_write_text(ignore, "*\n")
    return path


def atomic_write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, data: Any, *, compact: bool = False) -> None:
    """``compact``: json's C encoder (an indented dump runs the pure-Python one, 3-4 times slower)."""
    text = json.dumps(data, separators=(",", ":")) if compact else json.dumps(data, indent=2)
    atomic_write_text(path, text + "\n")


def read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when there is no such file. An unreadable file is a StateError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise StateError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})",
                         hint="move the file aside; envctl starts from no state") from None


# ---------------------------------------------------------------- the model


@dataclass
class ComponentState:
    """What envctl knows of one component. ``scripts`` maps action -> sha256 of the scripts last run."""

    name: str
    state: str = "down"
    since: str | None = None
    last_action: str | None = None
    last_result: str | None = None
    last_run_id: str | None = None
    duration_s: float | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)
    # the outputs it had when last deleted: verify still finds a gone cluster's orphans by its name
    deleted_outputs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComponentState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: the run saves a snapshot after every step, and asdict's deep
        # recursion was the largest cost of a step
        return {"name": self.name, "state": self.state, "since": self.since, "last_action": self.last_action,
                "last_result": self.last_result, "last_run_id": self.last_run_id, "duration_s": self.duration_s,
                "outputs": dict(self.outputs), "scripts": dict(self.scripts),
                "deleted_outputs": dict(self.deleted_outputs)}


@dataclass
class EnvState:
    """The state of one environment, as written to ``state/<env>.json``."""

    env: str
    components: dict[str, ComponentState] = field(default_factory=dict)
    up_since: str | None = None         # when the environment last went up from down (for down_after)
    sandbox_id: str | None = None       # identity of the sandbox the environment went up in
    sleep: dict[str, Any] = field(default_factory=dict)  # sizes remembered by the sleep built-ins
    updated: str | None = None
    version: int = SCHEMA_VERSION
    exists: bool = False                # False when nothing was ever recorded (not persisted)

    def component(self, name: str) -> ComponentState:
        if name not in self.components:
            self.components[name] = ComponentState(name)
        return self.components[name]

    def to_dict(self) -> dict[str, Any]:
        return {"env": self.env, "components": {n: c.to_dict() for n, c in self.components.items()},
                "up_since": self.up_since, "sandbox_id": self.sandbox_id, "sleep": copy.deepcopy(self.sleep),
                "updated": self.updated, "version": self.version}

    def copy(self) -> EnvState:
        """A snapshot that later changes to this state do not reach."""
        return EnvState(env=self.env, up_since=self.up_since, sandbox_id=self.sandbox_id,
                        sleep=copy.deepcopy(self.sleep), updated=self.updated, version=self.version,
                        exists=self.exists,
                        components={n: ComponentState.from_dict(c.to_dict()) for n, c in self.components.items()})

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str) -> EnvState:
        version = data.get("version")
        if not isinstance(version, int):
            raise StateError(f"{source}: no schema version; this is not an envctl state file")
        if version > SCHEMA_VERSION:
            raise StateError(f"{source}: written by a newer envctl (schema {version}; this one reads "
                             f"{SCHEMA_VERSION})", hint="upgrade envctl")
        comps = {name: ComponentState.from_dict({**c, "name": name})
                 for name, c in (data.get("components") or {}).items()}
        return cls(env=data["env"], components=comps, up_since=data.get("up_since"),
                   sandbox_id=data.get("sandbox_id"), sleep=data.get("sleep") or {},
                   updated=data.get("updated"), version=SCHEMA_VERSION, exists=True)

    def overall(self, names: list[str]) -> str:
        """``up``/``down``/``asleep`` when every named component is so, otherwise ``partial``."""
        states = {self.components[n].state if n in self.components else "down" for n in names}
        if len(states) == 1:
            only = states.pop()
            if only in ("up", "down", "asleep"):
                return only
        return "partial"


@dataclass(frozen=True)
class LockHolder:
    pid: int
    host: str
    user: str
    command: str
    since: str

    @classmethod
    def current(cls, command: str) -> LockHolder:
        return cls(pid=os.getpid(), host=socket.gethostname(), user=_user(), command=command, since=now_iso())

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} ({self.user}), running '{self.command}' since {self.since}"


def _user() -> str:
    for var in ("USER", "LOGNAME", "USERNAME"):
        if os.environ.get(var):
            return os.environ[var]
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return "unknown"


class StateBackend(Protocol):
    """Where state, locks and history live: local files, or S3 + DynamoDB for teams."""

    def load(self, env: str) -> EnvState: ...

    def save(self, state: EnvState) -> None: ...

    def lock(self, env: str, holder: LockHolder) -> contextlib.AbstractContextManager[list[str]]:
        """Hold the environment's run lock; yields warnings (a stale lock taken over). LockedError if held."""
        ...

    def read_lock(self, env: str) -> LockHolder | None: ...

    def break_lock(self, env: str) -> None: ...

    def append_run(self, record: dict[str, Any]) -> None: ...

    def runs(self, env: str | None = None) -> list[dict[str, Any]]:
        """Every run, newest last; a run recorded several times (started, then ended) appears once, latest."""
        ...


# ---------------------------------------------------------------- the local backend


class LocalBackend:
    """State in ``.envctl/state/<env>.json``, history in ``.envctl/history/<env>.jsonl``, locks by flock."""

    def __init__(self, root: Path) -> None:
        self.root = root

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

    def save(self, state: EnvState) -> None:
        state.updated = now_iso()
        # written after every step of a run: compact (python -m json.tool shows it indented)
        atomic_write_json(self.state_path(state.env), state.to_dict(), compact=True)
        state.exists = True

    @contextlib.contextmanager
    def lock(self, env: str, holder: LockHolder) -> Iterator[list[str]]:
        import fcntl

        path = self.base / "locks" / f"{env}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
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


def backend_for(root: Path, config: Any = None, *, env: Any = None) -> StateBackend:
    """The backend an environment's ``state:`` block asks for (local when there is none).

    ``env`` (the :class:`~envctl.registry.Environment`) makes team state use that environment's own target:
    its profile for an account, the sandbox for a sandbox environment. Without it, boto3's defaults of this
    process apply (AWS_PROFILE, AWS_ENDPOINT_URL, ...).
    """
    if config is None or getattr(config, "backend", "local") == "local":
        return LocalBackend(root)
    from envctl.remote_state import S3Backend, client_factory_for_env

    factory = client_factory_for_env(env, root) if env is not None else None
    return S3Backend(root, config, client_factory=factory)
