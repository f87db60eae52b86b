"""What envctl records about an environment: per component its state, outputs and script hashes; the lock's
holder; and the protocol every state backend (local files, S3) implements."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import socket
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Protocol

from envctl.config.durations import now_iso
from envctl.errors import StateError

SCHEMA_VERSION = 1
COMPONENT_STATES = ("down", "up", "asleep", "install_failed", "delete_failed")


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
    # the outputs whose value is secret (masked when its script printed it): every renderer shows them as ***,
    # while the value itself stays here for the component's later scripts and its dependents
    masked_outputs: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComponentState:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def copy(self) -> ComponentState:
        return ComponentState(self.name, self.state, self.since, self.last_action, self.last_result,
                              self.last_run_id, self.duration_s, dict(self.outputs), dict(self.scripts),
                              dict(self.deleted_outputs), list(self.masked_outputs))

    def to_dict(self) -> dict[str, Any]:
        # by hand, not dataclasses.asdict: the run saves a snapshot after every step, and asdict's deep
        # recursion was the largest cost of a step
        return {"name": self.name, "state": self.state, "since": self.since, "last_action": self.last_action,
                "last_result": self.last_result, "last_run_id": self.last_run_id, "duration_s": self.duration_s,
                "outputs": dict(self.outputs), "scripts": dict(self.scripts),
                "deleted_outputs": dict(self.deleted_outputs), "masked_outputs": list(self.masked_outputs)}


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

    def to_dict(self, *, components: bool = True) -> dict[str, Any]:
        """``components=False``: everything but ``env`` and the components (what :class:`StateEncoder` adds)."""
        rest = {"up_since": self.up_since, "sandbox_id": self.sandbox_id, "sleep": copy.deepcopy(self.sleep),
                "updated": self.updated, "version": self.version}
        if not components:
            return rest
        return {"env": self.env, "components": {n: c.to_dict() for n, c in self.components.items()}, **rest}

    def copy(self, *, reusing: EnvState | None = None, changed: Collection[str] = ()) -> EnvState:
        """A snapshot that later changes to this state do not reach. ``reusing``: an earlier snapshot whose
        components (never changed themselves) stand in for those not ``changed`` since it was taken."""
        earlier = reusing.components if reusing is not None else {}
        return EnvState(env=self.env, up_since=self.up_since, sandbox_id=self.sandbox_id,
                        sleep=copy.deepcopy(self.sleep), updated=self.updated, version=self.version,
                        exists=self.exists,
                        components={n: earlier[n] if n in earlier and n not in changed else c.copy()
                                    for n, c in self.components.items()})

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

    def masked_values(self) -> list[str]:
        """The values of every masked output: a later run masks them in what its scripts print."""
        return [comp.outputs[key] for comp in self.components.values() for key in comp.masked_outputs
                if key in comp.outputs]

    def overall(self, names: list[str]) -> str:
        """``up``/``down``/``asleep`` when every named component is so, otherwise ``partial``."""
        states = {self.components[n].state if n in self.components else "down" for n in names}
        if len(states) == 1:
            only = states.pop()
            if only in ("up", "down", "asleep"):
                return only
        return "partial"


class StateEncoder:
    """An environment's state as the compact JSON both backends write, after every step of a run: each
    component's JSON is kept and made again only when its content changed, so a save costs what changed, not
    the whole environment (with 200 components, about a fifth of the time). The text is exactly
    ``json.dumps(state.to_dict(), separators=(",", ":"))``."""

    def __init__(self) -> None:
        self._parts: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}

    def encode(self, state: EnvState, changed: Collection[str] | None = None) -> str:
        """``changed``: the caller vouches that no other component changed since this encoder last encoded
        this environment (those are not even compared); None compares every one."""
        parts = []
        for name, comp in state.components.items():
            known = self._parts.get((state.env, name))
            if known is None or changed is None or name in changed:
                data = comp.to_dict()
                if known is None or known[0] != data:
                    known = (data, _compact(data))
                    self._parts[(state.env, name)] = known
            parts.append(f"{_compact(name)}:{known[1]}")
        rest = state.to_dict(components=False)
        return f'{{"env":{_compact(state.env)},"components":{{{",".join(parts)}}},{_compact(rest)[1:]}'


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


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

    def save(self, state: EnvState, *, changed: Collection[str] | None = None) -> None: ...

    def lock(self, env: str, holder: LockHolder, *,
             on_lost: Callable[[str], None] | None = None) -> contextlib.AbstractContextManager[list[str]]:
        """Hold the environment's run lock; yields warnings (a stale lock taken over). LockedError if held.

        ``on_lost(why)`` is called (from another thread) if the lock is taken away while held."""
        ...

    def read_lock(self, env: str) -> LockHolder | None: ...

    def break_lock(self, env: str) -> None: ...

    def append_run(self, record: dict[str, Any]) -> None: ...

    def runs(self, env: str | None = None) -> list[dict[str, Any]]:
        """Every run, newest last; a run recorded several times (started, then ended) appears once, latest."""
        ...
