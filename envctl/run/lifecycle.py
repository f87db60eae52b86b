"""The core behind the commands that act on an environment: checks first, then the engine.

Each function returns results for the CLI to render; none prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from envctl.config import graph
from envctl.config.load import load_environment
from envctl.config.model import Environment
from envctl.run import engine
from envctl.run.hooks import RunHooks
from envctl.run.results import Reporter, RunOptions, RunResult


def preflight(env: Environment, command: str, only: Sequence[str] = ()) -> list[str]:
    """Checks before anything mutates: returns warnings, raises a RefusedError when the run must not start."""
    from envctl.run import preflight as checks

    return checks.run(env, command, only=only)


def prepare(root: Path, name: str, command: str, reporter: Reporter,
            only: Sequence[str] = ()) -> tuple[Environment, Any]:
    """Load the environment, run the checks before anything mutates, and make its AWS target ready.

    Whether a sandbox is already running is asked beside the checks (an HTTP round trip that starts
    nothing; the command may have started asking earlier, see ``envctl.aws.sandbox.look_ahead``); a sandbox
    is started only once they passed."""
    from concurrent.futures import ThreadPoolExecutor

    from envctl.aws import target

    env = load_environment(root, name)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="envctl-sandbox") as pool:
        running = pool.submit(target.probe, env, root)
        for text in preflight(env, command, only):
            reporter.note(text)
        found = running.result()
    return env, target.prepare(env, root, running=found)


def run(root: Path, name: str, command: str, options: RunOptions, *, reporter: Reporter,
        hooks: Callable[[Environment], RunHooks] | None = None) -> RunResult:
    """``up``, ``down`` or ``update``; ``hooks`` makes what the command adds around the run (down: the leak
    listing), given the loaded environment."""
    env, aws = prepare(root, name, command, reporter, options.only)
    kw: dict[str, Any] = {"reporter": reporter, "base_env": aws.script_env, "sandbox_id": aws.sandbox_id,
                          "hooks": hooks(env) if hooks is not None else None}
    if command == "up":
        return engine.up(env, options, **kw)
    if command == "down":
        return engine.down(env, options, **kw)
    if command == "update":
        return engine.update(env, options, **kw)
    raise ValueError(command)


def down_plan(root: Path, name: str, only: Sequence[str]) -> list[str]:
    env = load_environment(root, name)
    return graph.down_order(env.depends_on(), only)
