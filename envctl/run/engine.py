"""Runs an action over an environment's graph: ``up`` (install), ``down`` (delete, reversed), ``update``, and
the script half of ``sleep``/``wake``. Everything that mutates AWS goes through here.

A run: preflight checks, the environment's lock, then the scheduler over the chosen components, with the
state saved after every batch of finished steps and the history journal written at the start and the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from envctl.config import graph
from envctl.config.durations import now_iso
from envctl.config.model import Component, Environment
from envctl.config.paths import atomic_write_json, state_dir
from envctl.errors import StateError
from envctl.run import runner
from envctl.run.decisions import decide_down, decide_script, decide_up
from envctl.run.hooks import NO_HOOKS, RunHooks
from envctl.run.redact import Redactor, secret_env_values
from envctl.run.results import FAILED, NullReporter, Reporter, RunError, RunOptions, RunResult, StepOutcome
from envctl.run.scriptenv import read_outputs, script_environment, script_hashes
from envctl.run.support import StateWriter, acquire, forward_signals, git_commit, new_run_id
from envctl.run.watchdog import ScriptWatcher
from envctl.state.backends import backend_for
from envctl.state.model import EnvState, LockHolder, StateBackend

# ---------------------------------------------------------------- public entry points


def up(env: Environment, options: RunOptions | None = None, **kw: Any) -> RunResult:
    options = options or RunOptions()
    deps = env.depends_on()
    nodes = graph.up_order(deps, options.only)
    return _Run(env, "up", "install", nodes, deps, decide_up, options, **kw).execute()


def down(env: Environment, options: RunOptions | None = None, **kw: Any) -> RunResult:
    options = options or RunOptions()
    deps = env.depends_on()
    nodes = graph.down_order(deps, options.only)
    return _Run(env, "down", "delete", nodes, graph.reverse(deps), decide_down, options, **kw).execute()


def update(env: Environment, options: RunOptions | None = None, **kw: Any) -> RunResult:
    options = options or RunOptions()
    deps = env.depends_on()
    graph.subset_up(deps, options.only)  # validates the names
    nodes = [n for n in graph.up_order(deps) if not options.only or n in options.only]
    return _Run(env, "update", "update", nodes, deps, decide_script("update"), options, **kw).execute()


def run_scripts(env: Environment, action: str, options: RunOptions, *, reverse: bool = False,
                **kw: Any) -> RunResult:
    """The ``sleep-*``/``wake-*`` scripts over the graph (sleep: reversed)."""
    deps = env.depends_on()
    nodes = graph.down_order(deps, options.only) if reverse else graph.up_order(deps, options.only)
    waits = graph.reverse(deps) if reverse else deps
    return _Run(env, action, action, nodes, waits, decide_script(action), options, **kw).execute()


# ---------------------------------------------------------------- one run


class _Run:
    def __init__(self, env: Environment, command: str, action: str, nodes: list[str],
                 waits_for: Mapping[str, Sequence[str]],
                 decide: Callable[[Environment, EnvState, str, bool], tuple[bool, str]], options: RunOptions, *,
                 reporter: Reporter | None = None, backend: StateBackend | None = None,
                 sandbox_id: str | None = None,
                 cancel: runner.Cancel | None = None, hooks: RunHooks | None = None,
                 base_env: Mapping[str, str] | None = None) -> None:
        self.env, self.command, self.action = env, command, action
        self.nodes, self.waits_for, self.decide, self.options = nodes, waits_for, decide, options
        self.reporter = reporter or NullReporter()
        self.backend = backend or backend_for(env.root, env.state, env=env)
        self.sandbox_id = sandbox_id
        self.cancel = cancel or runner.Cancel()
        self.hooks = hooks or NO_HOOKS
        self.base_env = dict(os.environ if base_env is None else base_env)
        # one per run: a value a script declares secret (::add-mask::) stays masked in every later step
        self.redactor = Redactor(secret_env_values(self.base_env))
        self.run_id = new_run_id()
        self.run_dir = state_dir(env.root) / "runs" / self.run_id
        self.lock = threading.Lock()
        self.save_lock = threading.Lock()
        # While the steps run only _apply changes components, noting which: a save copies and encodes those
        # alone. Outside the steps (hooks, the final save) every save is whole.
        self.incremental, self.changed = False, set[str]()
        self.snapshot: EnvState | None = None
        self.steps: dict[str, StepOutcome] = {}
        self.leaks: dict[str, tuple[str, ...]] = {}
        self.warnings: list[str] = []
        self.lost: str | None = None  # why the lock was lost, once it is
        self.crash: tuple[str, Exception] | None = None  # the first step in which envctl itself failed
        self.closed = False  # the history record of the end is written
        self.commit = git_commit(env.root)  # read once: the start and the end record name the same commit
        self.ancestors = graph.all_dependencies(env.depends_on())

    def execute(self) -> RunResult:
        holder = LockHolder.current(f"envctl {self.command} {self.env.name}")
        with acquire(self.backend, self.env.name, holder, self.options.wait_lock, self.reporter,
                     on_lost=self._lock_lost) as warnings, \
                forward_signals(self.cancel, self.options.handle_signals):
            self.warnings.extend(warnings)
            for text in warnings:
                self.reporter.note(text)
            self.state = self.backend.load(self.env.name)
            for value in self.state.masked_values():  # a secret an earlier run masked stays masked here
                self.redactor.add_secret(value)
            # with no state at all, deletes all run: decided once, before the first save creates a state
            self.force = self.options.force or (self.command == "down" and not self.state.exists)
            self._check_sandbox()
            return self._execute_locked(holder)

    def _lock_lost(self, why: str) -> None:
        """From the lock's renewer: the lock is gone. Stop as Ctrl-C does; the run will exit 3."""
        with self.lock:
            if self.lost is not None:
                return
            self.lost = why
        self.reporter.note(f"{why}: starting nothing new and stopping the running scripts")
        self.cancel.trip(signal.SIGTERM)

    def _check_sandbox(self) -> None:
        """A sandbox restarted since the environment went up has lost its resources: say so, record it."""
        recorded = self.state.sandbox_id
        if self.sandbox_id is None or recorded is None or recorded == self.sandbox_id:
            return
        alive = [c for c in self.state.components.values() if c.state != "down"]
        if alive:
            self.reporter.note(f"the sandbox was restarted since '{self.env.name}' went up: its resources are "
                               f"gone, so its {len(alive)} component(s) are recorded as down")
            for comp in alive:
                comp.state, comp.outputs, comp.scripts = "down", {}, {}
                comp.last_action, comp.last_result = None, None
        self.state.sandbox_id = self.sandbox_id if self.command == "up" else None

    def _execute_locked(self, holder: LockHolder) -> RunResult:
        started, t0 = now_iso(), time.monotonic()
        self.backend.append_run(self._record(holder, started, None, "running"))
        try:
            return self._run_and_close(holder, started, t0)
        except BaseException as err:
            self._abandon(holder, started, err)
            raise

    def _run_and_close(self, holder: LockHolder, started: str, t0: float) -> RunResult:
        self.reporter.run_started(self.run_id, self.command, self.env.name, self.nodes)
        self.hooks.before_first_step(self.state)
        if self.command == "up" and self.state.overall(list(self.env.components)) == "down":
            self.state.up_since = started
        if self.sandbox_id is not None and self.command == "up":
            self.state.sandbox_id = self.sandbox_id
        result = self._schedule()
        for name, culprits in result.blocked.items():
            self._settle(StepOutcome(name, self.action, "blocked",
                                     detail=f"not started: {', '.join(culprits)} failed"))
        for name in result.not_started:
            why = ("interrupted before it started" if self.cancel.is_set else
                   f"not started: envctl failed in {self.crash[0]}" if self.crash else "not started (--fail-fast)")
            self._settle(StepOutcome(name, self.action, "not_started", detail=why))
        report = None
        if not self.cancel.stopping:
            report = self.hooks.at_end(self.state)
        if self.command == "down" and self.state.overall(list(self.env.components)) == "down":
            self.state.up_since = None
            self.state.sleep = {}  # a sleep's record is of resources that are gone now
        self._final_save()
        steps = tuple(self.steps[n] for n in self.nodes if n in self.steps)
        record = self._record(holder, started, now_iso(), self._outcome(steps), steps)
        self.backend.append_run(record)
        self.closed = True
        if self.crash is not None:
            name, err = self.crash
            raise RunError(f"envctl itself failed in the {self.action} step of '{name}': "
                           f"{type(err).__name__}: {err}; run {self.run_id} is recorded as error, its state "
                           "saved and its lock released",
                           hint=f"rerun with --debug (envctl --debug {self.command} {self.env.name}) to see the "
                                "traceback, and report it") from err
        return RunResult(self.run_id, self.command, self.env.name, steps, started, record["ended"],
                         time.monotonic() - t0, interrupted=self.cancel.is_set, warnings=tuple(self.warnings),
                         leaks=dict(self.leaks), report=report, record=record, lock_lost=self.lost)

    def _schedule(self) -> runner.ScheduleResult:
        """The scheduler over the nodes, the state saved after each step, a watcher so no script outlives us."""
        weights = {n: (c.duration_s or 1.0) for n, c in self.state.components.items()}
        writer = StateWriter(self._save)
        try:
            watcher: ScriptWatcher | None = ScriptWatcher.start(self.cancel.grace)
        except OSError as err:
            watcher = None
            self.reporter.note(f"cannot start the watcher that stops scripts if envctl is killed: {err}")
        self.cancel.watch(watcher)
        # Threads hand the interpreter lock over every 5 ms by default: while many steps start and finish at
        # once, that wait lands between a dependency's end and its dependent's start. 1 ms keeps it small.
        switch = sys.getswitchinterval()
        sys.setswitchinterval(min(switch, 0.001))
        with self.lock:
            self.incremental, self.snapshot = True, None  # the first save of the steps is whole
        try:
            return runner.schedule(self.nodes, self.waits_for, self._run_node, parallel=self.options.parallel,
                                   fail_fast=self.options.fail_fast, cancel=self.cancel, weights=weights,
                                   on_batch_done=writer.mark)
        finally:
            with self.lock:
                self.incremental = False
            sys.setswitchinterval(switch)
            self.cancel.watch(None)
            if watcher is not None:
                watcher.close()
            writer.close(flush=False)  # the run's final save follows, whatever happened

    def _outcome(self, steps: Sequence[StepOutcome]) -> str:
        if self.crash is not None:
            return "error"
        if self.lost is not None:
            return "lock_lost"
        if self.cancel.is_set:
            return "interrupted"
        return "failed" if self.hooks.failures() or any(s.result in FAILED for s in steps) else "ok"

    def _abandon(self, holder: LockHolder, started: str, err: BaseException) -> None:
        """Something raised outside the steps (a hook, a state write): save what is known and close the
        history record as ``error``, as far as that still works, so that no run stays "running"."""
        if self.closed:
            return
        with contextlib.suppress(Exception):
            self._final_save()
        steps = tuple(self.steps[n] for n in self.nodes if n in self.steps)
        result = "interrupted" if isinstance(err, KeyboardInterrupt) else "error"
        record = self._record(holder, started, now_iso(), result, steps)
        record["error"] = f"{type(err).__name__}: {err}"
        with contextlib.suppress(Exception):
            self.backend.append_run(record)

    def _run_node(self, name: str) -> bool:
        """One step. An exception here is a fault in envctl, not in the script: the step is recorded as
        ``error``, nothing new starts, and the run ends as ``error`` once the running steps are done."""
        ran: list[StepOutcome] = []
        try:
            return self._step(name, ran)
        except Exception as err:
            self._error(name, ran[0] if ran else None, err)
            return False

    def _step(self, name: str, ran: list[StepOutcome]) -> bool:
        should_run, why = self.decide(self.env, self.state, name, self.force)
        if not should_run:
            self._settle(StepOutcome(name, self.action, "skipped", detail=why))
            return True
        held = self.hooks.hold(name)
        if held:
            self._settle(StepOutcome(name, self.action, "blocked", detail=held))
            return False
        comp = self.env.components[name]
        script = comp.scripts.for_action(self.action)
        assert script is not None
        log = self.run_dir / f"{name}.{self.action}.log"
        outfile = self.run_dir / f"{name}.{self.action}.outputs"
        with self.lock:
            visible = {n: dict(self.state.components[n].outputs)
                       for n in [*self.ancestors[name], name] if n in self.state.components}
        environ = script_environment(self.base_env, self.env, comp, action=self.action, run_id=self.run_id,
                                     output_file=outfile, outputs=visible)
        hashes = script_hashes(comp)
        self.reporter.step_started(name, self.action)
        start = now_iso()
        try:
            res = self._start(name, script, comp, environ, log)
        except OSError as err:  # not runnable at all: a failed step that says why, never a crash
            res = runner.ScriptResult(None, 0.0)
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(f"[envctl] could not start {script}: {err.strerror or err}\n", encoding="utf-8")
        result = ("ok" if res.ok else "interrupted" if res.interrupted else "timeout" if res.timed_out
                  else "failed")
        detail = ""
        if result == "timeout":
            detail = f"timed out after {comp.timeout:.0f}s"
        elif result == "failed":
            detail = f"exit code {res.exit_code}" if res.exit_code is not None else f"could not start (see {log})"
        step = StepOutcome(name, self.action, result, exit_code=res.exit_code, duration_s=res.duration_s,
                           log=str(log), script=str(script), sha256=hashes.get(self.action), start=start,
                           end=now_iso(),
                           detail=detail)
        ran.append(step)
        outputs, problems = read_outputs(outfile) if res.ok and self.action in ("install", "update") else ({}, [])
        for problem in problems:
            self.reporter.note(self.redactor.feed(f"{name}: {problem}"))
        self._apply(name, step, outputs, hashes)
        self._settle(step)
        if res.ok:
            left = tuple(self.hooks.after_step(step))
            if left:
                with self.lock:
                    self.leaks[name] = left
        return res.ok

    def _error(self, name: str, ran: StepOutcome | None, err: Exception) -> None:
        with self.lock:
            if self.crash is None:
                self.crash = (name, err)
        self.cancel.halt()
        detail = f"envctl failed: {type(err).__name__}: {err}"
        if ran is not None:  # the script ran: keep what is known of it
            step = replace(ran, result="error", detail=detail)
        else:
            step = StepOutcome(name, self.action, "error", detail=detail)
        with contextlib.suppress(Exception):  # the record of the fault must not fail the same way again
            self._apply(name, step, {}, {})
            self._settle(step)

    def _start(self, name: str, script: Path, comp: Component, environ: dict[str, str],
               log: Path) -> runner.ScriptResult:
        return runner.run_script(script, cwd=comp.dir, env=environ, log_path=log, timeout=comp.timeout,
                                 on_line=lambda line: self.reporter.step_output(name, self.action, line),
                                 redact=self.redactor.feed, cancel=self.cancel)

    def _apply(self, name: str, step: StepOutcome, outputs: dict[str, str], hashes: dict[str, str]) -> None:
        with self.lock:
            self.changed.add(name)
            comp = self.state.component(name)
            comp.last_action, comp.last_result = step.action, step.result
            comp.last_run_id, comp.duration_s = self.run_id, round(step.duration_s, 3)
            if step.result != "ok":
                if step.action in ("install", "delete"):
                    comp.state = f"{step.action}_failed"
                    comp.since = step.end
                return
            if step.action == "install":
                comp.state, comp.since = "up", step.end
                comp.outputs, comp.scripts = outputs, hashes
                comp.masked_outputs = self.redactor.masked_keys(outputs)
            elif step.action == "update":
                comp.outputs.update(outputs)
                comp.scripts = hashes
                comp.masked_outputs = self.redactor.masked_keys(comp.outputs)
            elif step.action == "delete":
                if comp.outputs:  # verify needs names, never secrets: a masked output is not kept past delete
                    comp.deleted_outputs = {k: v for k, v in comp.outputs.items() if k not in comp.masked_outputs}
                comp.state, comp.since, comp.outputs, comp.scripts = "down", step.end, {}, {}
                comp.masked_outputs = []

    def _settle(self, step: StepOutcome) -> None:
        with self.lock:
            self.steps[step.component] = step
        self.reporter.step_finished(step)

    def _save(self) -> None:
        """Persist a snapshot; the run's lock is held only while copying, never while writing. Once the lock is
        lost, the state belongs to whoever holds it now: nothing is written."""
        if self.lost is not None:
            return
        with self.save_lock:
            with self.lock:
                changed, self.changed = self.changed, set()
                incremental = self.incremental and self.snapshot is not None
                snapshot = self.state.copy(reusing=self.snapshot if incremental else None, changed=changed)
                self.snapshot = snapshot
            try:
                self.backend.save(snapshot, changed=changed if incremental else None)
            except StateError:
                if self.lost is not None:  # the write found the lock gone before the renewer did
                    return
                raise
        self.state.exists = True

    def _final_save(self) -> None:
        if self.lost is None:
            self._save()
            return
        # the state is another run's now: keep this run's view beside its logs, for whoever reconciles them
        kept = self.run_dir / "state.json"
        with self.lock:
            snapshot = self.state.copy()
        atomic_write_json(kept, snapshot.to_dict())
        self.lost += f"; the state was not written (it is the other run's now): this run's view of it is in {kept}"

    def _record(self, holder: LockHolder, started: str, ended: str | None, result: str,
                steps: Sequence[StepOutcome] = ()) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "command": self.command, "env": self.env.name, "user": holder.user,
            "host": holder.host, "pid": holder.pid, "git_commit": self.commit,
            "started": started, "ended": ended, "result": result, "parallel": self.options.parallel,
            "only": list(self.options.only), "depends_on": {n: list(self.waits_for.get(n, ())) for n in self.nodes},
            "reverse": self.command in ("down", "sleep"), "failures": list(self.hooks.failures()),
            "steps": [{"component": s.component, "action": s.action, "script": s.script, "sha256": s.sha256,
                       "exit_code": s.exit_code, "duration_s": round(s.duration_s, 3), "log": s.log,
                       "start": s.start, "end": s.end, "result": s.result} for s in steps if s.ran],
            "skipped": {s.component: s.detail for s in steps if s.result in ("skipped", "blocked", "not_started")},
        }
