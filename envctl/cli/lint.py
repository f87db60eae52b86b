"""``envctl lint [ENV]``: the script-pair contract, for people, CI and pre-commit."""

from __future__ import annotations

import typer

from envctl.cli.common import cli_context
from envctl.errors import ExitCode


def register(app: typer.Typer) -> None:
    @app.command("lint")
    def lint(
        ctx: typer.Context,
        env: str | None = typer.Argument(None, help="The environment to check. Default: every environment.",
                                         show_default=False),
        shellcheck: bool = typer.Option(True, "--shellcheck/--no-shellcheck",
                                        help="Add shellcheck's findings (as warnings) when it is installed."),
    ) -> None:
        """Check the script-pair contract: errors exit 2 (and block up/down/update), warnings alone exit 0."""
        from envctl.config.load import list_environment_names
        from envctl.safety import lint as core
        from envctl.safety.lint_rules import SHELLCHECK_MISSING, shellcheck_available

        root = cli_context(ctx).root()
        names = [env] if env else list_environment_names(root)
        findings: list[core.Finding] = []
        for name in names:
            findings += core.lint_named(root, name, use_shellcheck=shellcheck)
        findings = list(dict.fromkeys(findings))  # environments may share scripts: say each problem once
        for finding in findings:
            typer.echo(finding.render(root))
        if shellcheck and not shellcheck_available():
            typer.echo(f"info: {SHELLCHECK_MISSING}")
        n_errors = len(core.errors(findings))
        n_warnings = len(findings) - n_errors
        where = f"environment '{env}'" if env else f"{len(names)} environment(s)"
        if findings:
            typer.echo(f"{n_errors} error(s), {n_warnings} warning(s) in {where}")
        else:
            typer.echo(f"no problems in {where}")
        if n_errors:
            raise typer.Exit(int(ExitCode.BAD_INPUT))
