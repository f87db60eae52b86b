"""``envctl status`` with what the environment costs: per hour now, asleep and awake, and what sleep saves.

The status itself (per component: state, outputs, changed scripts) is :mod:`envctl.run.status`; this adds the
prices, which need a read-only inventory, and is sleep's business because "asleep" and "awake" are.
"""

from __future__ import annotations

from pathlib import Path

from envctl.config.load import load_environment
from envctl.config.model import Environment
from envctl.errors import EnvctlError
from envctl.run.status import EnvStatus, environment_status, list_environments, load_state
from envctl.state.model import EnvState


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
    from envctl.aws.session import client_factory_for
    from envctl.sleep.orchestrate import sleep_status
    from envctl.teardown import verify

    try:
        factory = client_factory_for(env, root)
        now = verify.verify_environment(env, root, client_factory=factory, account_check=False)
        asleep = sleep_status(env, st, client_factory=factory)
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
