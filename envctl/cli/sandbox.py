"""``envctl sandbox start|stop|status``: the embedded local AWS (moto's server in the background)."""

from __future__ import annotations

import json

import typer

from envctl.cli.common import cli_context

sandbox_app = typer.Typer(
    help="The embedded local AWS (moto's server on 127.0.0.1). Port: ENVCTL_SANDBOX_PORT, default 4599.",
    no_args_is_help=True,
)


@sandbox_app.command("start")
def start_cmd(ctx: typer.Context,
              as_json: bool = typer.Option(False, "--json", help="Print the sandbox as JSON.")) -> None:
    """Start the sandbox in the background (or adopt the moto server already on its port)."""
    from envctl.aws import sandbox

    root = cli_context(ctx).root()
    before = sandbox.status(root)
    info = sandbox.start(root)
    if as_json:
        typer.echo(json.dumps(info.to_json()))
    elif before is not None:
        typer.echo(f"sandbox already running at {info.endpoint}{_pid(info.pid)}")
    else:
        log = root / ".envctl" / "sandbox.log"
        typer.echo(f"sandbox started at {info.endpoint}{_pid(info.pid)}; log: {log}")


@sandbox_app.command("stop")
def stop_cmd(ctx: typer.Context) -> None:
    """Stop the sandbox. Every resource in it is gone with it."""
    from envctl.aws import sandbox

    root = cli_context(ctx).root()
    info = sandbox.status(root)
    if sandbox.stop(root) and info is not None:
        typer.echo(f"sandbox stopped: {info.endpoint}{_pid(info.pid)}")
    else:
        typer.echo("sandbox was not running")


@sandbox_app.command("status")
def status_cmd(ctx: typer.Context,
               as_json: bool = typer.Option(False, "--json", help='Print {"running": ..., "endpoint": ...}.')
               ) -> None:
    """Whether the sandbox is running, where, and since when."""
    from envctl.aws import sandbox

    info = sandbox.status(cli_context(ctx).root())
    if as_json:
        typer.echo(json.dumps(info.to_json() if info is not None else {"running": False}))
    elif info is None:
        typer.echo("sandbox not running (`envctl sandbox start`, or any command on a target: sandbox "
                   "environment, starts it)")
    else:
        since = f", since {info.started}" if info.started else ""
        typer.echo(f"sandbox running at {info.endpoint}{_pid(info.pid)}{since}")


def _pid(pid: int | None) -> str:
    return f" (pid {pid})" if pid is not None else " (a moto server envctl did not start)"


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
