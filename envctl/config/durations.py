"""Durations as the contract writes them: ``45s``, ``30m``, ``12h``, ``2d`` (a bare number is seconds)."""

from __future__ import annotations

import datetime as _dt
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: object) -> float:
    """Seconds in ``text``; raises ValueError with a message naming the accepted forms."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration; write it as 45s, 30m, 12h or 2d")
    if isinstance(text, (int, float)):
        if text <= 0:
            raise ValueError(f"{text!r} is not a positive duration")
        return float(text)
    match = _PATTERN.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration; write it as 45s, 30m, 12h or 2d")
    value = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if value <= 0:
        raise ValueError(f"{text!r} is not a positive duration")
    return value


def format_duration(seconds: float) -> str:
    """A short human form: ``0.4s``, ``12s``, ``3m05s``, ``2h10m``."""
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def parse_iso(text: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(text)
