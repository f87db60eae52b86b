"""``envctl verify``: the cost verification report ($0 after teardown, checked)."""

from __future__ import annotations

import os

import typer

from envctl.cli import render
from envctl.cli.common import cli_context


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(ctx: typer.Context,
               env: str | None = typer.Argument(None, help="Environment name (default: the one with state)."),
               as_json: bool = typer.Option(False, "--json", help="The report as JSON (the stable shape)."),
               markdown: bool = typer.Option(False, "--markdown", help="The report as Markdown, for PR comments "
                                             "and $GITHUB_STEP_SUMMARY."),
               spend: bool = typer.Option(False, "--spend", help="Add month-to-date and yesterday's actual "
                                          "spend for the environment's tag (Cost Explorer, $0.01 a request)."),
               all_regions: bool = typer.Option(False, "--all-regions", help="Scan every region enabled for "
                                                "the account, not only region and verify.regions of env.yaml."),
               print_policy: bool = typer.Option(False, "--print-policy", help="Print the least-privilege "
                                                 "IAM policy verify needs, and exit."),
               ) -> None:
        """What is left of ENV in AWS, which component owns it, what it costs.

        Exit 0 clean, 5 leftovers found, 6 a check could not run (denied, throttled, a region unreachable)
        and nothing was found: $0 is not proven."""
        if print_policy:
            from envctl.inventory import POLICY_ACTIONS, policy_json

            render.line(policy_json(POLICY_ACTIONS))
            return
        if as_json and markdown:
            from envctl.errors import UsageError

            raise UsageError("--json and --markdown do not go together: choose one")
        from envctl.aws.session import client_factory_for
        from envctl.config.load import load_environment
        from envctl.teardown import verify as core

        root = cli_context(ctx).root()
        environment = load_environment(root, core.pick_environment(root, env))
        note = core.sandbox_note(environment, root)  # before the factory, which starts the sandbox
        if note:
            render.warn(note)
        factory = client_factory_for(environment, root)
        report = core.verify_environment(environment, root, client_factory=factory, all_regions=all_regions)
        if spend:
            import dataclasses

            report = dataclasses.replace(report, spend=core.actual_spend(environment.name, factory,
                                                                         region=environment.region))
        _show(report, as_json=as_json, markdown=markdown)
        raise typer.Exit(int(report.exit_code))


def _show(report: object, *, as_json: bool, markdown: bool) -> None:
    from envctl.cli import verify_render
    from envctl.teardown.report import VerifyReport, to_json, to_markdown

    assert isinstance(report, VerifyReport)
    if as_json:
        render.emit_json(to_json(report))
    elif markdown:
        render.line(to_markdown(report).rstrip("\n"))
    else:
        render.line(verify_render.text(report, color=render.is_terminal() and "NO_COLOR" not in os.environ))
