"""What every command shares: the global options and the one error boundary."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from envctl.errors import EnvctlError, ExitCode


@dataclass
class CliContext:
    root_option: str | None
    debug: bool

    def root(self) -> Path:
        from envctl.config.paths import find_root

        return find_root(override=self.root_option)


def cli_context(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    assert isinstance(obj, CliContext)
    return obj


class EnvctlGroup(TyperGroup):
    """The one error boundary: a domain error becomes one message on stderr and its exit code.

    ``--debug`` re-raises so the traceback shows. Anything that is not an EnvctlError is a bug and says so.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EnvctlError as err:
            if _debug(ctx):
                raise
            typer.echo(f"envctl: {err}", err=True)
            raise typer.Exit(int(err.exit_code)) from None
        except KeyboardInterrupt:
            if _debug(ctx):
                raise
            typer.echo("envctl: interrupted", err=True)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as err:
            if _debug(ctx) or _is_usage_error(err):
                raise
            typer.echo(f"envctl: internal error: {type(err).__name__}: {err} "
                       "(run with --debug for the traceback)", err=True)
            raise typer.Exit(int(ExitCode.INTERNAL)) from None


def _is_usage_error(err: Exception) -> bool:
    """typer's own usage errors (bad option, missing argument) render themselves with exit code 2."""
    return hasattr(err, "exit_code") and hasattr(err, "show") and hasattr(err, "format_message")


def _debug(ctx: Any) -> bool:
    obj = getattr(ctx, "obj", None)
    return bool(getattr(obj, "debug", False)) or "--debug" in sys.argv
