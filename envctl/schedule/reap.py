"""``reap``: tear down every environment that has been up longer than its ``schedule.down_after``.

Meant for a cron every 15 minutes, so an environment nobody remembered stops costing money. ``down_after``
counts from the moment the environment last went up from down (``EnvState.up_since``); ``partial`` counts as
up (half an environment still costs). An asleep environment is not reaped: it went to sleep on purpose.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from envctl.config.durations import parse_iso
from envctl.config.load import list_environment_names, load_environment
from envctl.config.model import Environment
from envctl.errors import EnvctlError, ExitCode, LockedError
from envctl.run.results import Reporter, RunOptions, RunResult
from envctl.state.backends import load_state
from envctl.state.model import EnvState

REAPED_STATES = ("up", "partial")


class Due(NamedTuple):
    env: str
    up_since: str
    down_after: float


def _since(st: EnvState) -> str | None:
    if st.up_since:
        return st.up_since
    times = [c.since for c in st.components.values() if c.state != "down" and c.since]
    return min(times) if times else None


def due_for_reap(envs: Iterable[Environment], now: _dt.datetime | None = None) -> list[Due]:
    """The environments up (or partial) for longer than their ``down_after``, oldest first."""
    moment = now or _dt.datetime.now(_dt.timezone.utc)
    due = []
    for env in envs:
        if env.schedule is None or env.schedule.down_after is None:
            continue
        st = load_state(env)
        if st.overall(list(env.components)) not in REAPED_STATES:
            continue
        since = _since(st)
        if since is None:
            continue
        if (moment - parse_iso(since)).total_seconds() > env.schedule.down_after:
            due.append(Due(env.name, since, env.schedule.down_after))
    return sorted(due, key=lambda d: d.up_since)


@dataclass(frozen=True)
class Reaped:
    due: Due
    run: RunResult | None = None
    error: str = ""
    exit_code: ExitCode = ExitCode.OK


@dataclass(frozen=True)
class ReapResult:
    reaped: list[Reaped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # environments that could not be read

    @property
    def exit_code(self) -> ExitCode:
        codes = [r.exit_code for r in self.reaped if r.exit_code != ExitCode.OK]
        return max(codes) if codes else ExitCode.OK


def candidates(root: Path, names: Sequence[str] = ()) -> tuple[list[Environment], list[str]]:
    """The environments to consider, and a message for each that could not be loaded."""
    envs, problems = [], []
    for name in names or list_environment_names(root):
        try:
            envs.append(load_environment(root, name))
        except EnvctlError as err:
            if names:
                raise
            problems.append(f"{name}: skipped, {err}")
    return envs, problems


def reap(root: Path, names: Sequence[str] = (), *, reporter: Reporter, dry_run: bool = False,
         now: _dt.datetime | None = None, options: RunOptions | None = None) -> ReapResult:
    """Tear down what is due. A locked environment is left for the next round (someone is working on it)."""
    from envctl.teardown import leaks

    envs, problems = candidates(root, names)
    result = ReapResult([], problems)
    for due in due_for_reap(envs, now):
        if dry_run:
            result.reaped.append(Reaped(due))
            continue
        reporter.note(f"reaping {due.env}: up since {due.up_since[:19]}, longer than its down_after")
        try:
            run = leaks.down(root, due.env, options or RunOptions(), reporter=reporter)
        except LockedError as err:
            result.reaped.append(Reaped(due, error=f"{err.message}; left for the next round"))
            continue
        except EnvctlError as err:
            result.reaped.append(Reaped(due, error=str(err), exit_code=err.exit_code))
            continue
        result.reaped.append(Reaped(due, run, exit_code=run.exit_code))
    return result
