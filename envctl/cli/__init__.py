"""The envctl command line: typer apps, one module per command group, one error boundary.

Nothing here imports boto3 or moto at module level: ``envctl --help`` must start fast.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import typer

from envctl import __version__
from envctl.cli.common import CliContext, EnvctlGroup

app = typer.Typer(
    name="envctl",
    help="Ephemeral AWS environments as reviewed script pairs: up in dependency order, asleep overnight, "
    "down to $0 (proven).",
    cls=EnvctlGroup,
    # plain help: typer's rich help pulls in a Markdown renderer and doubles the start-up time of every command
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"envctl {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    root: Path | None = typer.Option(None, "--root", help="Project root (the folder holding environments/). "
                                     "Default: ENVCTL_ROOT, else the nearest such folder upward.",
                                     show_default=False),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    ctx.obj = CliContext(root_option=str(root) if root else os.environ.get("ENVCTL_ROOT") or None, debug=debug)


def _register_commands() -> None:
    from envctl.cli import (
        audit,
        cost,
        diff,
        inspect,
        lint,
        new,
        review,
        run,
        sandbox,
        schedule,
        sleep,
        state_cmd,
        timeline,
        verify,
    )

    for module in (inspect, run, sandbox, verify, audit, schedule, sleep, timeline, lint, review, new, diff,
                   state_cmd):
        module.register(app)
    from envctl.cli import policy

    policy.register(app)
    cost.register(app)


_register_commands()


def main() -> None:
    """Console entry point.

    The interpreter's own shutdown (tearing down every module typer, rich and botocore loaded) costs a command
    about 50 ms after its work is done. When envctl is the program itself (the console script or
    ``python -m envctl``, not a caller that runs ``main`` and goes on), the command has finished, its exit
    handlers have run and no other thread is left, there is nothing for that shutdown to do: exit at once.
    """
    try:
        app()
    except SystemExit as done:
        code = done.code
        if (code is None or isinstance(code, int)) and _envctl_is_the_program():
            _exit_now(code or 0)
        raise


def _envctl_is_the_program() -> bool:
    program = sys.modules.get("__main__")
    spec = getattr(program, "__spec__", None)
    if spec is not None:
        return bool(spec.name == "envctl.__main__")
    return Path(str(getattr(program, "__file__", ""))).name == "envctl"


def _exit_now(code: int) -> None:
    import atexit
    import threading

    runner = sys.modules.get("envctl.run.runner")
    idle = getattr(runner, "STEP_THREAD_PREFIX", None)  # a finished run's step threads, kept for a next run
    if any(t.is_alive() and not t.daemon and not (idle and t.name.startswith(idle))
           for t in threading.enumerate() if t is not threading.main_thread()):
        return  # a thread still working: the interpreter waits for it as usual
    atexit._run_exitfuncs()  # what the interpreter's shutdown would have run first (CPython's own call)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed, or a terminal that hung up
            stream.flush()
    os._exit(code)
