"""What a run is asked to do and what it returns: options in, step outcomes and a run result out, and the
protocol of whoever watches it (the live display)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from envctl.errors import EnvctlError, ExitCode

# results a step can have; blocked/skipped/not_started never ran a script; error: envctl itself failed
RAN = ("ok", "failed", "timeout", "interrupted")
FAILED = RAN[1:]  # a script that ran and did not succeed


@dataclass(frozen=True)
class StepOutcome:
    component: str
    action: str
    result: str  # ok | failed | timeout | interrupted | error | blocked | skipped | not_started
    exit_code: int | None = None
    duration_s: float = 0.0
    log: str | None = None
    script: str | None = None
    sha256: str | None = None
    start: str | None = None
    end: str | None = None
    detail: str = ""

    @property
    def ran(self) -> bool:
        return self.result in RAN or (self.result == "error" and self.start is not None)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    command: str
    env: str
    steps: tuple[StepOutcome, ...]
    started: str
    ended: str
    wall_s: float
    interrupted: bool = False
    warnings: tuple[str, ...] = ()
    leaks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # component -> what its delete left
    report: Any = None  # what the run's hooks returned at the end (down: the final verify report)
    record: Mapping[str, Any] = field(default_factory=dict)  # the history record (the timeline reads it)
    lock_lost: str | None = None  # why the run lost its lock (team state), if it did

    def by_result(self, result: str) -> list[StepOutcome]:
        return [s for s in self.steps if s.result == result]

    @property
    def failed(self) -> bool:
        return any(s.result in FAILED for s in self.steps)

    @property
    def exit_code(self) -> ExitCode:
        if self.lock_lost:
            return ExitCode.LOCKED
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if self.failed:
            return ExitCode.SCRIPT_FAILED
        if self.report is not None and not getattr(self.report, "clean", True):
            # the final verify's own code: 5 leftovers, 6 a check could not run and nothing was found
            return ExitCode(getattr(self.report, "exit_code", ExitCode.LEFTOVERS))
        return ExitCode.OK


class RunError(EnvctlError):
    """envctl itself failed inside a step (not the script): the run is recorded as ``error``, exit 1."""

    exit_code = ExitCode.INTERNAL


class Reporter(Protocol):
    """What a run tells its watcher. Called from worker threads: implementations must be thread-safe."""

    def run_started(self, run_id: str, command: str, env: str, order: Sequence[str]) -> None: ...

    def step_started(self, component: str, action: str) -> None: ...

    def step_output(self, component: str, action: str, line: str) -> None: ...

    def step_finished(self, outcome: StepOutcome) -> None: ...

    def note(self, text: str) -> None: ...


class NullReporter:
    def run_started(self, run_id: str, command: str, env: str, order: Sequence[str]) -> None: ...
    def step_started(self, component: str, action: str) -> None: ...
    def step_output(self, component: str, action: str, line: str) -> None: ...
    def step_finished(self, outcome: StepOutcome) -> None: ...
    def note(self, text: str) -> None: ...


@dataclass
class RunOptions:
    only: Sequence[str] = ()
    parallel: int = 8
    fail_fast: bool = False
    force: bool = False
    verify: bool = True
    wait_lock: float = 0.0
    handle_signals: bool = True
