"""Read-only commands on the registry: list, plan, graph."""

from __future__ import annotations

from enum import Enum

import typer

from envctl.cli import render
from envctl.cli.common import cli_context


class GraphFormat(str, Enum):
    text = "text"
    mermaid = "mermaid"
    dot = "dot"


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_(ctx: typer.Context,
              as_json: bool = typer.Option(False, "--json", help="Print JSON: [{name, state}, ...].")) -> None:
        """The environments under environments/ with their state."""
        from envctl.run import status

        rows = status.list_environments(cli_context(ctx).root())
        if as_json:
            render.emit_json([{"name": r.name, "state": r.state, **({"error": r.error} if r.error else {})}
                              for r in rows])
            return
        if not rows:
            render.line("no environments: create environments/<env>/env.yaml")
            return
        render.line(render.table(["environment", "state", "components", "target"],
                                 [[r.name, r.state if not r.error else "invalid", str(r.components), r.target]
                                  for r in rows]))
        for r in rows:
            if r.error:
                render.warn(r.error)

    @app.command()
    def plan(ctx: typer.Context,
             env: str = typer.Argument(..., help="Environment name."),
             down: bool = typer.Option(False, "--down", help="The teardown order instead of bring-up."),
             only: list[str] = typer.Option([], "--only", help="Only these components (up: and what they "
                                             "depend on; down: and what depends on them)."),
             as_json: bool = typer.Option(False, "--json", help="Print the contract's JSON.")) -> None:
        """The order `up` (or `down`) would run, without running anything."""
        from envctl.config import graph
        from envctl.config.load import load_environment

        environment = load_environment(cli_context(ctx).root(), env)
        deps = environment.depends_on()
        order = graph.down_order(deps, only) if down else graph.up_order(deps, only)
        if as_json:
            chosen = set(order)
            render.emit_json({"env": environment.name, "action": "down" if down else "up", "order": order,
                              "depends_on": {n: [d for d in deps[n] if d in chosen] for n in order}})
            return
        verb = "delete" if down else "install"
        render.line(f"envctl {'down' if down else 'up'} {environment.name} would {verb}, in this order "
                    f"(independent ones in parallel):")
        for i, name in enumerate(order, 1):
            after = graph.reverse(deps)[name] if down else deps[name]
            after = [a for a in after if a in order]
            render.line(f"  {i:>3}. {name}" + (f"  (after {', '.join(after)})" if after else ""))

    @app.command("graph")
    def graph_(ctx: typer.Context,
               env: str = typer.Argument(..., help="Environment name."),
               fmt: GraphFormat = typer.Option(GraphFormat.text, "--format", help="text, mermaid or dot.")
               ) -> None:
        """The dependency graph (mermaid renders on GitHub; dot for Graphviz)."""
        from envctl.config import graph
        from envctl.config.load import load_environment

        deps = load_environment(cli_context(ctx).root(), env).depends_on()
        out = {"text": graph.to_text, "mermaid": graph.to_mermaid, "dot": graph.to_dot}[fmt.value](deps)
        typer.echo(out, nl=False)
