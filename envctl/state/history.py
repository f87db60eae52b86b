"""The run history of one environment or of all, from every backend that holds some."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envctl.config.load import list_environment_names, load_environment
from envctl.errors import EnvctlError
from envctl.state.backends import backend_for
from envctl.state.local import LocalBackend, merge_runs


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
