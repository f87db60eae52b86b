"""Actual spend by component from Cost Explorer, for ``envctl cost --spend``: beside the forecast, the bill.

One ``GetCostAndUsage`` request ($0.01 a page) over the last 30 days, the environment's ``envctl:env`` tag,
grouped by the ``envctl:component`` tag. Both tags must be activated as cost allocation tags, and costs show
about a day late: an empty answer says so instead of pretending $0.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from envctl.inventory.collectors import SPEND_ACTIONS
from envctl.inventory.model import ClientFactory
from envctl.inventory.readonly import guard

DAYS = 30
NO_COMPONENT = "(no component tag)"
EMPTY_NOTE = ("Cost Explorer has no data for this environment: activate envctl:env and envctl:component as cost "
              "allocation tags (it takes up to 24 h); costs appear about a day late.")


@dataclass(frozen=True)
class ComponentSpend:
    start: _dt.date
    end: _dt.date
    total_usd: float | None
    by_component: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "total_usd": None if self.total_usd is None else round(self.total_usd, 2),
                "by_component": {k: round(v, 2) for k, v in self.by_component.items()}, "note": self.note}


def spend_by_component(env_name: str, client_factory: ClientFactory, *,
                       today: _dt.date | None = None) -> ComponentSpend:
    today = today or _dt.datetime.now(_dt.timezone.utc).date()
    start = today - _dt.timedelta(days=DAYS)
    ce = guard(client_factory("ce", "us-east-1"), SPEND_ACTIONS)
    params: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": today.isoformat()}, "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"], "Filter": {"Tags": {"Key": "envctl:env", "Values": [env_name]}},
        "GroupBy": [{"Type": "TAG", "Key": "envctl:component"}]}
    by_component: dict[str, float] = {}
    periods, estimated = 0, False
    while True:
        answer = ce.get_cost_and_usage(**params)
        for period in answer.get("ResultsByTime") or []:
            periods += 1
            estimated = estimated or bool(period.get("Estimated"))
            for group in period.get("Groups") or []:
                key = str((group.get("Keys") or [""])[0]).partition("$")[2] or NO_COMPONENT
                amount = float(((group.get("Metrics") or {}).get("UnblendedCost") or {}).get("Amount") or 0)
                by_component[key] = by_component.get(key, 0.0) + amount
        token = answer.get("NextPageToken")
        if not token:
            break
        params["NextPageToken"] = token
    if not periods or not by_component:
        return ComponentSpend(start, today, None, {}, EMPTY_NOTE)
    note = "Costs lag about a day" + (" and recent days are estimates." if estimated else ".")
    return ComponentSpend(start, today, sum(by_component.values()), dict(sorted(by_component.items())), note)
