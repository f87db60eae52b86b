"""``envctl diff ENV1 ENV2``: what differs between two environments, as text or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import typer

from envctl.cli.common import cli_context
from envctl.config.durations import format_duration

if TYPE_CHECKING:
    from envctl.authoring.diff import ComponentDiff, EnvDiff, MappingDiff


def register(app: typer.Typer) -> None:
    @app.command("diff")
    def diff(
        ctx: typer.Context,
        env1: str = typer.Argument(..., help="The environment to compare from (e.g. test)."),
        env2: str = typer.Argument(..., help="The environment to compare to (e.g. prod)."),
        as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
    ) -> None:
        """Compare two environments: components, dependencies, vars, tags, settings and scripts.

        Scripts by sha256, with a unified diff of those that differ. Exits 0 whether or not they differ."""
        from envctl.config.load import load_environment

        root = cli_context(ctx).root()
        from envctl.authoring.diff import diff_environments

        result = diff_environments(load_environment(root, env1), load_environment(root, env2))
        if as_json:
            typer.echo(json.dumps(result.to_dict(), indent=2))
            return
        for line in render_diff(result):
            typer.echo(line)


def render_diff(d: EnvDiff) -> Iterator[str]:
    """The comparison as text lines (``+``/``-`` lines of script diffs coloured on a terminal)."""
    if d.same:
        yield f"{d.a} and {d.b} are the same (components, dependencies, vars, tags, settings, scripts)"
        return
    yield typer.style(f"{d.a} → {d.b}", bold=True)
    if d.settings:
        yield "settings"
        width = _width(d.settings)
        for key, (a, b) in d.settings.items():
            yield f"  {key:<{width}} {_show(a)} → {_show(b)}"
    yield "components"
    for label, names in ((f"only in {d.a}", d.only_a), (f"only in {d.b}", d.only_b),
                         ("different", [c.name for c in d.components if c.differs]),
                         ("same", [c.name for c in d.components if not c.differs])):
        if names:
            yield f"  {label:<18} {', '.join(_with_deps(n, d) for n in names)}"
    for title, mapping in (("vars", d.vars), ("tags", d.tags)):
        if mapping.differs:
            yield title
            yield from _mapping(mapping, d, "  ")
    for comp in d.components:
        if comp.differs:
            yield from _component(comp, d)


def _with_deps(name: str, d: EnvDiff) -> str:
    deps = d.only_depends_on.get(name)
    return f"{name} (depends on {', '.join(deps)})" if deps else name


def _mapping(m: MappingDiff, d: EnvDiff, indent: str) -> Iterator[str]:
    width = _width([*m.changed, *m.only_a, *m.only_b])
    for key, (a, b) in m.changed.items():
        yield f"{indent}{key:<{width}} {_show(a)} → {_show(b)}"
    for key, value in m.only_a.items():
        yield f"{indent}{key:<{width}} {_show(value)} (only in {d.a})"
    for key, value in m.only_b.items():
        yield f"{indent}{key:<{width}} {_show(value)} (only in {d.b})"


def _width(keys: Iterable[str]) -> int:
    return max([18, *(len(k) + 1 for k in keys)])


def _component(c: ComponentDiff, d: EnvDiff) -> Iterator[str]:
    where = f"  (both use {c.dir_a})" if c.same_dir else f"  ({c.dir_a} → {c.dir_b})"
    yield typer.style(f"component {c.name}", bold=True) + where
    if c.depends_on_differs:
        yield f"  {'depends_on':<18} [{', '.join(c.depends_on_a)}] → [{', '.join(c.depends_on_b)}]"
    if c.timeout_a != c.timeout_b:
        yield f"  {'timeout':<18} {format_duration(c.timeout_a)} → {format_duration(c.timeout_b)}"
    if c.vars.differs:
        yield "  vars"
        yield from _mapping(c.vars, d, "    ")
    if c.scripts_differ:
        yield "  scripts"
        for s in c.scripts:
            status = {"only_a": f"only in {d.a}", "only_b": f"only in {d.b}"}.get(s.status, s.status)
            shas = _short(s.a_sha256)
            if s.status != "same":
                shas += f" → {_short(s.b_sha256)}"
            yield f"    {s.action:<16} {status:<14} {shas}"
        for s in c.scripts:
            if s.unified:
                yield from (_colour(line) for line in s.unified.rstrip("\n").splitlines())


def _colour(line: str) -> str:
    if line.startswith(("+++", "---")):
        return typer.style(line, bold=True)
    if line.startswith("+"):
        return typer.style(line, fg="green")
    if line.startswith("-"):
        return typer.style(line, fg="red")
    if line.startswith("@@"):
        return typer.style(line, fg="cyan")
    return line


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)
