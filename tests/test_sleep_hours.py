"""The hours of an average month under a schedule: crons in their time zone, daylight saving included."""

from __future__ import annotations

import datetime as _dt
from zoneinfo import ZoneInfo

import pytest

from envctl.config.model import ScheduleConfig
from envctl.sleep.hours import fire_times, month_hours

UTC = _dt.timezone.utc


def by_the_hour(zone_name: str, awake: callable) -> float:  # type: ignore[valid-type]
    """Count real hours over 52 weeks from a Monday, asking ``awake(local time)`` of each; scale to 730."""
    zone = ZoneInfo(zone_name)
    t = _dt.datetime(2030, 1, 7, tzinfo=zone).astimezone(UTC)
    end = _dt.datetime(2031, 1, 6, tzinfo=zone).astimezone(UTC)
    yes = total = 0
    while t < end:
        yes += bool(awake(t.astimezone(zone)))  # type: ignore[misc]
        total += 1
        t += _dt.timedelta(hours=1)
    return yes / total * 730


@pytest.mark.parametrize(("zone", "sleep", "wake", "awake"), [
    ("Europe/Amsterdam", "0 19 * * 1-5", "0 8 * * 1-5", lambda t: t.weekday() < 5 and 8 <= t.hour < 19),
    ("America/New_York", "0 22 * * *", "0 6 * * *", lambda t: 6 <= t.hour < 22),
    # asleep 01:00-04:00 local: the night the clocks go forward is 2 real hours asleep, back 4
    ("Europe/Amsterdam", "0 1 * * *", "0 4 * * *", lambda t: not 1 <= t.hour < 4),
    ("UTC", "0 18 * * fri", "0 7 * * mon", lambda t: not ((t.weekday() == 4 and t.hour >= 18) or t.weekday() in (5, 6)
                                                          or (t.weekday() == 0 and t.hour < 7))),
])
def test_month_hours_match_the_calendar(zone: str, sleep: str, wake: str, awake: object) -> None:
    hours = month_hours(ScheduleConfig(timezone=zone, sleep=sleep, wake=wake), year=2030)
    assert hours is not None
    assert hours.awake == pytest.approx(by_the_hour(zone, awake), abs=0.01)
    assert hours.awake + hours.asleep == pytest.approx(730)


def test_a_schedule_without_a_wake_has_no_forecast() -> None:
    assert month_hours(ScheduleConfig(timezone="UTC", sleep="0 19 * * *")) is None


def test_cron_times_follow_the_clock_change() -> None:
    start = _dt.datetime(2030, 3, 29, tzinfo=UTC)
    times = list(fire_times("0 19 * * *", "Europe/Amsterdam", start, start + _dt.timedelta(days=3)))
    # 19:00 in Amsterdam is 18:00 UTC before the clocks go forward (31 March 2030) and 17:00 after
    assert [t.hour for t in times] == [18, 18, 17]
    skipped = list(fire_times("30 2 * * *", "Europe/Amsterdam", _dt.datetime(2030, 3, 31, tzinfo=UTC),
                              _dt.datetime(2030, 4, 1, tzinfo=UTC)))
    assert skipped == [_dt.datetime(2030, 3, 31, 1, 0, tzinfo=UTC)]  # 02:30 does not exist: runs at the jump
