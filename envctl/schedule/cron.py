"""Five-field cron expressions: parse them, and move them from a local time zone to UTC.

GitHub Actions runs ``schedule:`` crons in UTC, while an environment's ``schedule:`` is written in its own
time zone. A zone with daylight saving time has two UTC offsets in a year, so one local time is two UTC
crons; :func:`utc_offsets` lists the offsets a zone uses and :func:`to_utc` converts for one of them.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from zoneinfo import ZoneInfo

_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_DAYS = {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
# name, lowest, highest, names
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS), ("day of week", 0, 7, _DAYS))


class CronError(ValueError):
    """A cron expression envctl cannot read or cannot move to UTC; the message says which part."""


def expand(text: str, index: int) -> set[int]:
    """The values field ``index`` (0 = minute ... 4 = day of week) of a cron expression matches."""
    name, low, high, names = _FIELDS[index]
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, name, names={}) if step_text else 1
        if step < 1:
            raise CronError(f"{name} '{part}': a step must be 1 or more")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = _number(first, name, names), _number(last, name, names)
        else:
            start = _number(base, name, names)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise CronError(f"{name} '{part}' is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    if index == 4 and 7 in values:  # Sunday is 0 and 7
        values.discard(7)
        values.add(0)
    return values


def _number(text: str, field: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise CronError(f"{field} '{text}' is not a number")
    return int(text)


def validate(cron: str) -> list[str]:
    fields = cron.split()
    if len(fields) != 5:
        raise CronError(f"'{cron}' is not a 5-field cron expression (minute hour day-of-month month day-of-week)")
    for index, text in enumerate(fields):
        expand(text, index)
    return fields


def compress(values: set[int], low: int, high: int) -> str:
    """The shortest usual spelling: ``*``, ``*/15``, ``1-5``, ``0,30``, ``1-3,5``."""
    ordered = sorted(values)
    if ordered == list(range(low, high + 1)):
        return "*"
    if len(ordered) > 2 and ordered[0] == low:
        step = ordered[1] - ordered[0]
        if ordered == list(range(low, high + 1, step)):
            return f"*/{step}"
    parts, start = [], ordered[0]
    for prev, cur in zip(ordered, [*ordered[1:], None], strict=True):
        if cur is not None and cur == prev + 1:
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if cur is not None:
            start = cur
    return ",".join(parts)


def to_utc(cron: str, offset_minutes: int) -> list[str]:
    """``cron`` in a zone that is ``offset_minutes`` ahead of UTC, as UTC crons (one or more lines).

    A time that crosses midnight moves the day of the week with it. Days of the month and months cannot be
    moved that way (the last day of a month differs), so such a cron is refused when it crosses midnight.
    """
    minute, hour, dom, month, dow = validate(cron)
    by_delta: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for h in expand(hour, 1):
        for m in expand(minute, 0):
            delta, utc = divmod(h * 60 + m - offset_minutes, 24 * 60)
            by_delta[delta].add(divmod(utc, 60))
    if set(by_delta) != {0} and (dom != "*" or month != "*"):
        raise CronError(f"'{cron}' falls on another day in UTC; envctl moves the day of the week then, but not a "
                        "day of the month or a month: use * for those, or a time that stays on the same day in UTC")
    by_days: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for delta, pairs in sorted(by_delta.items()):
        days = dow if dow == "*" or delta == 0 else compress({(d + delta) % 7 for d in expand(dow, 4)}, 0, 6)
        by_days[days] |= pairs
    lines = []
    for days, pairs in by_days.items():
        minutes_by_hour: dict[int, set[int]] = defaultdict(set)
        for h, m in pairs:
            minutes_by_hour[h].add(m)
        hours_by_minutes: dict[frozenset[int], set[int]] = defaultdict(set)
        for h, mins in minutes_by_hour.items():
            hours_by_minutes[frozenset(mins)].add(h)
        for group, hs in sorted(hours_by_minutes.items(), key=lambda item: min(item[1])):
            lines.append(f"{compress(set(group), 0, 59)} {compress(hs, 0, 23)} {dom} {month} {days}")
    return lines


def utc_offsets(timezone: str, *, start: _dt.datetime | None = None) -> list[int]:
    """The UTC offsets (minutes, lowest first) ``timezone`` uses in the year from ``start`` (default: now)."""
    zone = ZoneInfo(timezone)
    begin = start or _dt.datetime.now(_dt.timezone.utc)
    found = set()
    for day in range(0, 367):
        offset = (begin + _dt.timedelta(days=day)).astimezone(zone).utcoffset()
        if offset is not None:
            found.add(int(offset.total_seconds() // 60))
    return sorted(found)


def format_offset(minutes: int) -> str:
    """``+0100`` as ``date +%z`` prints it."""
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{mins:02d}"
