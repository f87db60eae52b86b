"""Scheduled sleeps that did not happen: found in the history, with what each one cost.

A schedule saves money only when its sleeps run. A nightly job can fail for weeks unnoticed (a failed job, a
lock held by a session nobody closed, a laptop asleep when its crontab fired), so ``envctl cost`` compares the
schedule's sleeps of the last 30 days with the runs the history recorded. A scheduled sleep was missed when
the environment was awake then (by the history's runs) and no sleep (nor down) succeeded within
:data:`TOLERANCE` of it; it cost the difference between the awake and the asleep rate for the hours until the
environment did go to sleep, was torn down, or the schedule woke it anyway.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from envctl.config.model import ScheduleConfig
from envctl.sleep.hours import fire_times

TOLERANCE = _dt.timedelta(hours=1)   # a scheduled job may start late (GitHub Actions queues them)
EARLY = _dt.timedelta(minutes=15)    # ... or someone ran the sleep a little before its time
DAYS = 30


@dataclass(frozen=True)
class MissedSleep:
    scheduled: _dt.datetime
    reason: str
    hours: float
    cost_usd: float | None

    def to_json(self) -> dict[str, Any]:
        return {"scheduled": self.scheduled.isoformat(timespec="minutes"), "reason": self.reason,
                "hours": round(self.hours, 2),
                "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 2)}


@dataclass(frozen=True)
class _Run:
    command: str
    result: str
    started: _dt.datetime
    ended: _dt.datetime


def _runs(records: Iterable[Mapping[str, Any]]) -> list[_Run]:
    out = []
    for rec in records:
        if rec.get("command") not in ("up", "down", "sleep", "wake") or not rec.get("started"):
            continue
        try:
            started = _aware(_dt.datetime.fromisoformat(str(rec["started"])))
            ended = _aware(_dt.datetime.fromisoformat(str(rec.get("ended") or rec["started"])))
        except ValueError:
            continue
        out.append(_Run(str(rec["command"]), str(rec.get("result") or ""), started, ended))
    return sorted(out, key=lambda r: r.ended)


def _aware(moment: _dt.datetime) -> _dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)


def _state_after(run: _Run, before: str) -> str:
    """What a run left: a successful sleep asleep, a successful down down; an up or wake (even a failed one)
    something billing."""
    if run.command in ("up", "wake"):
        return "awake"
    if run.result == "ok":
        return "asleep" if run.command == "sleep" else "down"
    return before


def _state_at(runs: list[_Run], moment: _dt.datetime) -> str:
    state = "unknown"
    for run in runs:
        if run.ended > moment:
            break
        state = _state_after(run, state)
    return state


def missed_sleeps(records: Iterable[Mapping[str, Any]], schedule: ScheduleConfig, *, now: _dt.datetime,
                  saved_hourly: float | None, days: int = DAYS) -> list[MissedSleep]:
    """The scheduled sleeps of the last ``days`` that the history ``records`` show did not happen."""
    if not schedule.sleep:
        return []
    runs = _runs(records)
    start = now - _dt.timedelta(days=days)
    wakes = list(fire_times(schedule.wake, schedule.timezone, start, now + _dt.timedelta(days=8))) \
        if schedule.wake else []
    missed = []
    for moment in fire_times(schedule.sleep, schedule.timezone, start, now - TOLERANCE):
        if _state_at(runs, moment) != "awake":
            continue  # asleep already, torn down, or before the history begins
        near = [r for r in runs if r.command in ("sleep", "down") and moment - EARLY <= r.started <= moment + TOLERANCE]
        if any(r.result == "ok" for r in near):
            continue
        end = min([t for t in wakes if t > moment] + [r.ended for r in runs if r.ended > moment and
                   r.command in ("sleep", "down") and r.result == "ok"] + [now])
        hours = (end - moment).total_seconds() / 3600
        failed = [r for r in near if r.command == "sleep"]
        reason = (f"the sleep run at {failed[0].started:%H:%M} UTC ended {failed[0].result}" if failed
                  else "no sleep run was recorded (the job did not run, or did not get the lock)")
        missed.append(MissedSleep(moment, reason, hours, None if saved_hourly is None else hours * saved_hourly))
    return missed
