"""``envctl audit`` as text and Markdown."""

from __future__ import annotations

from typing import Any

from envctl.cli.render import money, table


def _where(report: Any) -> str:
    regions = ", ".join(r for r in report.regions)
    return f"{regions}; CloudTrail {report.window_start} to {report.window_end}"


def verdict(report: Any) -> str:
    """The one line a reader acts on."""
    found, outside = report.findings, report.outside or ()
    if found or outside:
        parts = []
        if found:
            parts.append(f"{len(found)} resource(s) of {report.env} not made by an envctl run")
        if outside:
            hourly = sum(o.hourly_usd or 0.0 for o in outside)
            unpriced = sum(1 for o in outside if o.hourly_usd is None)
            cost = f"${hourly:,.3f}/h" + (f" + {unpriced} unpriced" if unpriced else "")
            parts.append(f"{len(outside)} made outside envctl since {report.env} came up ({cost})")
        return "FOUND: " + "; ".join(parts)
    if not report.complete:
        reasons = list(report.problems)
        if report.unknown:
            reasons.append(f"{len(report.unknown)} resource(s) without a creating event in the window")
        return f"INCOMPLETE: provenance of {report.env} could not be read completely: " + "; ".join(reasons)
    return (f"TRACED: every resource of {report.env} ({len(report.resources)}) came from a reviewed script of an "
            "envctl run")


def _resource_rows(report: Any) -> list[list[str]]:
    return [[r.type, r.id, r.component or "-", r.created_by.kind + (" (finding)" if r.finding else ""),
             r.created_by.describe()] for r in report.resources]


def _outside_rows(report: Any) -> list[list[str]]:
    return [[o.type, o.id, o.region, o.created_by.kind, o.created_by.describe(),
             money(o.hourly_usd, per="/h", hourly=True)]
            for o in report.outside or ()]


def text(report: Any) -> str:
    lines = [f"audit {report.env}: who made each resource ({_where(report)})"]
    if report.resources:
        lines.append(table(["type", "id", "component", "made by", "how"], _resource_rows(report)))
    else:
        lines.append("no live resources")
    if report.outside is not None:
        lines.append(f"\nmade outside envctl since {report.env} came up:")
        rows = _outside_rows(report)
        lines.append(table(["type", "id", "region", "made by", "how", "price"], rows) if rows else "nothing")
    lines.extend(f"note: {n}" for n in report.notes)
    lines.append(verdict(report))
    return "\n".join(lines)


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def markdown(report: Any) -> str:
    lines = [f"### envctl audit: {report.env}", "", f"**{verdict(report)}**", "", f"_{_where(report)}_", ""]
    lines += _md_table(["type", "id", "component", "made by", "how"], _resource_rows(report))
    if report.outside is not None:
        lines += ["", f"#### Made outside envctl since {report.env} came up", ""]
        lines += _md_table(["type", "id", "region", "made by", "how", "price"], _outside_rows(report))
    lines += [f"\n_{n}_" for n in report.notes]
    return "\n".join(lines)
