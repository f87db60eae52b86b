"""``envctl schedule``: crontab entries or a GitHub Actions workflow for an environment's ``schedule:`` block."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from envctl.cli import render
from envctl.cli.common import cli_context

if TYPE_CHECKING:
    from envctl.config.model import Environment


def register(app: typer.Typer) -> None:
    @app.command()
    def schedule(ctx: typer.Context,
                 env: str = typer.Argument(..., help="Environment name."),
                 print_: bool = typer.Option(False, "--print", help="Print the crontab entries (the default)."),
                 install: bool = typer.Option(False, "--install", help="Put the entries in your crontab "
                                              "(replacing this environment's earlier ones)."),
                 remove: bool = typer.Option(False, "--remove", help="Take this environment's entries out of "
                                             "your crontab; other lines stay."),
                 github: bool = typer.Option(False, "--github", help="Write a GitHub Actions workflow instead "
                                             "(crons converted to UTC, OIDC role, pinned actions)."),
                 out: Path | None = typer.Option(None, "--out", help="With --github: write the workflow to "
                                                 "this file instead of printing it.", show_default=False),
                 role_arn: str | None = typer.Option(None, "--role-arn", help="With --github: the role the "
                                                     "workflow assumes (default: arn:aws:iam::<account_id>:role/"
                                                     "envctl-schedule).", show_default=False),
                 envctl_path: Path | None = typer.Option(None, "--envctl-path", help="With --github: envctl's "
                                                         "source in this repository, which the workflow installs "
                                                         "(default: the project root or a folder above it).",
                                                         show_default=False),
                 ) -> None:
        """Schedule sleep, wake and reap for ENV from its schedule: block (crontab or GitHub Actions)."""
        from envctl.config.load import load_environment
        from envctl.errors import UsageError
        from envctl.schedule import crontab as core

        if sum([print_, install, remove, github]) > 1:
            raise UsageError("choose one of --print, --install, --remove and --github")
        if (out is not None or envctl_path is not None) and not github:
            raise UsageError("--out and --envctl-path go with --github")
        root = cli_context(ctx).root()
        if remove:
            change = core.remove(env)
            render.line(f"removed the entries of '{env}' from the crontab" if change.changed
                        else f"the crontab has no entries for '{env}'; nothing changed")
            return
        environment = load_environment(root, env)
        if github:
            _github(environment, root, out, role_arn, envctl_path)
            return
        command = _envctl_command()
        path = os.environ.get("PATH")
        if install:
            from envctl.safety import agents

            agents.refuse_schedule_install(environment, agents.detect(os.environ))
            change = core.install(environment, root, command, path=path)
            render.line("\n".join(change.lines))
            render.line(f"installed in the crontab; output goes to {core.log_path(root, env)}" if change.changed
                        else "the crontab already has exactly these entries; nothing changed")
            return
        render.line("\n".join(core.crontab_lines(environment, root, command, path=path)))


def _envctl_command() -> list[str]:
    """How cron should start this envctl: the same Python, so the same install, whatever cron's PATH."""
    return [sys.executable, "-m", "envctl"]


def _github(environment: Environment, root: Path, out: Path | None, role_arn: str | None,
            envctl_path: Path | None) -> None:
    from envctl.schedule.github import workflow

    text = workflow(environment, root, envctl_path=envctl_path, role_arn=role_arn)
    if out is None:
        render.line(text.rstrip("\n"))
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    render.line(f"wrote {out}")
