"""``envctl approve ENV``: record the environment's scripts as reviewed (the review gate's other half)."""

from __future__ import annotations

import os

import typer

from envctl.cli.common import cli_context


def register(app: typer.Typer) -> None:
    @app.command("approve")
    def approve(
        ctx: typer.Context,
        env: str = typer.Argument(..., help="The environment whose scripts you have read."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what is not approved yet, with diffs; "
                                     "write nothing."),
    ) -> None:
        """Approve env.yaml and every script as they are now: writes environments/ENV/envctl.lock (commit it).

        With `review: required` in env.yaml, up/down/update/sleep/wake refuse to run anything not approved; inside
        an AI coding agent's session they always do (agents: in env.yaml), and approve itself refuses: a person
        approves.
        """
        from envctl.config.load import load_environment
        from envctl.safety import agents
        from envctl.safety import review as core

        root = cli_context(ctx).root()
        environment = load_environment(root, env)
        if not dry_run:
            agents.refuse_approval(environment, agents.detect(os.environ))
        status = core.review_status(environment) if dry_run else core.approve(environment)
        for item in status:
            typer.echo(f"{item.status:<9} {item.path}")
            if dry_run and item.status == "changed":
                typer.echo(core.describe_change(environment, item))
        counts = {s: sum(1 for i in status if i.status == s) for s in core.STATUSES}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        lock = core.relative_path(environment, core.lock_path(environment))
        if dry_run:
            typer.echo(f"not approved (dry run): {summary}")
        else:
            typer.echo(f"approved {len(status) - counts['removed']} file(s) of '{env}' ({summary}) in "
                       f"{lock}; commit it with the scripts")
