"""``envctl cost ENV``: the month ahead under the environment's schedule, from the live inventory.

Infracost prices a month as 730 hours and cannot know an environment sleeps; envctl knows the schedule, the
resources and what sleep switches off. The month: awake hours x the awake rate + asleep hours x the asleep
rate (:mod:`envctl.sleep.hours` for the hours, :mod:`envctl.sleep.costmodel` for the rates), next to always
on (awake rate x 730), what keeps billing while asleep (what a teardown at night would save over a sleep)
and the scheduled sleeps of the last 30 days that did not happen. Read-only.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envctl.config.load import load_environment
from envctl.config.model import Environment, ScheduleConfig
from envctl.inventory.model import ClientFactory
from envctl.sleep.costmodel import CostModel
from envctl.sleep.hours import EXAMPLE, HOURS_PER_MONTH, MonthHours, month_hours
from envctl.sleep.missed import MissedSleep, missed_sleeps
from envctl.sleep.targets import read_only
from envctl.state.model import EnvState


@dataclass(frozen=True)
class Forecast:
    env: str
    state: str
    schedule: ScheduleConfig | None     # None: none in env.yaml, or one envctl cannot forecast (no wake)
    hours: MonthHours                   # of ``schedule``, else of the example schedule
    model: CostModel
    missed: list[MissedSleep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    spend: Any = None                   # envctl.sleep.spend.ComponentSpend with --spend

    @property
    def always_on(self) -> float:
        return self.model.awake * HOURS_PER_MONTH

    @property
    def scheduled(self) -> float:
        return self.model.awake * self.hours.awake + self.model.asleep * self.hours.asleep

    @property
    def on_schedule(self) -> float:
        return self.scheduled if self.schedule else self.always_on

    @property
    def teardown_saves(self) -> float:
        """Down every night instead of asleep: what still bills while asleep, over the asleep hours."""
        return self.model.asleep * self.hours.asleep

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "env": self.env, "state": self.state, "schedule": _schedule_json(self.schedule),
            "hours_per_month": (self.hours if self.schedule else MonthHours(HOURS_PER_MONTH, 0.0)).to_json(),
            "hourly_usd": {"awake": _r(self.model.awake), "asleep": _r(self.model.asleep), "now": _r(self.model.now)},
            "monthly_usd": {"always_on": _m(self.always_on), "on_schedule": _m(self.on_schedule),
                            "saving": _m(self.always_on - self.on_schedule),
                            "teardown_instead_of_sleep_saves": _m(self.teardown_saves) if self.schedule else None},
            "unpriced": self.model.unpriced,
            "bills_while_asleep": [line.to_json() for line in self.model.bills_while_asleep],
            "missed_sleeps": [m.to_json() for m in self.missed],
            "notes": self.notes}
        if not self.schedule:
            data["example"] = {"schedule": _schedule_json(EXAMPLE), "hours_per_month": self.hours.to_json(),
                               "on_schedule": _m(self.scheduled), "saving": _m(self.always_on - self.scheduled)}
        if self.spend is not None:
            data["spend"] = self.spend.to_json()
        return data


def _r(value: float) -> float:
    return round(value, 4)


def _m(value: float) -> float:
    return round(value, 2)


def _schedule_json(schedule: ScheduleConfig | None) -> dict[str, str | None] | None:
    if schedule is None:
        return None
    return {"timezone": schedule.timezone, "sleep": schedule.sleep, "wake": schedule.wake}


def live_model(env: Environment, root: Path, state: EnvState, factory: ClientFactory,
               reads: ClientFactory) -> CostModel:
    """The cost lines of the environment as it is: the inventory priced (through ``factory``), and what sleep
    switches off (through ``reads``, read-only clients of their own: the inventory guards its clients
    for its own reads only)."""
    from envctl.sleep import costmodel
    from envctl.sleep.savings import sleepables
    from envctl.teardown import verify

    found = sleepables(env.name, region=env.region, config=env.sleep, client_factory=reads,
                       remembered=state.sleep)
    report = verify.verify_environment(env, root, client_factory=factory, account_check=False)
    return costmodel.build(report, found)


def forecast(root: Path, name: str, *, spend: bool = False, client_factory: ClientFactory | None = None,
             now: _dt.datetime | None = None) -> Forecast:
    """The month ahead of environment ``name`` (the core of ``envctl cost``)."""
    from envctl.state.backends import backend_for

    env = load_environment(root, name)
    backend = backend_for(root, env.state, env=env)
    state = backend.load(env.name)
    overall = state.overall(list(env.components))
    notes = _sandbox_notes(env, root, state, overall)
    if overall == "down":
        notes.append(f"{env.name} is down: nothing of it runs to forecast (envctl up {env.name} first)")
    factories = _Factories(env, root, client_factory)
    model = CostModel(()) if notes else live_model(env, root, state, factories.main(), factories.reads())
    schedule, hours = env.schedule, month_hours(env.schedule) if env.schedule else None
    if env.schedule and hours is None:
        notes.append("the schedule needs both a sleep and a wake cron to forecast its hours; shown without it")
        schedule = None
    now = now or _dt.datetime.now(_dt.timezone.utc)
    missed = missed_sleeps(backend.runs(env.name), schedule, now=now,
                           saved_hourly=model.awake - model.asleep) if schedule else []
    result = Forecast(env.name, overall, schedule, hours or _example_hours(), model, missed, notes)
    if spend:
        from envctl.sleep.spend import spend_by_component

        if env.aws.target == "sandbox" and not _sandbox_running(root):
            notes.append("the sandbox is not running: there is no spend to ask it for")
        else:
            result = dataclasses.replace(result, spend=spend_by_component(env.name, factories.main()))
    return result


def _example_hours() -> MonthHours:
    hours = month_hours(EXAMPLE)
    assert hours is not None  # the example has both crons
    return hours


class _Factories:
    """Client factories made only when needed: making one for the sandbox starts it, and ``cost`` only looks."""

    def __init__(self, env: Environment, root: Path, given: ClientFactory | None) -> None:
        self.env, self.root, self.given = env, root, given
        self._main: ClientFactory | None = None

    def _new(self) -> ClientFactory:
        from envctl.aws.session import client_factory_for

        return self.given or client_factory_for(self.env, self.root)

    def main(self) -> ClientFactory:
        self._main = self._main or self._new()
        return self._main

    def reads(self) -> ClientFactory:
        return read_only(self._new())


def _sandbox_running(root: Path) -> bool:
    from envctl.aws import sandbox

    return sandbox.status(root) is not None


def _sandbox_notes(env: Environment, root: Path, state: EnvState, overall: str) -> list[str]:
    """Never start the sandbox to forecast: a stopped or restarted one has nothing of the environment."""
    if env.aws.target != "sandbox" or overall == "down":
        return []
    from envctl.aws import sandbox

    message = sandbox.check_environment_alive(root, state.sandbox_id, env=env.name) if state.sandbox_id else None
    return [message] if message else []
