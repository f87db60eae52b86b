"""``envctl cost ENV``: the month ahead from the schedule, what keeps billing while asleep, missed sleeps."""

from __future__ import annotations

from typing import Any

import typer

from envctl.cli import render
from envctl.cli.common import cli_context
from envctl.cli.render import money


def register(app: typer.Typer) -> None:
    @app.command()
    def cost(ctx: typer.Context,
             env: str = typer.Argument(..., help="Environment name."),
             as_json: bool = typer.Option(False, "--json", help="Print the contract's JSON."),
             spend: bool = typer.Option(False, "--spend", help="Add the actual spend of the last 30 days by "
                                        "component from Cost Explorer ($0.01 a request)."),
             ) -> None:
        """The month ahead: awake and asleep hours from the schedule, always on vs on schedule, what keeps
        billing while asleep, and the scheduled sleeps of the last 30 days that did not happen."""
        from envctl.sleep.forecast import forecast

        result = forecast(cli_context(ctx).root(), env, spend=spend)
        if as_json:
            render.emit_json(result.to_json())
            return
        # nothing looked at (down, or its sandbox gone): the notes say why, a table of zeros would not
        for text in _text(result) if result.model.lines or not result.notes else []:
            render.line(text)
        for note in result.notes:
            render.warn(note)


def _text(f: Any) -> list[str]:
    data = f.to_json()
    hours, rates, month = data["hours_per_month"], data["hourly_usd"], data["monthly_usd"]
    unknown = f" (+{data['unpriced']} of unknown price)" if data["unpriced"] else ""
    out = []
    if f.schedule:
        s = f.schedule
        out.append(f"{f.env}: the month ahead on its schedule ({s.timezone}: sleep '{s.sleep}', wake '{s.wake}')")
        out.append(f"  awake   {hours['awake']:6.1f} h/month at {money(rates['awake'], hourly=True)}/h{unknown}")
        out.append(f"  asleep  {hours['asleep']:6.1f} h/month at {money(rates['asleep'], hourly=True)}/h")
        out.append(f"  always on    {money(month['always_on'])}/month (730 h)")
        out.append(f"  on schedule  {money(month['on_schedule'])}/month: sleep saves {money(month['saving'])}/month")
        out.append(f"  torn down at night instead of asleep: {money(month['teardown_instead_of_sleep_saves'])}"
                   "/month less")
    else:
        ex = data["example"]
        out.append(f"{f.env}: no schedule: always on {money(month['always_on'])}/month "
                   f"({money(rates['awake'], hourly=True)}/h x 730 h){unknown}")
        out.append(f"  asleep on weekday evenings and weekends (awake {ex['hours_per_month']['awake']:.0f} h/month, "
                   f"weekdays 08:00-19:00) it would cost {money(ex['on_schedule'])}/month, "
                   f"{money(ex['saving'])} less: add a schedule: block to env.yaml")
    out += _billing(f)
    out += _missed(data)
    if f.spend is not None:
        out += _spend(data["spend"])
    return out


def _billing(f: Any) -> list[str]:
    lines = f.model.bills_while_asleep
    if not lines:
        return ["", "Nothing keeps billing while asleep."]
    rows = [[line.component or "-", line.type, line.id, money(line.asleep, hourly=True),
             money(None if line.asleep is None else line.asleep * 730)] for line in lines]
    return ["", f"What keeps billing while asleep ({money(f.model.asleep, hourly=True)}/h; a teardown stops it):",
            render.table(["component", "type", "id", "per hour", "per month"], rows)]


def _missed(data: dict[str, Any]) -> list[str]:
    if data["schedule"] is None:
        return []
    missed = data["missed_sleeps"]
    if not missed:
        return ["", "Scheduled sleeps of the last 30 days: none missed."]
    total = sum(m["cost_usd"] or 0 for m in missed)
    rows = [[m["scheduled"], f"{m['hours']:.1f} h", money(m["cost_usd"]), m["reason"]] for m in missed]
    return ["", f"Missed sleeps of the last 30 days: {len(missed)}, costing {money(total)}:",
            render.table(["scheduled (UTC)", "awake for", "cost", "why"], rows)]


def _spend(spend: dict[str, Any]) -> list[str]:
    head = f"Actual spend {spend['start']} to {spend['end']} (Cost Explorer): "
    if spend["total_usd"] is None:
        return ["", head + "no data. " + spend["note"]]
    rows = [[name, money(amount)] for name, amount in spend["by_component"].items()]
    return ["", head + money(spend["total_usd"]) + ". " + spend["note"], render.table(["component", "spend"], rows)]
