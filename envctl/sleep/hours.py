"""The hours a schedule keeps an environment awake and asleep in an average month, from its crons.

The crons are read in the schedule's time zone, as ``CRON_TZ`` cron and envctl's GitHub workflow run them,
and every interval is measured in real elapsed time, so the 23-hour and 25-hour days of daylight saving
count as what they are. The average month is AWS's 730 hours (8,760 / 12): envctl walks 52 whole weeks
(every weekday equally often, both clock changes of the year inside) and scales what it finds to 730 hours.
A local time the clock skips in spring fires when the clock jumps, as cron runs it just after the change;
a time that exists twice in autumn fires once, the first time.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from envctl.config.model import ScheduleConfig
from envctl.schedule import cron as cronexpr

HOURS_PER_MONTH = 730.0
WEEKS = 52
UTC = _dt.timezone.utc
EXAMPLE = ScheduleConfig(timezone="UTC", sleep="0 19 * * 1-5", wake="0 8 * * 1-5")
"""What envctl shows for an environment without a schedule: awake on weekdays 08:00-19:00."""


@dataclass(frozen=True)
class MonthHours:
    awake: float
    asleep: float

    def to_json(self) -> dict[str, float]:
        return {"awake": round(self.awake, 2), "asleep": round(self.asleep, 2)}


@dataclass(frozen=True)
class _Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # cron's: 0 = Sunday
    day_or_weekday: bool      # both restricted: cron fires when either matches

    @classmethod
    def parse(cls, text: str) -> _Cron:
        minute, hour, dom, month, dow = cronexpr.validate(text)
        return cls(frozenset(cronexpr.expand(minute, 0)), frozenset(cronexpr.expand(hour, 1)),
                   frozenset(cronexpr.expand(dom, 2)), frozenset(cronexpr.expand(month, 3)),
                   frozenset(cronexpr.expand(dow, 4)), dom != "*" and dow != "*")

    def on(self, day: _dt.date) -> bool:
        if day.month not in self.months:
            return False
        by_day, by_weekday = day.day in self.days, (day.isoweekday() % 7) in self.weekdays
        return (by_day or by_weekday) if self.day_or_weekday else (by_day and by_weekday)


def fire_times(cron: str, timezone: str, start: _dt.datetime, end: _dt.datetime) -> Iterator[_dt.datetime]:
    """The moments (UTC, ascending) in ``[start, end)`` when ``cron`` fires in ``timezone``."""
    spec, zone = _Cron.parse(cron), ZoneInfo(timezone)
    day = start.astimezone(zone).date() - _dt.timedelta(days=1)
    last = end.astimezone(zone).date() + _dt.timedelta(days=1)
    while day <= last:
        if spec.on(day):
            for hour in sorted(spec.hours):
                for minute in sorted(spec.minutes):
                    moment = _instant(_dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone))
                    if start <= moment < end:
                        yield moment
        day += _dt.timedelta(days=1)


def _instant(local: _dt.datetime) -> _dt.datetime:
    """When a local wall-clock time happens; one the clock skips happens when the clock jumps over it."""
    wall = local.replace(tzinfo=None)
    moment = local.astimezone(UTC)
    if moment.astimezone(local.tzinfo).replace(tzinfo=None) == wall:
        return moment
    moment = local.replace(fold=1).astimezone(UTC)  # still before the jump
    while moment.astimezone(local.tzinfo).replace(tzinfo=None) < wall:
        moment += _dt.timedelta(minutes=1)
    return moment


def window(timezone: str, year: int) -> tuple[_dt.datetime, _dt.datetime]:
    """52 weeks from the first Monday of ``year`` (local midnight): every weekday 52 times, both clock
    changes of the year inside."""
    zone = ZoneInfo(timezone)
    first = _dt.date(year, 1, 1)
    monday = first + _dt.timedelta(days=(7 - first.weekday()) % 7)
    start = _dt.datetime(monday.year, monday.month, monday.day, tzinfo=zone).astimezone(UTC)
    end_day = monday + _dt.timedelta(weeks=WEEKS)
    end = _dt.datetime(end_day.year, end_day.month, end_day.day, tzinfo=zone).astimezone(UTC)
    return start, end


def transitions(schedule: ScheduleConfig, start: _dt.datetime,
                end: _dt.datetime) -> list[tuple[_dt.datetime, str]]:
    """``(moment, "sleep"|"wake")`` in ``[start, end)``, in order; a wake at the same minute wins."""
    events = [(t, "sleep") for t in fire_times(schedule.sleep or "", schedule.timezone, start, end)]
    events += [(t, "wake") for t in fire_times(schedule.wake or "", schedule.timezone, start, end)]
    return sorted(events, key=lambda e: (e[0], e[1] == "wake"))


def month_hours(schedule: ScheduleConfig, *, year: int | None = None) -> MonthHours | None:
    """Awake and asleep hours of an average month under ``schedule``; None without both crons."""
    if not schedule.sleep or not schedule.wake:
        return None
    year = year or _dt.datetime.now(UTC).year
    start, end = window(schedule.timezone, year)
    # The state at the window's start: the last event of the five weeks before it (monthly crons included).
    before = transitions(schedule, start - _dt.timedelta(weeks=5), start)
    awake = not before or before[-1][1] == "wake"
    awake_s, since = 0.0, start
    for moment, kind in transitions(schedule, start, end):
        if awake:
            awake_s += (moment - since).total_seconds()
        awake, since = kind == "wake", moment
    if awake:
        awake_s += (end - since).total_seconds()
    share = awake_s / (end - start).total_seconds()
    return MonthHours(HOURS_PER_MONTH * share, HOURS_PER_MONTH * (1 - share))
