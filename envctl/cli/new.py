"""``envctl new ENV COMPONENT``: scaffold a script pair and register it in env.yaml."""

from __future__ import annotations

import typer

from envctl.cli.common import cli_context


def register(app: typer.Typer) -> None:
    @app.command("new")
    def new(
        ctx: typer.Context,
        env: str = typer.Argument(..., help="The environment to add the component to."),
        component: str = typer.Argument(..., help="The new component's name (letters, digits, '-', '_')."),
        depends_on: list[str] = typer.Option([], "--depends-on", "-d", help="A component it depends on "
                                             "(repeatable).", show_default=False),
        copy_from: str | None = typer.Option(None, "--from", help="Copy this component's scripts instead of "
                                             "the template.", show_default=False),
    ) -> None:
        """Scaffold install-COMPONENT.sh and delete-COMPONENT.sh and register COMPONENT in env.yaml."""
        from envctl.authoring.scaffold import new_component

        root = cli_context(ctx).root()
        made = new_component(root, env, component, depends_on=depends_on, copy_from=copy_from)
        for path in made.scripts:
            typer.echo(f"created {path.relative_to(root)}")
        deps = f" (depends on {', '.join(depends_on)})" if depends_on else ""
        typer.echo(f"registered '{component}'{deps} in {made.env_file.relative_to(root)}")
        approve = f", 'envctl approve {env}'" if made.review_required else ""
        typer.echo(f"next: edit the scripts, check them with 'envctl lint {env}'{approve}, "
                   f"then 'envctl up {env} --only {component}'")
