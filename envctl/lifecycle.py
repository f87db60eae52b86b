"""The core behind the commands that act on an environment: checks first, then the engine.

Each function returns results for the CLI to render; none prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envctl import engine, graph
from envctl.engine import Reporter, RunOptions, RunResult
from envctl.errors import EnvctlError
from envctl.registry import Environment, list_environment_names, load_environment
from envctl.state import EnvState, LocalBackend, backend_for, merge_runs
from envctl.status import EnvStatus, environment_status, list_environments, load_state


def preflight(env: Environment, command: str) -> list[str]:
    """Checks before anything mutates: returns warnings, raises a RefusedError when the run must not start."""
    from envctl import preflight as checks

    return checks.run(env, command)


def run(root: Path, name: str, command: str, options: RunOptions, *, reporter: Reporter) -> RunResult:
    env = load_environment(root, name)
    for text in preflight(env, command):
        reporter.note(text)
    from envctl.aws import target

    aws = target.prepare(env, root)
    kw: dict[str, Any] = {"reporter": reporter, "base_env": aws.script_env, "sandbox_id": aws.sandbox_id}
    if command == "down" and options.verify:
        from envctl import leaks

        kw.update(leaks.down_hooks(env, root, reporter=reporter))
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


def status(root: Path, name: str | None, *, with_cost: bool = True) -> list[EnvStatus]:
    names = [name] if name else [r.name for r in list_environments(root) if r.error is None]
    reports = []
    for each in names:
        env = load_environment(root, each)
        st = load_state(env)
        report = environment_status(env, st)
        alive = True
        if env.aws.target == "sandbox" and st.sandbox_id and report.state != "down":
            from envctl.aws import sandbox

            message = sandbox.check_environment_alive(root, st.sandbox_id, env=each)
            if message:
                report.warnings.append(message)
                alive = False
        if with_cost and alive and report.state != "down":
            _add_cost(env, root, st, report)
        reports.append(report)
    return reports


def _add_cost(env: Environment, root: Path, st: EnvState, report: EnvStatus) -> None:
    """What the environment costs per hour now, asleep and awake, and what runs although it is asleep.

    Only for an environment that is not down, and never by starting the sandbox: ``status`` stays a look.
    """
    from envctl import sleepwake, verify
    from envctl.aws.session import client_factory_for
    from envctl.errors import EnvctlError

    try:
        factory = client_factory_for(env, root)
        now = verify.verify_environment(env, root, client_factory=factory, account_check=False)
        asleep = sleepwake.sleep_status(env, st, client_factory=factory)
    except (EnvctlError, OSError) as err:
        report.warnings.append(f"what it costs is unknown: {err}")
        return
    except Exception as err:  # botocore's errors: a look must not fail the status
        report.warnings.append(f"what it costs is unknown: {type(err).__name__}: {err}")
        return
    hourly = now.hourly_usd
    # Asleep, the environment costs what it costs now less its instances (stopped or scaled to zero); awake,
    # that plus what sleep switches off, priced from the remembered sizes (a nodegroup's nodes included, also
    # where they are not visible as instances).
    instances = sum(item.price.hourly_usd or 0.0 for item in now.items
                    if item.resource.type in ("ec2:instance", "rds:db"))
    awake = max(hourly - instances, 0.0) + asleep.savings.hourly_usd
    report.extra["cost"] = {"hourly_usd": hourly, "monthly_usd": round(hourly * 730, 2), "unpriced": now.unpriced,
                            **asleep.to_json(awake_total_hourly=awake)}
    report.warnings.extend(asleep.warnings)


def history(root: Path, name: str | None) -> list[dict[str, Any]]:
    """Every recorded run, newest last: of one environment, or of all (local history, then team state's)."""
    if name:
        env = load_environment(root, name)
        return backend_for(root, env.state, env=env).runs(name)
    records = LocalBackend(root).runs(None)  # also of environments no longer in environments/
    for env_name in list_environment_names(root):
        try:
            env = load_environment(root, env_name)
        except EnvctlError:
            continue
        if env.state.backend != "local":
            records.extend(backend_for(root, env.state, env=env).runs(env.name))
    return merge_runs(records)
