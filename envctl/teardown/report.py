"""The cost verification report: pure assembly over the inventory and the price table.

``to_json`` gives the contract's shape (SPEC: ``verify --json``); ``to_markdown`` is for PR comments and
``$GITHUB_STEP_SUMMARY``. Totals are the sum of the priced leftovers; unknown prices are counted in
``unpriced``, never added as $0. Pending deletions are shown apart and do not make an environment unclean.
Every report says what it covered (regions, checks, the checks that failed): ``clean`` only when the look
was complete and found nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envctl.errors import ExitCode
from envctl.inventory.model import GLOBAL, Inventory, Resource
from envctl.teardown.pricing import Price, PriceTable, load_prices, price

NO_COMPONENT = "(no component)"


@dataclass(frozen=True)
class ReportItem:
    resource: Resource
    price: Price


@dataclass(frozen=True)
class Coverage:
    """What a look covered: the regions (the global services apart), the checks run, the ones that failed."""

    regions: tuple[str, ...] = ()
    global_services: bool = True
    checks: tuple[str, ...] = ()
    failed: Mapping[str, str] = field(default_factory=dict)  # "check@region" -> what went wrong
    all_regions: bool = False

    @property
    def complete(self) -> bool:
        return not self.failed

    def where(self) -> str:
        """``us-east-1 (+ global)``, ``us-east-1, us-west-2 (+ global)``, ``all 17 enabled regions (+ global)``."""
        if self.all_regions:
            place = f"all {len(self.regions)} enabled regions"
        elif len(self.regions) <= 4:
            place = ", ".join(self.regions)
        else:
            place = f"{len(self.regions)} regions ({', '.join(self.regions[:3])}, ...)"
        if not place:
            return "the global services" if self.global_services else "nothing"
        return place + (" (+ global)" if self.global_services else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "regions": [*self.regions, *([GLOBAL] if self.global_services else [])],
            "all_regions": self.all_regions,
            "checks": list(self.checks),
            "failed": [{"check": key, "region": key.rpartition("@")[2] if "@" in key else None, "message": msg}
                       for key, msg in sorted(self.failed.items())],
        }


@dataclass(frozen=True)
class VerifyReport:
    env: str
    items: tuple[ReportItem, ...]
    pending: tuple[ReportItem, ...]
    coverage: Coverage
    hourly_usd: float
    monthly_usd: float
    unpriced: int
    api_calls: int = 0
    price_source: str = ""
    price_date: str = ""
    spend: Any = field(default=None)  # envctl.teardown.verify.Spend, when --spend asked for it

    @property
    def errors(self) -> Mapping[str, str]:
        """The checks that failed ("check@region" -> message)."""
        return self.coverage.failed

    @property
    def complete(self) -> bool:
        return self.coverage.complete

    @property
    def clean(self) -> bool:
        """At $0: nothing left, and every check answered (a check that could not run proves nothing)."""
        return not self.items and self.complete

    @property
    def exit_code(self) -> ExitCode:
        """0 clean; 5 leftovers found (complete or not); 6 nothing found but the look was incomplete."""
        if self.items:
            return ExitCode.LEFTOVERS
        return ExitCode.OK if self.complete else ExitCode.INCOMPLETE

    @property
    def by_component(self) -> dict[str, list[ReportItem]]:
        groups: dict[str, list[ReportItem]] = {}
        for item in self.items:
            groups.setdefault(item.resource.component or NO_COMPONENT, []).append(item)
        return dict(sorted(groups.items()))

    @property
    def verdict(self) -> str:
        where, failed = self.coverage.where(), sorted(self.errors)
        named = ", ".join(failed[:3]) + (", ..." if len(failed) > 3 else "")
        if self.items:
            cost = f"{money(self.hourly_usd, hourly=True)}/h ({money(self.monthly_usd)}/month)"
            extra = f", {self.unpriced} of unknown price" if self.unpriced else ""
            more = f"; {len(failed)} check(s) failed ({named}), so there may be more" if failed else ""
            return (f"NOT CLEAN: {len(self.items)} resource(s) left in {self.env}, costing {cost}{extra}; "
                    f"checked {where}{more}")
        if failed:
            return (f"UNKNOWN: nothing of {self.env} found in {where}, but {len(failed)} check(s) failed "
                    f"({named}), so $0 is not proven")
        pend = f" ({len(self.pending)} pending deletion)" if self.pending else ""
        return f"CLEAN: nothing of {self.env} is left in {where}, $0/h{pend}"


def build_report(env_name: str, inventory: Inventory, prices: PriceTable | None = None, *,
                 all_regions: bool = False, extra_failures: Mapping[str, str] | None = None) -> VerifyReport:
    table = prices or load_prices()
    items = tuple(ReportItem(r, price(r, table=table)) for r in inventory.resources)
    pending = tuple(ReportItem(r, price(r, table=table)) for r in inventory.pending)
    priced = [i.price for i in items if i.price.known]
    coverage = Coverage(regions=tuple(inventory.regions), global_services=inventory.covers_global,
                        checks=tuple(inventory.checks), failed={**inventory.errors, **(extra_failures or {})},
                        all_regions=all_regions)
    return VerifyReport(
        env=env_name, items=items, pending=pending, coverage=coverage,
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
        "env": report.env, "clean": report.clean, "complete": report.complete,
        "hourly_usd": round(report.hourly_usd, 6), "monthly_usd": round(report.monthly_usd, 2),
        "unpriced": report.unpriced,
        "resources": [_item_json(i) for i in report.items],
        "pending_deletion": [_item_json(i) for i in report.pending],
        "coverage": report.coverage.to_json(),
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


def coverage_lines(cov: Coverage, *, code: str = "`") -> list[str]:
    """What was and was not checked, in a few sentences (Markdown with ``code="`"``, plain text with "")."""
    services = " and the global services (IAM, Route 53)" if cov.global_services else ""
    regions = ", ".join(f"{code}{r}{code}" for r in cov.regions) or "no region"
    lines = [f"Checked: {regions}{services}; {len(cov.checks)} checks "
             f"({', '.join(f'{code}{c}{code}' for c in cov.checks)})."]
    if cov.all_regions:
        lines.append("Not checked: regions not enabled for the account.")
    else:
        lines.append(f"Not checked: every other region (widen with {code}verify: {{regions: [...]}}{code} in "
                     f"env.yaml, or {code}envctl verify ENV --all-regions{code}).")
    for key, message in sorted(cov.failed.items()):
        lines.append(f"Failed check {code}{key}{code}: {message}")
    return lines


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
    lines += ["#### Coverage", ""] + [f"- {line}" for line in coverage_lines(report.coverage)] + [""]
    if report.spend is not None:
        lines += [report.spend.markdown(), ""]
    lines.append(f"<sub>List prices of {report.price_date}; usage charges (data, LCUs, requests) not included. "
                 f"{report.api_calls} read-only API calls.</sub>")
    return "\n".join(lines) + "\n"
