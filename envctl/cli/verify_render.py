"""Text rendering of the cost verification report (rich tables; plain enough for CI logs)."""

from __future__ import annotations

import io
from typing import Any

from envctl.teardown.report import NO_COMPONENT, VerifyReport, coverage_lines, money


def text(report: VerifyReport, *, color: bool = False, width: int = 120) -> str:
    """The report as the terminal shows it: leftovers by component with $/hour and $/month, then the verdict."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=color, color_system="auto" if color else None,
                      highlight=False)
    if report.items:
        table = Table(box=box.SIMPLE_HEAD, show_footer=True, pad_edge=False)
        table.add_column("COMPONENT", footer="total")
        table.add_column("TYPE")
        table.add_column("RESOURCE", overflow="fold")
        table.add_column("REGION")
        table.add_column("$/HOUR", justify="right", footer=money(report.hourly_usd, hourly=True))
        table.add_column("$/MONTH", justify="right", footer=money(report.monthly_usd))
        for comp, items in report.by_component.items():
            for item in items:
                r, p = item.resource, item.price
                name = r.arn + (f" (orphan of cluster {r.orphan_of})" if r.orphan_of else "")
                table.add_row(comp, r.type, name, r.region, "free" if p.free else money(p.hourly_usd, hourly=True),
                              "free" if p.free else money(p.monthly_usd))
        console.print(table)
        if report.unpriced:
            console.print(f"{report.unpriced} resource(s) of unknown price are not in the total.")
    if report.pending:
        console.print("Pending deletion (AWS removes them when the waiting period ends):")
        for item in report.pending:
            r = item.resource
            console.print(f"  - {r.type} {r.arn} ({r.component or NO_COMPONENT}, {r.region})")
    for line in coverage_lines(report.coverage, code=""):
        console.print(_escape(line), style="yellow" if line.startswith("Failed") else "dim")
    if report.spend is not None:
        console.print(report.spend.markdown().replace("`", ""))
    style = "green" if report.clean else ("yellow" if not report.items else "red")
    console.print(f"[{style}]{_escape(report.verdict)}[/{style}]")
    return out.getvalue().rstrip("\n")


def _escape(value: Any) -> str:
    from rich.markup import escape

    return escape(str(value))
