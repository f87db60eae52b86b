"""During ``down``: what each delete left behind, and the final verify.

The cluster names and RDS instance ids are taken from the state *before* the first delete: a successful
delete clears its component's outputs, and the orphans (EKS log groups, controller-made load balancers, final
snapshots) are found by those names after the cluster is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envctl.config.model import Environment
from envctl.run import lifecycle
from envctl.run.hooks import RunHooks
from envctl.run.results import Reporter, RunOptions, RunResult, StepOutcome
from envctl.state.model import EnvState


class LeakHooks(RunHooks):
    """After each delete, what still carries that component's tags; at the end, the final verify."""

    def __init__(self, env: Environment, root: Path) -> None:
        from envctl.aws.session import client_factory_for
        from envctl.teardown import verify

        self.env, self.root, self.verify = env, root, verify
        self.factory = client_factory_for(env, root)
        self.targets = verify.targets_from(env, verify.state_outputs(env))

    def after_step(self, step: StepOutcome) -> Sequence[str]:
        if step.action != "delete":
            return ()
        report = self.verify.verify_environment(self.env, self.root, component=step.component,
                                                client_factory=self.factory, targets=self.targets,
                                                account_check=False)
        return tuple(leftover_lines(report))

    def at_end(self, state: EnvState) -> Any:
        return self.verify.verify_environment(self.env, self.root, client_factory=self.factory,
                                              targets=self.targets, account_check=False)


def down(root: Path, name: str, options: RunOptions, *, reporter: Reporter) -> RunResult:
    """``envctl down``: the deletes in reverse order, with (unless ``--no-verify``) the leak listing after each
    delete and the final verify."""
    hooks = (lambda env: LeakHooks(env, root)) if options.verify else None
    return lifecycle.run(root, name, "down", options, reporter=reporter, hooks=hooks)


def leftover_lines(report: Any) -> list[str]:
    """One line per leftover: type, ARN, what it costs; then the checks that could not run."""
    from envctl.teardown.report import money

    lines = []
    for item in report.items:
        r, p = item.resource, item.price
        cost = "free" if p.free else money(p.hourly_usd, per="/h", hourly=True)
        orphan = f", orphan of cluster {r.orphan_of}" if r.orphan_of else ""
        lines.append(f"{r.type} {r.arn} ({cost}{orphan})")
    lines += [f"could not check {k}: {v}" for k, v in sorted(report.errors.items())]
    return lines
