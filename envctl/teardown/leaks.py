"""During ``down``: what each delete left behind, and the final verify.

The cluster names and RDS instance ids are taken from the state *before* the first delete: a successful
delete clears its component's outputs, and the orphans (EKS log groups, controller-made load balancers, final
snapshots) are found by those names after the cluster is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envctl.config.model import Environment
from envctl.inventory.core import recheck, survey_collect
from envctl.inventory.model import Inventory
from envctl.run import lifecycle
from envctl.run.hooks import RunHooks
from envctl.run.results import Reporter, RunOptions, RunResult, StepOutcome
from envctl.state.model import EnvState
from envctl.teardown.report import build_report


class LeakHooks(RunHooks):
    """After each delete, what of that component is still there; at the end, the final verify.

    What it asks must stay small next to one verify. The first delete to finish triggers one look at the whole
    environment (a resource a delete forgot is still there whenever the look is taken); after each delete only
    what that look attributed to the component is asked about again, one get per resource where the family
    has one (:func:`envctl.inventory.core.recheck`): never a full inventory per delete.
    """

    def __init__(self, env: Environment, root: Path) -> None:
        from envctl.aws.session import client_factory_for
        from envctl.teardown import verify

        self.env, self.root, self.verify = env, root, verify
        self.factory = client_factory_for(env, root)
        self.targets = verify.targets_from(env, verify.state_outputs(env))
        self.survey = verify.survey_of(env, self.factory, self.targets)
        self._lock = threading.Lock()
        self._look: Inventory | None = None

    def _first_look(self) -> Inventory:
        with self._lock:  # deletes finish on several threads; one look serves them all
            if self._look is None:
                self._look = survey_collect(self.survey, self.factory)
            return self._look

    def after_step(self, step: StepOutcome) -> Sequence[str]:
        if step.action != "delete":
            return ()
        inventory = recheck(self.survey, self._first_look(), step.component, self.factory)
        return tuple(leftover_lines(build_report(self.env.name, inventory)))

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
