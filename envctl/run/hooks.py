"""The one seam where a command adds behaviour around a run, instead of callbacks bolted onto the engine.

The engine calls a :class:`RunHooks` at three moments, always under the environment's lock:

- ``before_first_step(state)``: after the state is loaded, before the first script starts (``wake`` restores
  the built-ins' sizes here, so its scripts meet a running environment);
- ``hold(component)``: before a component's script would start; a reason returned keeps it from starting (the
  step is ``blocked`` with that reason, and what depends on it is blocked too). ``wake`` holds every
  ``wake-*`` script when the built-ins could not bring the environment's databases and nodes back, so no
  script meets a database that is still stopped;
- ``after_step(step)``: after each step that succeeded, from the worker thread that ran it (so it must be
  thread-safe); what it returns is what the step left behind, kept on the run's result (``down`` lists what
  still carries a deleted component's tags);
- ``at_end(state)``: after the last step, unless the run was interrupted; what it returns is kept on the
  result as its ``report`` (``down``: the final verify; ``sleep``: the built-ins after the scripts);
- ``failures()``: once the steps are over, what the hooks themselves could not do (``sleep`` and ``wake``:
  a resource the built-ins could not stop or start). A run with any is recorded ``failed``, with them under
  ``failures`` in its history record, so that a sleep that left nodes running never counts as one that
  happened.

Subclass it and override what you need; every default does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envctl.run.results import StepOutcome
from envctl.state.model import EnvState


class RunHooks:
    def before_first_step(self, state: EnvState) -> None:
        """Under the lock, before the first script."""

    def hold(self, component: str) -> str:
        """Why ``component``'s script must not start now ("" to let it start). From worker threads."""
        return ""

    def after_step(self, step: StepOutcome) -> Sequence[str]:
        """After a step that succeeded; returns lines naming what it left behind (none by default)."""
        return ()

    def at_end(self, state: EnvState) -> Any:
        """After the last step of a run that was not interrupted; returns the run's report (none by default)."""
        return None

    def failures(self) -> Sequence[str]:
        """What the hooks could not do; the run is recorded ``failed`` when there is any (none by default)."""
        return ()


NO_HOOKS = RunHooks()
