"""The cost verification report: pure assembly over the inventory and the price table.

``to_json`` gives the contract's shape (SPEC: ``verify --json``); ``to_markdown`` is for PR comments and
``$GITHUB_STEP_SUMMARY``. Totals are the sum of the priced leftovers; unknown prices are counted in
``unpriced``, never added as $0. Pending deletions are shown apart and do not make an environment unclean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envctl.inventory.model import Inventory, Resource
from envctl.teardown.pricing import Price, PriceTable, load_prices, price

NO_COMPONENT = "(no component)"


@dataclass(frozen=True)
class ReportItem:
    resource: Resource
    price: Price


@dataclass(frozen=True)
class VerifyReport:
    env: str
    items: tuple[ReportItem, ...]
    pending: tuple[ReportItem, ...]
    errors: Mapping[str, str]
    hourly_usd: float
    monthly_usd: float
    unpriced: int
    api_calls: int = 0
    price_source: str = ""
    price_date: str = ""
    spend: Any = field(default=None)  # envctl.teardown.verify.Spend, when --spend asked for it

    @property
    def clean(self) -> bool:
        """At $0: nothing left, and every collector answered (a check that could not run proves nothing)."""
        return not self.items and not self.errors

    @property
    def by_component(self) -> dict[str, list[ReportItem]]:
        groups: dict[str, list[ReportItem]] = {}
        for item in self.items:
            groups.setdefault(item.resource.component or NO_COMPONENT, []).append(item)
        return dict(sorted(groups.items()))

    @property
    def verdict(self) -> str:
        if self.items:
            cost = f"{money(self.hourly_usd, hourly=True)}/h ({money(self.monthly_usd)}/month)"
            extra = f", {self.unpriced} of unknown price" if self.unpriced else ""
            return (f"NOT CLEAN: {len(self.items)} resource(s) left in {self.env}, costing {cost}{extra}")
        if self.errors:
            return f"UNKNOWN: nothing found, but {len(self.errors)} check(s) failed, so $0 is not proven"
        pend = f" ({len(self.pending)} pending deletion)" if self.pending else ""
        return f"CLEAN: nothing of {self.env} is left, $0/h{pend}"


def build_report(env_name: str, inventory: Inventory, prices: PriceTable | None = None) -> VerifyReport:
    table = prices or load_prices()
    items = tuple(ReportItem(r, price(r, table=table)) for r in inventory.resources)
    pending = tuple(ReportItem(r, price(r, table=table)) for r in inventory.pending)
    priced = [i.price for i in items if i.price.known]
    return VerifyReport(
        env=env_name, items=items, pending=pending, errors=dict(inventory.errors),
        hourly_usd=sum(p.hourly_usd or 0.0 for p in priced), monthly_usd=sum(p.monthly_usd or 0.0 for p in priced),
        unpriced=len(items) - len(priced), api_calls=inventory.api_calls, price_source=table.source,
        price_date=table.date,
    )


def _usd(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _item_json(item: ReportItem) -> dict[str, Any]:
    r, p = item.resource, item.price
    return {
        "arn": r.arn, "type": r.type, "component": r.component, "region": r.region,
        "hourly_usd": _usd(p.hourly_usd, 6), "monthly_usd": _usd(p.monthly_usd, 2),
        "id": r.id, "orphan_of": r.orphan_of, "free": p.free, "price_basis": p.basis,
        "attrs": {k: v for k, v in r.attrs.items() if isinstance(v, (str, int, float, bool))},
    }


def to_json(report: VerifyReport) -> dict[str, Any]:
    out: dict[str, Any] = {
        "env": report.env, "clean": report.clean,
        "hourly_usd": round(report.hourly_usd, 6), "monthly_usd": round(report.monthly_usd, 2),
        "unpriced": report.unpriced,
        "resources": [_item_json(i) for i in report.items],
        "pending_deletion": [_item_json(i) for i in report.pending],
        "errors": [{"check": k, "message": v} for k, v in sorted(report.errors.items())],
        "api_calls": report.api_calls,
        "prices": {"source": report.price_source, "date": report.price_date},
    }
    if report.spend is not None:
        out["spend"] = report.spend.to_json()
    return out


def money(value: float | None, *, per: str = "", hourly: bool = False) -> str:
    """``$0.0450`` for hourly rates, ``$32.85`` for monthly amounts, ``unknown`` for no price."""
    if value is None:
        return "unknown"
    if hourly:
        return f"${value:,.4f}{per}"
    if 0 < value < 0.01:
        return f"<$0.01{per}"
    return f"${value:,.2f}{per}"


def to_markdown(report: VerifyReport) -> str:
    icon = "✅" if report.clean else ("⚠️" if not report.items else "❌")
    lines = [f"### {icon} envctl verify: `{report.env}`", "", f"**{report.verdict}**", ""]
    if report.items:
        lines += ["| component | type | resource | region | $/hour | $/month |", "|---|---|---|---|--:|--:|"]
        for comp, items in report.by_component.items():
            for i in items:
                r = i.resource
                name = f"`{r.id}`" + (f" (orphan of cluster `{r.orphan_of}`)" if r.orphan_of else "")
                lines.append(f"| {comp} | `{r.type}` | {name} | {r.region} | "
                             f"{'free' if i.price.free else money(i.price.hourly_usd, hourly=True)} | "
                             f"{'free' if i.price.free else money(i.price.monthly_usd)} |")
        lines.append(f"| **total** | | | | **{money(report.hourly_usd, hourly=True)}** | "
                     f"**{money(report.monthly_usd)}** |")
        if report.unpriced:
            lines += ["", f"{report.unpriced} resource(s) of unknown price are not in the total."]
        lines.append("")
    if report.pending:
        lines += ["Pending deletion (shown apart; AWS removes them when the waiting period ends):", ""]
        lines += [f"- `{i.resource.type}` `{i.resource.id}` ({i.resource.component or NO_COMPONENT}, "
                  f"{i.resource.region})" for i in report.pending]
        lines.append("")
    if report.errors:
        lines += ["Checks that failed:", ""]
        lines += [f"- `{k}`: {v}" for k, v in sorted(report.errors.items())]
        lines.append("")
    if report.spend is not None:
        lines += [report.spend.markdown(), ""]
    lines.append(f"<sub>List prices of {report.price_date}; usage charges (data, LCUs, requests) not included. "
                 f"{report.api_calls} read-only API calls.</sub>")
    return "\n".join(lines) + "\n"
