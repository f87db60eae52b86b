"""``envctl sleep``, ``envctl wake`` and ``envctl reap``: the commands a schedule runs."""

from __future__ import annotations

import sys
from typing import Any

import typer

from envctl.cli import render
from envctl.cli.common import cli_context
from envctl.cli.run import PARALLEL, WAIT_LOCK, _looking_ahead, _wait


def register(app: typer.Typer) -> None:
    @app.command("sleep")
    def sleep_(ctx: typer.Context,
               env: str | None = typer.Argument(None, help="Environment name (default: the one that is up)."),
               parallel: int = PARALLEL,
               wait_lock: str | None = WAIT_LOCK) -> None:
        """Put ENV to sleep: sleep-*.sh in reverse order, then ECS services, nodegroups and autoscaling groups
        to zero and RDS instances, Aurora clusters and EC2 instances stopped (waited for), the sizes remembered
        (in the state and as tags on each resource) for wake."""
        root = _looking_ahead(ctx)
        from envctl.run import engine, status
        from envctl.sleep import orchestrate as sleepwake

        name = status.pick_environment(root, env, wanted=("up", "partial"), what="up")
        opts = engine.RunOptions(parallel=parallel, wait_lock=_wait(wait_lock))
        _finish(lambda rep: sleepwake.sleep(root, name, opts, reporter=rep))

    @app.command()
    def wake(ctx: typer.Context,
             env: str | None = typer.Argument(None, help="Environment name (default: the one that is asleep)."),
             parallel: int = PARALLEL,
             wait_lock: str | None = WAIT_LOCK) -> None:
        """Wake ENV: restore the remembered sizes and start what sleep stopped, wait until it runs, then
        wake-*.sh in order."""
        root = _looking_ahead(ctx)
        from envctl.run import engine, status
        from envctl.sleep import orchestrate as sleepwake

        name = status.pick_environment(root, env, wanted=("asleep", "partial"), what="asleep")
        opts = engine.RunOptions(parallel=parallel, wait_lock=_wait(wait_lock))
        _finish(lambda rep: sleepwake.wake(root, name, opts, reporter=rep))

    @app.command()
    def reap(ctx: typer.Context,
             env: list[str] = typer.Argument(None, help="Only these environments (default: all)."),
             yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (for cron)."),
             dry_run: bool = typer.Option(False, "--dry-run", help="Only list what is due; change nothing."),
             ) -> None:
        """Tear down every environment up longer than its schedule.down_after (run it every 15 minutes)."""
        from envctl.cli.progress import make_reporter
        from envctl.errors import RefusedError
        from envctl.schedule import reap as core

        root = cli_context(ctx).root()
        names = env or []
        if not dry_run and not yes:
            envs, _ = core.candidates(root, names)
            due = core.due_for_reap(envs)
            if not due:
                render.line("nothing is past its down_after")
                return
            listing = ", ".join(d.env for d in due)
            if not sys.stdin.isatty():
                raise RefusedError(f"envctl reap would tear down {listing} and needs a yes: not on a terminal",
                                   hint="pass --yes")
            if not typer.confirm(f"Tear down {listing}?", default=False):
                render.line("nothing was torn down")
                raise typer.Exit(int(RefusedError.exit_code))
        reporter = make_reporter()
        try:
            result = core.reap(root, names, reporter=reporter, dry_run=dry_run)
        finally:
            reporter.close()
        _render_reap(result, dry_run)
        raise typer.Exit(int(result.exit_code))


def _finish(start: Any) -> None:
    from envctl.cli.progress import make_reporter, summary

    reporter = make_reporter()
    try:
        result = start(reporter)
    finally:
        reporter.close()
    render.line(summary(result.run))
    for line in result.actions:
        render.line(f"  {line}")
    if result.builtins_ran and not result.actions and not result.errors:
        render.line(f"  built-ins: nothing to {result.run.command} (already so, or nothing tagged)")
    for line in result.errors:
        render.warn(f"{result.run.command}: {line}")
    if result.why_not:
        render.warn(result.why_not)
    raise typer.Exit(int(result.exit_code))


def _render_reap(result: Any, dry_run: bool) -> None:
    from envctl.cli.progress import summary
    from envctl.config.durations import format_duration

    for problem in result.problems:
        render.warn(problem)
    if not result.reaped:
        render.line("nothing is past its down_after")
        return
    for item in result.reaped:
        due = item.due
        head = f"{due.env}: up since {due.up_since[:19]}, down_after {format_duration(due.down_after)}"
        if dry_run:
            render.line(f"{head}: due (dry run, nothing torn down)")
        elif item.error:
            render.line(f"{head}: {item.error}")
        elif item.run is not None:
            render.line(summary(item.run))
