"""``envctl policy ENV --runner|--reader|--agent-guardrail``: IAM policy documents, printed for IAM as they are."""

from __future__ import annotations

import typer

from envctl.cli import render
from envctl.cli.common import cli_context


def register(app: typer.Typer) -> None:
    @app.command("policy")
    def policy_(ctx: typer.Context,
                env: str = typer.Argument(..., help="Environment name."),
                runner: bool = typer.Option(False, "--runner", help="What the environment's scripts call: the "
                                            "role that runs envctl up/down (CI, a person)."),
                reader: bool = typer.Option(False, "--reader", help="What envctl's read-only commands call: "
                                            "an analyst agent's own role."),
                guardrail: bool = typer.Option(False, "--agent-guardrail", help="Deny every write made "
                                               "through the AWS MCP server: attach beside a person's "
                                               "permissions."),
                ) -> None:
        """Print an IAM policy document (JSON) for ENV. Looks only: reads the scripts, calls nothing.

        A policy too big for one managed policy (6,144 characters) is printed as a JSON list of documents,
        each under the limit: create one managed policy per element.
        """
        from envctl.config.load import load_environment
        from envctl.errors import UsageError
        from envctl.provenance import policy as core

        if sum([runner, reader, guardrail]) != 1:
            raise UsageError("choose one of --runner, --reader and --agent-guardrail",
                             hint=f"e.g. envctl policy {env} --runner > runner-policy.json")
        environment = load_environment(cli_context(ctx).root(), env)
        result = core.build(environment, "runner" if runner else "reader" if reader else "agent-guardrail")
        for problem in result.unmapped:
            render.warn(problem)
        documents = result.documents
        if len(documents) == 1:
            render.emit_json(documents[0])
            return
        render.emit_json(documents)
        render.line(f"envctl: the policy needs {len(documents)} documents to stay under IAM's 6,144-character "
                    "limit for a managed policy: create one managed policy per element (jq '.[0]', ...)",
                    err=True)
