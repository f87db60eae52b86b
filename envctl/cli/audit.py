"""``envctl audit``: who made each live resource of an environment (read from CloudTrail)."""

from __future__ import annotations

import typer

from envctl.cli import render
from envctl.cli.common import cli_context


def register(app: typer.Typer) -> None:
    @app.command()
    def audit(ctx: typer.Context,
              env: str | None = typer.Argument(None, help="Environment name (default: the one with state)."),
              account: bool = typer.Option(False, "--account", help="Also list what anyone but envctl created in "
                                           "the environment's regions since it came up, tagged or not, priced."),
              as_json: bool = typer.Option(False, "--json", help="The report as JSON (the stable shape)."),
              markdown: bool = typer.Option(False, "--markdown", help="The report as Markdown."),
              ) -> None:
        """Who made each resource of ENV: a reviewed script of an envctl run, an AI agent, the console or
        someone else. Read-only. Exit 5 when something was not made by envctl, 6 when provenance could not be
        read completely."""
        if as_json and markdown:
            from envctl.errors import UsageError

            raise UsageError("--json and --markdown do not go together: choose one")
        from envctl.config.load import load_environment
        from envctl.provenance.audit import audit_environment
        from envctl.teardown import verify as core

        root = cli_context(ctx).root()
        environment = load_environment(root, core.pick_environment(root, env))
        note = core.sandbox_note(environment, root)
        if note:
            render.warn(note)
        report = audit_environment(environment, root, account=account)
        if as_json:
            render.emit_json(report.to_json())
        elif markdown:
            from envctl.cli.audit_render import markdown as to_markdown

            render.line(to_markdown(report))
        else:
            from envctl.cli.audit_render import text

            render.line(text(report))
        raise typer.Exit(report.exit_code)
