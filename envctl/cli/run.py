"""Commands that run scripts: up, down, update; and what they leave: status, history."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from envctl.cli import render
from envctl.cli.common import cli_context

ONLY = typer.Option([], "--only", help="Only these components (repeatable).")
PARALLEL = typer.Option(8, "--parallel", min=1, help="At most this many scripts at once.")
WAIT_LOCK = typer.Option(None, "--wait-lock", help="Wait up to this long (e.g. 30m) for another run's lock "
                         "instead of failing at once (for scheduled jobs).", show_default=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def up(ctx: typer.Context,
           env: str = typer.Argument(..., help="Environment name."),
           only: list[str] = ONLY,
           parallel: int = PARALLEL,
           fail_fast: bool = typer.Option(False, "--fail-fast", help="After a failure, start nothing new."),
           force: bool = typer.Option(False, "--force", help="Re-run installs of components already up."),
           wait_lock: str | None = WAIT_LOCK) -> None:
        """Bring ENV up in dependency order, independent components in parallel. Resumes: what is up is skipped."""
        root = _looking_ahead(ctx)
        from envctl.run import engine, lifecycle

        opts = engine.RunOptions(only=only, parallel=parallel, fail_fast=fail_fast, force=force,
                                 wait_lock=_wait(wait_lock))
        _finish(lambda rep: lifecycle.run(root, env, "up", opts, reporter=rep))

    @app.command()
    def down(ctx: typer.Context,
             env: str | None = typer.Argument(None, help="Environment name (default: the one that is up)."),
             only: list[str] = typer.Option([], "--only", help="These components and everything that "
                                            "depends on them (repeatable)."),
             parallel: int = PARALLEL,
             yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
             no_verify: bool = typer.Option(False, "--no-verify", help="Skip the leftover listing after each "
                                            "delete and the final verify."),
             wait_lock: str | None = WAIT_LOCK) -> None:
        """Tear ENV down in reverse dependency order, then verify nothing is left ($0 after teardown)."""
        root = _looking_ahead(ctx)
        from envctl.errors import RefusedError
        from envctl.run import engine, lifecycle, status
        from envctl.teardown import leaks

        name = status.pick_environment(root, env)
        order = lifecycle.down_plan(root, name, only)
        if not yes:
            if not sys.stdin.isatty():
                raise RefusedError(f"envctl down {name} deletes {len(order)} component(s) and needs a yes: "
                                   "not on a terminal, so nobody can answer", hint="pass --yes")
            render.line(f"envctl down {name} will delete, in this order: {', '.join(order) or 'nothing'}")
            if not typer.confirm("Proceed?", default=False):
                render.line("nothing was deleted")
                raise typer.Exit(int(RefusedError.exit_code))
        opts = engine.RunOptions(only=only, parallel=parallel, verify=not no_verify, wait_lock=_wait(wait_lock))
        _finish(lambda rep: leaks.down(root, name, opts, reporter=rep))

    @app.command()
    def update(ctx: typer.Context,
               env: str = typer.Argument(..., help="Environment name."),
               only: list[str] = typer.Option([], "--only", help="Only these components (repeatable)."),
               parallel: int = PARALLEL,
               wait_lock: str | None = WAIT_LOCK) -> None:
        """Run the update-*.sh scripts (in-place changes) of components that are up, in dependency order."""
        root = _looking_ahead(ctx)
        from envctl.run import engine, lifecycle

        opts = engine.RunOptions(only=only, parallel=parallel, wait_lock=_wait(wait_lock))
        _finish(lambda rep: lifecycle.run(root, env, "update", opts, reporter=rep))

    @app.command("status")
    def status_(ctx: typer.Context,
                env: str | None = typer.Argument(None, help="Environment name (default: all)."),
                as_json: bool = typer.Option(False, "--json", help="Print the contract's JSON."),
                no_cost: bool = typer.Option(False, "--no-cost", help="Do not ask AWS what the environment "
                                             "costs now (no AWS call at all).")) -> None:
        """Per component: state, since when, outputs, whether its scripts changed; what it costs per hour now."""
        from envctl.sleep.status import status

        root = cli_context(ctx).root()
        reports = status(root, env, with_cost=not no_cost)
        if as_json:
            render.emit_json(reports[0].to_json() if env or len(reports) == 1 else [r.to_json() for r in reports])
            return
        for report in reports:
            _render_status(report)

    @app.command()
    def history(ctx: typer.Context,
                env: str | None = typer.Argument(None, help="Environment name (default: all)."),
                as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON, newest last."),
                limit: int = typer.Option(20, "--limit", help="Show at most this many runs (text only).")
                ) -> None:
        """The audit trail: every run, who, when, which scripts (sha256), exit codes, durations."""
        from envctl.state.history import history as runs_of

        runs = runs_of(cli_context(ctx).root(), env)
        if as_json:
            render.emit_json(runs)
            return
        if not runs:
            render.line("no runs yet")
            return
        for run in runs[-limit:]:
            render.line(f"{run['run_id']}  {run['command']:<6} {run['env']:<12} {run['result']:<11} "
                        f"{run['started'][:19]}  {run['user']}@{run['host']}")
            for step in run.get("steps", []):
                render.line(f"    {step['component']:<20} {step['action']:<8} {step['result']:<11} "
                            f"exit {step['exit_code']}  {step['duration_s']:.2f}s  {(step['sha256'] or '')[:12]}")
        render.line("see a run as a picture: envctl timeline RUN_ID")


def _looking_ahead(ctx: typer.Context) -> Path:
    """The project root, its sandbox asked about on a thread while the command loads what it runs."""
    from envctl.aws.sandbox import look_ahead

    root = cli_context(ctx).root()
    look_ahead(root)
    return root


def _wait(text: str | None) -> float:
    if not text:
        return 0.0
    from envctl.config.durations import parse_duration
    from envctl.errors import UsageError

    try:
        return parse_duration(text)
    except ValueError as err:
        raise UsageError(f"--wait-lock: {err}") from None


def _finish(start: Callable[[Any], Any]) -> None:
    """Run with a live reporter, then the summary; exit with the run's code."""
    from envctl.cli.progress import make_reporter, summary

    reporter = make_reporter()
    try:
        result = start(reporter)
    finally:
        reporter.close()
    render.line(summary(result))
    if result.report is not None:
        from envctl.cli import verify_render

        render.line(verify_render.text(result.report))
    raise typer.Exit(int(result.exit_code))


def _render_status(report: Any) -> None:
    from envctl.config.durations import format_duration

    render.line(f"{report.env}: {report.state}" + (f" (up since {report.up_since[:19]})" if report.up_since
                                                   else ""))
    rows = []
    for c in report.components:
        changed = "scripts changed" if c.scripts_changed else ""
        took = format_duration(c.duration_s) if c.duration_s is not None else ""
        outs = ", ".join(f"{k}={v}" for k, v in list(c.outputs.items())[:3])
        rows.append([c.name, c.state, (c.since or "")[:19], took, changed, outs])
    render.line(render.table(["component", "state", "since", "took", "", "outputs"], rows))
    cost = report.extra.get("cost")
    if cost:
        unknown = f" (+{cost['unpriced']} unpriced)" if cost["unpriced"] else ""
        sleep = cost.get("sleep") or {}
        line = f"costs ${cost['hourly_usd']:.4f}/h now (${cost['monthly_usd']:.2f}/month at this rate){unknown}"
        if sleep.get("saved_hourly_usd"):
            awake, asleep = cost.get("awake_hourly_usd", 0), cost.get("asleep_hourly_usd", 0)
            daily = sleep.get("saved_daily_usd")
            saves = (f"${daily:.2f}/day on its schedule" if daily is not None
                     else f"${sleep['saved_hourly_usd']:.4f} per hour asleep")
            line += f"; awake ${awake:.4f}/h, asleep ${asleep:.4f}/h: sleep saves {saves}"
        render.line(line)
        month = cost.get("forecast")
        if month:
            render.line(f"this month: ${month['on_schedule']:.2f} on its schedule, ${month['always_on']:.2f} "
                        f"always on (envctl cost {report.env} for the detail)")
    for text in report.warnings:
        render.warn(text)
