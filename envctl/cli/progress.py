"""Live progress of a run: rich on a terminal, plain timestamped lines in CI logs."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import typer

from envctl.config.durations import format_duration
from envctl.run.results import RunResult, StepOutcome

# Imported with the run's other modules, not when the summary needs it: at the end of a long run the machine
# has been idle and a first import there costs several times what it does while the command starts.
from envctl.timeline.analysis import critical_chain

_MARK = {"ok": "done", "failed": "FAILED", "timeout": "TIMED OUT", "interrupted": "interrupted",
         "error": "ENVCTL ERROR", "blocked": "blocked", "skipped": "skipped", "not_started": "not started"}


class PlainReporter:
    """One timestamped line per event; script output prefixed with its component (readable in CI logs)."""

    def __init__(self, *, show_output: bool = True) -> None:
        self._lock = threading.Lock()
        self.show_output = show_output

    def _say(self, text: str) -> None:
        with self._lock:
            typer.echo(f"{time.strftime('%H:%M:%S')} {text}")

    def run_started(self, run_id: str, command: str, env: str, order: Sequence[str]) -> None:
        self._say(f"envctl {command} {env}: run {run_id}, {len(order)} component(s)")

    def step_started(self, component: str, action: str) -> None:
        self._say(f"{component} {action} started")

    def step_output(self, component: str, action: str, line: str) -> None:
        if self.show_output:
            self._say(f"{component} | {line}")

    def step_finished(self, outcome: StepOutcome) -> None:
        if outcome.ran:
            extra = f" ({format_duration(outcome.duration_s)})"
            extra += f": {outcome.detail}, log {outcome.log}" if outcome.result != "ok" else ""
            self._say(f"{outcome.component} {outcome.action} {_MARK[outcome.result]}{extra}")
        elif outcome.result != "skipped" or "changed" in outcome.detail:
            self._say(f"{outcome.component} {_MARK[outcome.result]}: {outcome.detail}")

    def note(self, text: str) -> None:
        with self._lock:
            typer.echo(f"{time.strftime('%H:%M:%S')} envctl: {text}", err=True)

    def close(self) -> None:
        pass


def escape(text: str) -> str:
    """rich's markup escaping, imported when a terminal shows the live display (CI logs never need rich)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


class RichReporter(PlainReporter):
    """A line per running component with its elapsed time and last output line; finished steps scroll above."""

    def __init__(self) -> None:
        super().__init__(show_output=False)
        from rich.console import Console
        from rich.live import Live

        self.console = Console(stderr=False)
        self.running: dict[str, tuple[str, float, str]] = {}
        self.live = Live(console=self.console, refresh_per_second=8, transient=True,
                         get_renderable=self._render)
        self.live.start()

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 1))
        now = time.monotonic()
        with self._lock:
            items = list(self.running.items())
        for name, (action, started, last) in items:
            table.add_row("[cyan]⠿[/]", f"[bold]{name}[/]", action, format_duration(now - started),
                          f"[dim]{escape(last[-80:])}[/]")
        return table

    def run_started(self, run_id: str, command: str, env: str, order: Sequence[str]) -> None:
        self.console.print(f"[bold]envctl {command} {env}[/]: run {run_id}, {len(order)} component(s)")

    def step_started(self, component: str, action: str) -> None:
        with self._lock:
            self.running[component] = (action, time.monotonic(), "")

    def step_output(self, component: str, action: str, line: str) -> None:
        with self._lock:
            if component in self.running:
                act, started, _ = self.running[component]
                self.running[component] = (act, started, line)

    def step_finished(self, outcome: StepOutcome) -> None:
        with self._lock:
            self.running.pop(outcome.component, None)
        colour = {"ok": "green", "skipped": "dim", "blocked": "yellow"}.get(outcome.result, "red")
        if outcome.ran:
            tail = (f" [dim]{escape(outcome.detail)}, log {escape(outcome.log or '')}[/]"
                    if outcome.result != "ok" else "")
            self.console.print(f"  [{colour}]{_MARK[outcome.result]:>11}[/] {outcome.component} "
                               f"{outcome.action} ({format_duration(outcome.duration_s)}){tail}")
        else:
            self.console.print(f"  [{colour}]{_MARK[outcome.result]:>11}[/] {outcome.component} "
                               f"[dim]{escape(outcome.detail)}[/]")

    def note(self, text: str) -> None:
        self.console.print(f"[yellow]envctl: {escape(text)}[/]")

    def close(self) -> None:
        self.live.stop()


def make_reporter() -> PlainReporter:
    return RichReporter() if sys.stdout.isatty() else PlainReporter()


def summary(result: RunResult) -> str:
    """The end of a run: counts, durations, failures with their logs, the critical path."""
    counts: dict[str, int] = {}
    for step in result.steps:
        counts[step.result] = counts.get(step.result, 0) + 1
    order = ["ok", "failed", "timeout", "interrupted", "blocked", "not_started", "skipped"]
    parts = [f"{counts[k]} {_MARK[k] if k != 'ok' else 'done'}" for k in order if counts.get(k)]
    lines = [f"envctl {result.command} {result.env}: {', '.join(parts) or 'nothing to do'} "
             f"in {format_duration(result.wall_s)} (run {result.run_id})"]
    for step in result.steps:
        if step.result in ("failed", "timeout", "interrupted"):
            lines.append(f"  {_MARK[step.result]}: {step.component} {step.action} ({step.detail}); log: {step.log}")
        elif step.result in ("blocked", "not_started"):
            lines.append(f"  {_MARK[step.result]}: {step.component}: {step.detail}")
        elif step.result == "skipped" and "changed" in step.detail:
            lines.append(f"  skipped: {step.component}: {step.detail}")
    lines.extend(_critical_path_line(result))
    for comp, left in result.leaks.items():
        lines.append(f"  {comp}: its delete left {len(left)} resource(s) behind:")
        lines.extend(f"    - {item}" for item in left)
    if result.lock_lost:
        lines.append(f"  lock lost: {result.lock_lost}. Nothing new was started and the running scripts were "
                     "stopped: another run may be changing this environment. Check 'envctl status' and "
                     "'envctl history' before running again.")
    elif result.interrupted:
        lines.append("  interrupted: nothing new was started; what finished is recorded. Run the command again "
                     "to resume.")
    return "\n".join(lines)


def _critical_path_line(result: RunResult) -> list[str]:
    """The run's critical path, from the timeline's analysis of its record (one definition, shared with the
    picture)."""
    if not result.record or not result.steps:
        return []
    chain = critical_chain(dict(result.record))
    if len(chain) < 2:
        return []
    took = sum(bar.duration for bar in chain)
    return [f"  critical path ({format_duration(took)}): " + " -> ".join(bar.component for bar in chain)]
