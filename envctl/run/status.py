"""What envctl knows of environments: the state of each component, and whether its scripts changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envctl.config import graph
from envctl.config.load import list_environment_names, load_environment
from envctl.config.model import Environment
from envctl.errors import EnvctlError, UsageError
from envctl.run.redact import Redactor, mask_outputs
from envctl.run.scriptenv import script_hashes
from envctl.state.backends import load_state
from envctl.state.model import EnvState


@dataclass(frozen=True)
class EnvRow:
    name: str
    state: str
    components: int
    target: str
    error: str | None = None


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    state: str
    since: str | None
    duration_s: float | None
    last_action: str | None
    last_result: str | None
    outputs: dict[str, str]  # as shown: a masked output's value is ***
    scripts_changed: bool
    depends_on: list[str]
    masked_outputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EnvStatus:
    env: str
    state: str
    components: list[ComponentStatus]
    up_since: str | None
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env, "state": self.state, "up_since": self.up_since,
            "components": [{"name": c.name, "state": c.state, "since": c.since, "duration_s": c.duration_s,
                            "last_action": c.last_action, "last_result": c.last_result, "outputs": c.outputs,
                            "masked_outputs": c.masked_outputs, "scripts_changed": c.scripts_changed,
                            "depends_on": c.depends_on}
                           for c in self.components],
            "warnings": self.warnings, **self.extra,
        }


def environment_status(env: Environment, st: EnvState | None = None) -> EnvStatus:
    st = st if st is not None else load_state(env)
    comps = []
    for name in graph.up_order(env.depends_on()):
        rec = st.components.get(name)
        changed = bool(rec and rec.scripts and rec.state != "down"
                       and rec.scripts != script_hashes(env.components[name]))
        # what the run recorded as masked, and what the patterns recognise (a state written before outputs
        # were marked, a DB_PASSWORD=... output)
        masked = sorted({*rec.masked_outputs, *Redactor().masked_keys(rec.outputs)}) if rec else []
        comps.append(ComponentStatus(
            name=name, state=rec.state if rec else "down", since=rec.since if rec else None,
            duration_s=rec.duration_s if rec else None, last_action=rec.last_action if rec else None,
            last_result=rec.last_result if rec else None,
            outputs=mask_outputs(rec.outputs, masked) if rec else {},
            scripts_changed=changed, depends_on=list(env.components[name].depends_on), masked_outputs=masked))
    stale = [n for n in st.components if n not in env.components and st.components[n].state != "down"]
    warnings = [f"'{n}' is {st.components[n].state} in the state but no longer in {env.file}: its resources "
                "may still exist" for n in stale]
    return EnvStatus(env.name, st.overall(list(env.components)), comps, st.up_since, warnings)


def list_environments(root: Path) -> list[EnvRow]:
    rows = []
    for name in list_environment_names(root):
        try:
            env = load_environment(root, name)
            st = load_state(env)
            rows.append(EnvRow(name, st.overall(list(env.components)), len(env.components), env.aws.target))
        except EnvctlError as err:
            rows.append(EnvRow(name, "unknown", 0, "?", error=str(err)))
    return rows


def pick_environment(root: Path, name: str | None, *, wanted: tuple[str, ...] = ("up", "partial", "asleep"),
                     what: str = "up") -> str:
    """``name``, or the one environment whose state is in ``wanted`` (an error naming them if several)."""
    if name:
        return name
    rows = [r for r in list_environments(root) if r.state in wanted]
    if len(rows) == 1:
        return rows[0].name
    if not rows:
        raise UsageError(f"no environment is {what}; name one", hint="envctl list shows them")
    raise UsageError(f"several environments are {what}: {', '.join(r.name for r in rows)}; name one")
