"""``envctl status`` with what the environment costs: per hour now, asleep and awake, and what sleep saves.

The status itself (per component: state, outputs, changed scripts) is :mod:`envctl.run.status`; this adds the
prices, which need a read-only inventory, and is sleep's business because "asleep" and "awake" are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envctl.config.load import load_environment
from envctl.config.model import Environment, ScheduleConfig
from envctl.errors import EnvctlError
from envctl.run.status import EnvStatus, environment_status, list_environments
from envctl.sleep.costmodel import CostModel
from envctl.sleep.hours import HOURS_PER_MONTH, month_hours
from envctl.state.backends import load_state
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
    """What the environment costs per hour now, awake and asleep, its month on schedule, and what runs although
    it is asleep.

    Only for an environment that is not down, and never by starting the sandbox: ``status`` stays a look.
    "now" and "awake" come from one cost model, so they agree while the environment is awake.
    """
    from envctl.aws.session import client_factory_for
    from envctl.sleep.check import check_asleep
    from envctl.sleep.forecast import live_model
    from envctl.sleep.targets import read_only

    try:
        reads = read_only(client_factory_for(env, root))
        model = live_model(env, root, st, client_factory_for(env, root), reads)
        warnings: list[str] = []
        if st.overall(list(env.components)) == "asleep" or st.sleep:
            warnings = check_asleep(env.name, region=env.region, config=env.sleep, client_factory=reads,
                                    remembered=st.sleep)
    except (EnvctlError, OSError) as err:
        report.warnings.append(f"what it costs is unknown: {err}")
        return
    except Exception as err:  # botocore's errors: a look must not fail the status
        report.warnings.append(f"what it costs is unknown: {type(err).__name__}: {err}")
        return
    report.extra["cost"] = cost_json(model, env.schedule, warnings)
    report.warnings.extend(warnings)


def cost_json(model: CostModel, schedule: ScheduleConfig | None, warnings: list[str]) -> dict[str, Any]:
    """``status --json``'s ``cost``: per hour now, awake and asleep; what sleep saves; the month on schedule."""
    hours = month_hours(schedule) if schedule else None
    saved = max(model.awake - model.asleep, 0.0)
    forecast = None
    if hours is not None:
        on_schedule = model.awake * hours.awake + model.asleep * hours.asleep
        forecast = {"always_on": round(model.awake * HOURS_PER_MONTH, 2), "on_schedule": round(on_schedule, 2),
                    "saving": round(model.awake * HOURS_PER_MONTH - on_schedule, 2),
                    "hours_per_month": hours.to_json()}
    return {
        "hourly_usd": round(model.now, 4), "monthly_usd": round(model.now * HOURS_PER_MONTH, 2),
        "unpriced": model.unpriced, "awake_hourly_usd": round(model.awake, 4),
        "asleep_hourly_usd": round(model.asleep, 4), "sleep_warnings": warnings,
        "sleep": {"saved_hourly_usd": round(saved, 4),
                  "saved_daily_usd": None if hours is None else round(saved * hours.asleep * 24 / HOURS_PER_MONTH, 2),
                  "items": [{"what": f"{line.type} {line.id}", "component": line.component, "detail": line.detail,
                             "hourly_usd": line.awake} for line in model.switched_off]},
        "forecast": forecast,
    }
