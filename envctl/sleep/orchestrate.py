"""``sleep`` and ``wake``: the components' scripts over the graph, and the AWS built-ins, under one lock.

sleep: the ``sleep-*.sh`` scripts in reverse dependency order, then the built-ins (ECS services, nodegroups and
autoscaling groups to zero; RDS instances, Aurora clusters and EC2 instances stopped), waited for until they
are. wake: the built-ins first (nodes before workloads), waited for until they run, then ``wake-*.sh`` in
dependency order. The built-ins' record lives in ``EnvState.sleep``, saved before each change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envctl.config.durations import now_iso
from envctl.config.model import DEFAULT_TIMEOUT, Environment
from envctl.errors import ExitCode
from envctl.run import engine
from envctl.run.hooks import RunHooks
from envctl.run.results import Reporter, RunOptions, RunResult, StepOutcome
from envctl.sleep.targets import ClientFactory
from envctl.state.backends import backend_for
from envctl.state.model import EnvState, StateBackend

FAILED = ("failed", "timeout", "interrupted", "blocked")


@dataclass(frozen=True)
class SleepWakeResult:
    run: RunResult
    actions: tuple[str, ...] = ()       # what the built-ins changed
    errors: tuple[str, ...] = ()        # per resource, what the built-ins could not do
    builtins_ran: bool = True
    why_not: str = ""                   # why the built-ins did not run

    @property
    def exit_code(self) -> ExitCode:
        if self.run.exit_code != ExitCode.OK:
            return self.run.exit_code
        return ExitCode.SCRIPT_FAILED if self.errors else ExitCode.OK


class _Watch:
    """Passes everything on to the real reporter and keeps each component's outcome."""

    def __init__(self, inner: Reporter) -> None:
        self.inner = inner
        self.outcomes: dict[str, StepOutcome] = {}

    def run_started(self, run_id: str, command: str, env: str, order: Sequence[str]) -> None:
        self.inner.run_started(run_id, command, env, order)

    def step_started(self, component: str, action: str) -> None:
        self.inner.step_started(component, action)

    def step_output(self, component: str, action: str, line: str) -> None:
        self.inner.step_output(component, action, line)

    def step_finished(self, outcome: StepOutcome) -> None:
        self.outcomes[outcome.component] = outcome
        self.inner.step_finished(outcome)

    def note(self, text: str) -> None:
        self.inner.note(text)


def sleep(root: Path, name: str, options: RunOptions, *, reporter: Reporter,
          client_factory: ClientFactory | None = None) -> SleepWakeResult:
    return _run(root, name, "sleep", options, reporter, client_factory)


def wake(root: Path, name: str, options: RunOptions, *, reporter: Reporter,
         client_factory: ClientFactory | None = None) -> SleepWakeResult:
    return _run(root, name, "wake", options, reporter, client_factory)


def _run(root: Path, name: str, command: str, options: RunOptions, reporter: Reporter,
         client_factory: ClientFactory | None) -> SleepWakeResult:
    from envctl.aws.session import client_factory_for
    from envctl.run import lifecycle

    env, aws = lifecycle.prepare(root, name, command, reporter)
    factory = client_factory or client_factory_for(env, root)
    backend = backend_for(root, env.state, env=env)
    watch = _Watch(reporter)
    builtins = _Builtins(env, command, factory, backend, watch)
    kw: dict[str, Any] = {"reporter": watch, "backend": backend, "base_env": aws.script_env,
                          "sandbox_id": aws.sandbox_id, "hooks": builtins}
    if command == "sleep":
        run = engine.run_scripts(env, "sleep", options, reverse=True, **kw)
    else:
        run = engine.run_scripts(env, "wake", options, **kw)
    return SleepWakeResult(run, tuple(builtins.actions), tuple(builtins.errors), builtins.ran, builtins.why_not)


class _Builtins(RunHooks):
    """The run's hooks, under the lock: the built-ins (wake: before the scripts; sleep: after them), and the
    components' new states."""

    def __init__(self, env: Environment, command: str, factory: ClientFactory, backend: StateBackend,
                 watch: _Watch) -> None:
        self.env, self.command, self.factory, self.backend, self.watch = env, command, factory, backend, watch
        self.actions: list[str] = []
        self.errors: list[str] = []
        self.ran = False
        self.why_not = ""

    def _call(self, state: EnvState) -> None:
        from envctl.sleep.builtins import sleep_builtins, wake_builtins

        def persist(data: dict[str, Any]) -> None:
            state.sleep = data
            self.backend.save(state)

        func = sleep_builtins if self.command == "sleep" else wake_builtins
        outcome = func(self.env.name, region=self.env.region, config=self.env.sleep, client_factory=self.factory,
                       remembered=state.sleep, on_remember=persist, timeout_of=self._timeout_of)
        state.sleep = outcome.remembered
        self.ran = True
        self.actions.extend(outcome.actions)
        self.errors.extend(outcome.errors)
        for line in outcome.actions:
            self.watch.note(line)
        for line in outcome.errors:
            self.watch.note(f"could not {self.command}: {line}")

    def _timeout_of(self, component: str | None) -> float:
        """A resource's waits end by its component's timeout (the one its scripts get)."""
        comp = self.env.components.get(component or "")
        return comp.timeout if comp is not None else DEFAULT_TIMEOUT

    def before_first_step(self, state: EnvState) -> None:
        if self.command == "wake":
            self._call(state)

    def hold(self, component: str) -> str:
        if self.command == "wake" and self.errors:
            return ("not started: the built-ins could not wake everything (" + self.errors[0] + "); run "
                    f"envctl wake {self.env.name} again once it settles")
        return ""

    def failures(self) -> Sequence[str]:
        return tuple(self.errors)

    def at_end(self, state: EnvState) -> None:
        if self.command == "sleep":
            self._after_sleep_scripts(state)
        else:
            self._move(state, "asleep", "up")

    def _after_sleep_scripts(self, state: EnvState) -> None:
        failed = [n for n, o in self.watch.outcomes.items() if o.result in FAILED]
        if failed:
            self.why_not = (f"the built-ins did not run: the sleep of {', '.join(failed)} did not succeed; "
                            "fix it and run sleep again")
            self.watch.note(self.why_not)
        else:
            self._call(state)
        self._move(state, "up", "asleep")

    def _move(self, state: EnvState, old: str, new: str) -> None:
        """Components in ``old`` go to ``new``, except those whose own script did not succeed."""
        when = now_iso()
        for name in self.env.components:
            comp = state.components.get(name)
            outcome = self.watch.outcomes.get(name)
            if comp is None or comp.state != old or (outcome is not None and outcome.result in FAILED):
                continue
            if self.command == "sleep" and self.why_not and (outcome is None or outcome.result != "ok"):
                continue  # the built-ins did not run: only a component whose own sleep script ran is asleep
            comp.state, comp.since = new, when
            if outcome is None or not outcome.ran:
                comp.last_action, comp.last_result = self.command, "ok"
