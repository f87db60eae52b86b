"""Where the time of a run went: its steps on a time axis and the critical path that decided its wall time.

Pure functions over one history run record (see :mod:`envctl.state`); the pictures are drawn by
:mod:`envctl.timeline.svg`. The critical path starts at the step that ended last and steps back, each time, to
the dependency step that ended latest before the current one started: that is the chain a faster scheduler
could not have shortened. On ``down`` and ``sleep`` the graph runs the other way (a component's delete waits
for its dependents' deletes), so there "dependency" means dependent.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, replace
from typing import Any

from envctl.config.durations import format_duration
from envctl.errors import StateError

# Commands whose steps wait for their dependents rather than for their dependencies.
REVERSED_COMMANDS = frozenset({"down", "sleep", "reap"})
RESULTS = ("ok", "failed", "timeout", "interrupted")

# A dependent is started only after its dependency ended, but the two times are read at slightly different
# moments by the run engine: this much overlap still counts as "ended before it started".
_SLACK_S = 1.0
_LANE_SLACK_S = 0.001


@dataclass(frozen=True)
class Bar:
    """One step on the time axis; ``start``/``end`` are seconds since the run started."""

    index: int
    component: str
    action: str
    result: str
    start: float
    end: float
    start_iso: str
    end_iso: str
    critical: bool = False
    lane: int = 0

    @property
    def duration(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class RunTimeline:
    """A run laid out for drawing: bars by start time, the critical path in order (first step first)."""

    run_id: str
    command: str
    env: str
    result: str
    parallel: int
    started: str
    ended: str | None
    wall_s: float
    bars: tuple[Bar, ...]
    critical: tuple[int, ...]          # Bar.index values, earliest first
    not_run: tuple[str, ...]           # components of the graph without a step (skipped or blocked)
    not_run_why: dict[str, str]        # why, where the record says (the engine's "skipped")
    reversed: bool
    lanes: int                         # the most steps that ran at once

    @property
    def critical_bars(self) -> list[Bar]:
        by_index = {bar.index: bar for bar in self.bars}
        return [by_index[i] for i in self.critical]

    @property
    def critical_path_s(self) -> float:
        return sum(bar.duration for bar in self.critical_bars)

    @property
    def not_run_text(self) -> str:
        """``app (not started: cluster failed), dns``."""
        return ", ".join(f"{c} ({self.not_run_why[c]})" if c in self.not_run_why else c for c in self.not_run)

    @property
    def sum_s(self) -> float:
        return sum(bar.duration for bar in self.bars)


def _parse(text: str, what: str) -> _dt.datetime:
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise StateError(f"{what}: {text!r} is not an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def _edges(depends_on: dict[str, list[str]], *, flip: bool) -> dict[str, set[str]]:
    waits: dict[str, set[str]] = {name: set() for name in depends_on}
    for name, deps in depends_on.items():
        for dep in deps or ():
            waits.setdefault(dep, set())
            if flip:
                waits[dep].add(name)
            else:
                waits[name].add(dep)
    return waits


def _violations(waits: dict[str, set[str]], bars: list[Bar]) -> int:
    """How many waits the recorded times contradict (the waited-for step ended after the waiter started)."""
    first_end: dict[str, float] = {}
    last_start: dict[str, float] = {}
    for bar in bars:
        first_end[bar.component] = min(first_end.get(bar.component, bar.end), bar.end)
        last_start[bar.component] = max(last_start.get(bar.component, bar.start), bar.start)
    return sum(1 for name, deps in waits.items() if name in last_start
               for dep in deps if dep in first_end and first_end[dep] > last_start[name] + _SLACK_S)


def _waits_for(run: dict[str, Any], bars: list[Bar]) -> tuple[dict[str, set[str]], bool]:
    """component -> the components whose steps it waited for in this run, and whether that is reversed.

    The run engine records ``depends_on`` as what each component waited for in the run's own direction and
    says so with ``"reverse"``; a record without that key lists plain dependencies, to be read backwards on
    ``down`` and ``sleep``. When the recorded times contradict that reading and agree with the other one,
    the times win: they are what happened.
    """
    depends_on: dict[str, list[str]] = run.get("depends_on") or {}
    reverse = bool(run["reverse"]) if "reverse" in run else run.get("command") in REVERSED_COMMANDS
    flip = "reverse" not in run and reverse
    chosen, other = _edges(depends_on, flip=flip), _edges(depends_on, flip=not flip)
    if _violations(chosen, bars) > _violations(other, bars):
        chosen = other
    return chosen, reverse


def _raw_bars(run: dict[str, Any]) -> tuple[_dt.datetime, list[Bar]]:
    run_id = run.get("run_id", "?")
    steps = run.get("steps") or []
    starts = [_parse(s["start"], f"run {run_id}: step {i + 1} start") for i, s in enumerate(steps)
              if s.get("start")]
    origin = _parse(run["started"], f"run {run_id}: started") if run.get("started") else None
    if origin is None or (starts and min(starts) < origin):
        origin = min(starts) if starts else _dt.datetime.now(_dt.timezone.utc)
    run_end = _parse(run["ended"], f"run {run_id}: ended") if run.get("ended") else None
    bars = []
    for i, step in enumerate(steps):
        if not step.get("start"):
            continue
        start = _parse(step["start"], f"run {run_id}: step {i + 1} start")
        end = _parse(step["end"], f"run {run_id}: step {i + 1} end") if step.get("end") else None
        if end is None:  # a step of a run that is still going, or was killed before it recorded its end
            end = max(run_end or start, start)
        bars.append(Bar(index=i, component=str(step.get("component", "?")),
                        action=str(step.get("action", "?")), result=str(step.get("result") or "interrupted"),
                        start=(start - origin).total_seconds(), end=(end - origin).total_seconds(),
                        start_iso=str(step["start"]), end_iso=str(step.get("end") or end.isoformat())))
    return origin, bars


def _critical(bars: list[Bar], waits: dict[str, set[str]]) -> list[int]:
    if not bars:
        return []
    current = max(bars, key=lambda b: (b.end, b.start, b.index))
    path = [current.index]
    while True:
        # A step outside the graph (a built-in phase such as scaling nodegroups after the sleep scripts, or
        # a record without depends_on) follows whatever ran before it.
        deps = waits.get(current.component)
        candidates = [b for b in bars
                      if b.index != current.index and b.start < current.start
                      and b.end <= current.start + _SLACK_S
                      and (deps is None or b.component in deps or b.component == current.component)]
        if not candidates:
            break
        current = max(candidates, key=lambda b: (b.end, b.start, b.index))
        path.append(current.index)
    return list(reversed(path))


def _assign_lanes(bars: list[Bar]) -> tuple[list[Bar], int]:
    """Each bar on the lowest slot free when it started (the slots of ``--parallel``, as they were used)."""
    lane_ends: list[float] = []
    placed = []
    for bar in bars:
        lane = next((n for n, end in enumerate(lane_ends) if end <= bar.start + _LANE_SLACK_S), None)
        if lane is None:
            lane = len(lane_ends)
            lane_ends.append(bar.end)
        else:
            lane_ends[lane] = bar.end
        placed.append(replace(bar, lane=lane))
    return placed, len(lane_ends)


def analyse(run: dict[str, Any]) -> RunTimeline:
    """Lay out one history run record: bars by start time, lanes, the critical path."""
    origin, bars, reverse, critical = _chain(run)
    on_path = set(critical)
    bars = [replace(b, critical=b.index in on_path) for b in bars]
    bars, lanes = _assign_lanes(bars)
    last_end = max((b.end for b in bars), default=0.0)
    ended = run.get("ended")
    wall = (_parse(ended, f"run {run['run_id']}: ended") - origin).total_seconds() if ended else last_end
    ran = {b.component for b in bars}
    graph = list(dict.fromkeys([*(run.get("depends_on") or {}),
                                *(d for ds in (run.get("depends_on") or {}).values() for d in ds or ())]))
    skipped = run.get("skipped")
    why: dict[str, Any] = skipped if isinstance(skipped, dict) else {}
    return RunTimeline(
        run_id=str(run["run_id"]), command=str(run.get("command", "?")), env=str(run.get("env", "?")),
        result=str(run.get("result", "?")), parallel=int(run.get("parallel") or max(lanes, 1)),
        started=origin.isoformat(), ended=ended, wall_s=max(wall, last_end), bars=tuple(bars),
        critical=tuple(critical), not_run=tuple(c for c in graph if c not in ran),
        not_run_why={c: str(why[c]) for c in graph if c not in ran and why.get(c)},
        reversed=reverse, lanes=lanes)


def critical_path(run: dict[str, Any]) -> list[str]:
    """The components of the chain that decided the run's wall time, earliest first."""
    return [bar.component for bar in critical_chain(run)]


def critical_chain(run: dict[str, Any]) -> list[Bar]:
    """The steps of :func:`analyse`'s critical path, without the layout a picture needs (what the end of a run
    prints, right after its last step)."""
    _, bars, _, critical = _chain(run)
    by_index = {bar.index: bar for bar in bars}
    return [by_index[i] for i in critical]


def _chain(run: dict[str, Any]) -> tuple[_dt.datetime, list[Bar], bool, list[int]]:
    """A run record's bars by start time, whether it ran reversed, and its critical path (Bar.index values)."""
    if not isinstance(run, dict) or "run_id" not in run:
        raise StateError("not a run record: it has no run_id")
    origin, bars = _raw_bars(run)
    bars.sort(key=lambda b: (b.start, b.end, b.index))
    waits, reverse = _waits_for(run, bars)
    return origin, bars, reverse, _critical(bars, waits)


def summary_line(run: dict[str, Any]) -> str:
    """One line for the end of a run: ``critical path: network → cluster → app, 1m00s of 1m01s wall``."""
    line = analyse(run)
    if not line.critical:
        return "critical path: none (no step ran)"
    chain = " → ".join(bar.component for bar in line.critical_bars)
    return (f"critical path: {chain}, {format_duration(line.critical_path_s)} "
            f"of {format_duration(line.wall_s)} wall")


def to_json(run: dict[str, Any]) -> dict[str, Any]:
    """The contract's shape ``{"run_id", "critical_path", "steps": [...]}``, plus totals and offsets."""
    line = analyse(run)
    return {
        "run_id": line.run_id,
        "command": line.command,
        "env": line.env,
        "result": line.result,
        "parallel": line.parallel,
        "wall_s": round(line.wall_s, 3),
        "critical_path": [bar.component for bar in line.critical_bars],
        "critical_path_s": round(line.critical_path_s, 3),
        "sum_s": round(line.sum_s, 3),
        "max_concurrency": line.lanes,
        "not_run": [{"component": c, "why": line.not_run_why.get(c)} for c in line.not_run],
        "steps": [{"component": b.component, "action": b.action, "start": b.start_iso, "end": b.end_iso,
                   "result": b.result, "offset_s": round(b.start, 3), "duration_s": round(b.duration, 3),
                   "critical": b.critical} for b in line.bars],
    }
