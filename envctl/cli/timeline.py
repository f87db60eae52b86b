"""``envctl timeline``: a Gantt picture of a run, its critical path marked."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import typer

from envctl.cli.common import cli_context
from envctl.errors import StateError, UsageError

_SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:+-]*$")
_LATEST_SHOWN = 5


def _runs(root: Path, env: str | None) -> list[dict[str, Any]]:
    """Every recorded run (of ``env`` only when given), newest last, from the backends that keep them."""
    from envctl.state.history import history

    return history(root, env)


def pick_run(runs: list[dict[str, Any]], run_id: str | None, env: str | None) -> dict[str, Any]:
    """The run named by ``run_id`` (a unique prefix will do), or the latest one."""
    where = f" of environment '{env}'" if env else ""
    if not runs:
        raise UsageError(f"no runs recorded yet{where}", hint="run `envctl up ENV` first")
    if run_id is None:
        return runs[-1]
    exact = [r for r in runs if r.get("run_id") == run_id]
    matches = exact or [r for r in runs if str(r.get("run_id", "")).startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(str(r["run_id"]) for r in matches[-_LATEST_SHOWN:])
        raise UsageError(f"run id '{run_id}' is ambiguous: {len(matches)} runs start with it ({names})",
                         hint="give more of the run id")
    latest = ", ".join(str(r.get("run_id")) for r in reversed(runs[-_LATEST_SHOWN:]))
    raise UsageError(f"no run '{run_id}'{where}",
                     hint=f"the latest runs are: {latest} (see `envctl history`)")


def _default_out(root: Path, run: dict[str, Any]) -> Path:
    from envctl.config.paths import state_dir

    run_id = str(run["run_id"])
    if not _SAFE_RUN_ID.match(run_id) or ".." in run_id:
        raise StateError(f"run id {run_id!r} in the history is not a plain name; not writing a file for it",
                         hint="pass --out FILE")
    return state_dir(root) / "runs" / run_id / "timeline.html"


def _kind(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix in (".svg", ".html", ".htm"):
        return "svg" if suffix == ".svg" else "html"
    raise UsageError(f"--out {out}: name the picture by its extension, FILE.svg or FILE.html")


def _render(run: dict[str, Any], kind: str) -> str:
    from envctl.timeline.svg import render_html, render_svg

    return render_svg(run) if kind == "svg" else render_html(run)


def register(app: typer.Typer) -> None:
    @app.command("timeline")
    def timeline_command(
        ctx: typer.Context,
        run_id: str | None = typer.Argument(None, help="The run (a unique prefix of its id will do). "
                                            "Default: the latest run.", show_default=False, metavar="RUN_ID"),
        env: str | None = typer.Option(None, "--env", help="Take the runs of this environment only.",
                                       show_default=False, metavar="ENV"),
        out: Path | None = typer.Option(None, "--out", help="Write the picture here: FILE.svg or FILE.html. "
                                        "Default: .envctl/runs/<run-id>/timeline.html.", show_default=False,
                                        metavar="FILE"),
        as_json: bool = typer.Option(False, "--json", help="Print the steps and the critical path as JSON "
                                     "(writes a file only with --out)."),
    ) -> None:
        """A Gantt picture of a run (self-contained SVG or HTML), critical path marked."""
        from envctl.config.paths import atomic_write_text
        from envctl.timeline import analysis as timeline

        root = cli_context(ctx).root()
        kind = _kind(out) if out is not None else "html"
        run = pick_run(_runs(root, env), run_id, env)
        if as_json:
            if out is not None:
                atomic_write_text(out, _render(run, kind))
            typer.echo(json.dumps(timeline.to_json(run), indent=2))
            return
        target = out if out is not None else _default_out(root, run)
        atomic_write_text(target, _render(run, kind))
        typer.echo(str(target))
        typer.echo(timeline.summary_line(run), err=True)
