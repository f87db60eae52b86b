"""``envctl state init|migrate ENV`` (team state in S3 + DynamoDB) and ``envctl unlock ENV``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from envctl.cli.common import cli_context
from envctl.errors import RefusedError, UsageError

if TYPE_CHECKING:
    from envctl.config.model import Environment

state_app = typer.Typer(name="state", help="Team state: an S3 bucket for state and history, a DynamoDB lock "
                        "table.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(state_app, name="state")

    @app.command("unlock")
    def unlock(
        ctx: typer.Context,
        env: str = typer.Argument(..., help="The environment whose run lock to break."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    ) -> None:
        """Break an environment's run lock (after its holder died). Shows the holder and asks first."""
        from envctl.config.load import load_environment
        from envctl.state.backends import backend_for

        root = cli_context(ctx).root()
        environment = load_environment(root, env)
        _person_only(environment, "unlock")
        backend = backend_for(root, environment.state, env=environment)
        holder = backend.read_lock(env)
        if holder is None:
            typer.echo(f"environment '{env}' is not locked")
            return
        typer.echo(f"environment '{env}' is locked by {holder.describe()}")
        expires = getattr(backend, "lock_expires", None)
        when = expires(env) if expires else None
        if when is not None:
            typer.echo(f"its holder renews it; if the holder is gone it expires by itself in "
                       f"{max(0.0, when - time.time()):.0f}s")
        if not yes:
            if not _is_terminal():
                raise RefusedError(f"not breaking the lock of '{env}' without confirmation",
                                   hint="run it on a terminal, or pass --yes")
            if not typer.confirm("Break this lock? A run still going would then share the environment",
                                 default=False):
                raise RefusedError(f"the lock of '{env}' was left in place")
        backend.break_lock(env)
        typer.echo(f"lock of '{env}' removed")


@state_app.command("init")
def init(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="An environment with state: backend: s3."),
) -> None:
    """Create the state bucket (versioned, encrypted, public access blocked, tagged) and the lock table.

    Safe to run again: what exists is kept and reported as existing."""
    from envctl.state.admin import init_remote

    environment, backend = _remote(ctx, env)
    _person_only(environment, "state init")
    result = init_remote(backend, environment.tags)
    where = f" in {result.region}" if result.region else ""
    typer.echo(f"bucket {result.bucket}{where}: {'created' if result.bucket_created else 'exists'} "
               f"(versioned, encrypted {result.encryption}, public access blocked, tagged)")
    typer.echo(f"lock table {result.table}: {'created' if result.table_created else 'exists'} "
               "(LockID hash key, on-demand)")


@state_app.command("migrate")
def migrate(
    ctx: typer.Context,
    env: str = typer.Argument(..., help="An environment with state: backend: s3 and local state to move."),
    force: bool = typer.Option(False, "--force", help="Replace state already in S3 (its old version stays in "
                               "the versioned bucket)."),
) -> None:
    """Move the local state and history of ENV into its S3 bucket; the local files are kept as *.migrated."""
    from envctl.state.admin import migrate_to_remote

    environment, backend = _remote(ctx, env)
    _person_only(environment, "state migrate")
    result = migrate_to_remote(backend.root, env, backend, force=force)
    runs = f"{result.runs_copied} run{'s' if result.runs_copied != 1 else ''}"
    moved = ["state" if result.state_copied else None, runs if result.runs_copied else None]
    typer.echo(f"moved {' and '.join(m for m in moved if m)} of '{env}' to {result.destination}")
    for path in result.renamed:
        typer.echo(f"local copy kept as {_rel(path, backend.root)}")


def _remote(ctx: typer.Context, env: str) -> tuple[Any, Any]:
    from envctl.config.load import load_environment
    from envctl.state.backends import backend_for
    from envctl.state.s3 import S3Backend

    root = cli_context(ctx).root()
    environment = load_environment(root, env)
    if environment.state.backend != "s3":
        raise UsageError(f"environment '{env}' keeps its state in local files",
                         hint=f"set state: {{backend: s3, bucket: ..., lock_table: ...}} in "
                              f"{environment.file}")
    backend = backend_for(root, environment.state, env=environment)
    assert isinstance(backend, S3Backend)
    return environment, backend


def _person_only(environment: Environment, command: str) -> None:
    """Refused inside an AI coding agent's session (see ``envctl.safety.agents``)."""
    import os

    from envctl.safety import agents

    agents.refuse_state_change(environment, agents.detect(os.environ), command)


def _is_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
