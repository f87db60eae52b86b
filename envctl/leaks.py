"""During ``down``: what each delete left behind, and the final verify.

The cluster names and RDS instance ids are taken from the state *before* the first delete: a successful
delete clears its component's outputs, and the orphans (EKS log groups, controller-made load balancers, final
snapshots) are found by those names after the cluster is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envctl.registry import Environment


def down_hooks(env: Environment, root: Path, *, reporter: Any) -> dict[str, Any]:
    """``after_step`` (a delete's leftovers, as lines naming type and ARN) and ``finish`` (the final report)."""
    from envctl import verify
    from envctl.aws.session import client_factory_for

    factory = client_factory_for(env, root)
    targets = verify.targets_from(env, verify.state_outputs(env))

    def after_step(step: Any) -> Sequence[str]:
        if step.action != "delete":
            return ()
        report = verify.verify_environment(env, root, component=step.component, client_factory=factory,
                                           targets=targets, account_check=False)
        return tuple(leftover_lines(report))

    def finish(state: Any) -> Any:
        return verify.verify_environment(env, root, client_factory=factory, targets=targets,
                                         account_check=False)

    return {"after_step": after_step, "finish": finish}


def leftover_lines(report: Any) -> list[str]:
    """One line per leftover: type, ARN, what it costs; then the checks that could not run."""
    from envctl.report import money

    lines = []
    for item in report.items:
        r, p = item.resource, item.price
        cost = "free" if p.free else money(p.hourly_usd, per="/h", hourly=True)
        orphan = f", orphan of cluster {r.orphan_of}" if r.orphan_of else ""
        lines.append(f"{r.type} {r.arn} ({cost}{orphan})")
    lines += [f"could not check {k}: {v}" for k, v in sorted(report.errors.items())]
    return lines
