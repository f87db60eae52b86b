"""Reading write events from CloudTrail's event history, the same way from the sandbox and a real account.

``LookupEvents`` takes one lookup attribute, returns 50 events a page and allows about 2 calls a second per
account and region, over the last 90 days. So: one pass per region over ``ReadOnly=false`` (writes are far
fewer than reads, and one pass serves every service), bounded by the time window, paced, and stopped after
:data:`MAX_EVENTS` events; whatever could not be read is said, never guessed.
"""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from envctl.inventory.collectors import AUDIT_ACTIONS
from envctl.inventory.model import ClientFactory
from envctl.inventory.readonly import guard

RETENTION = _dt.timedelta(days=90)
MAX_EVENTS = 10_000          # per region and audit: 200 pages, about 100 s at the documented rate
CALLS_PER_SECOND = 2.0



@dataclass(frozen=True)
class EventWindow:
    """The write events of ``regions`` between ``start`` and ``end``, oldest first."""

    events: tuple[dict[str, Any], ...]
    regions: tuple[str, ...]
    start: _dt.datetime
    end: _dt.datetime
    problems: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.problems


class Pace:
    """At most ``per_second`` calls a second (None: no limit, for a local sandbox)."""

    def __init__(self, per_second: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._gap = 1.0 / per_second if per_second else 0.0
        self._clock, self._sleep = clock, sleep
        self._next = 0.0

    def wait(self) -> None:
        if not self._gap:
            return
        now = self._clock()
        if now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._gap


def clip(start: _dt.datetime, end: _dt.datetime) -> tuple[_dt.datetime, str | None]:
    """``start`` moved up to CloudTrail's 90 days of event history, with a note when it had to be."""
    oldest = end - RETENTION
    if start >= oldest:
        return start, None
    return oldest, (f"CloudTrail's event history keeps 90 days: events before {oldest:%Y-%m-%d} cannot be read "
                    "(resources made earlier show as unknown)")


def read_writes(client_factory: ClientFactory, regions: Sequence[str], start: _dt.datetime, end: _dt.datetime,
                *, pace: Pace | None = None, max_events: int = MAX_EVENTS) -> EventWindow:
    """Every write event in ``regions`` between ``start`` and ``end``."""
    pace = pace or Pace(CALLS_PER_SECOND)
    events: list[dict[str, Any]] = []
    problems: list[str] = []
    for region in regions:
        client = guard(client_factory("cloudtrail", region), AUDIT_ACTIONS)
        try:
            for count, event in enumerate(_pages(client, start, end, pace), 1):
                if count > max_events:
                    problems.append(f"{region}: stopped after {max_events} write events; the window from "
                                    f"{start:%Y-%m-%d %H:%M} UTC was not read to its start")
                    break
                events.append(event)
        except Exception as err:  # denied, throttled after retries, unreachable, not served: all "cannot read"
            problems.append(f"{region}: {explain(err)}")
    events.sort(key=lambda e: str(e.get("eventTime") or ""))
    return EventWindow(tuple(events), tuple(regions), start, end, tuple(problems))


def _pages(client: Any, start: _dt.datetime, end: _dt.datetime, pace: Pace) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        pace.wait()
        extra: dict[str, str] = {"NextToken": token} if token else {}
        page = client.lookup_events(LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}],
                                    StartTime=start, EndTime=end, MaxResults=50, **extra)
        for item in page.get("Events") or []:
            try:
                event = json.loads(item.get("CloudTrailEvent") or "{}")
            except ValueError:
                continue
            if isinstance(event, dict):
                yield event
        token = page.get("NextToken")
        if not token:
            return


def explain(err: BaseException) -> str:
    """Why CloudTrail could not be read, in words that say what to do."""
    response = getattr(err, "response", None) or {}
    code = str((response.get("Error") or {}).get("Code") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if "AccessDenied" in code or "UnauthorizedOperation" in code:
        return ("cloudtrail:LookupEvents was denied: provenance cannot be read (grant it: "
                "`envctl verify --print-policy` lists what the read-only commands need)")
    if "Throttl" in code or "RequestLimitExceeded" in code:
        return "CloudTrail throttled LookupEvents after retries; run the audit again later"
    if status in (404, 500, 501) or type(err).__name__ in ("ResponseParserError", "UnknownOperationError") \
            or "NotImplemented" in code:
        return ("the endpoint does not serve cloudtrail:LookupEvents (no CloudTrail there: a plain moto server "
                "has none; envctl's own sandbox records one)")
    if type(err).__name__ in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"CloudTrail could not be reached ({err})"
    text = str(err).strip() or type(err).__name__
    return f"LookupEvents failed: {text[:300]}"
