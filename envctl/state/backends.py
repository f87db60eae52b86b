"""Which state backend an environment uses."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from envctl.state.local import LocalBackend
from envctl.state.model import EnvState, StateBackend

if TYPE_CHECKING:
    from envctl.config.model import Environment


def backend_for(root: Path, config: Any = None, *, env: Any = None) -> StateBackend:
    """The backend an environment's ``state:`` block asks for (local when there is none).

    ``env`` (the :class:`~envctl.config.model.Environment`) makes team state use that environment's own target:
    its profile for an account, the sandbox for a sandbox environment. Without it, boto3's defaults of this
    process apply (AWS_PROFILE, AWS_ENDPOINT_URL, ...).
    """
    if config is None or getattr(config, "backend", "local") == "local":
        return LocalBackend(root)
    from envctl.state.s3 import S3Backend, client_factory_for_env

    factory = client_factory_for_env(env, root) if env is not None else None
    return S3Backend(root, config, client_factory=factory)


def load_state(env: Environment) -> EnvState:
    """``env``'s state, read from wherever its ``state:`` block keeps it (empty, ``exists`` false, when none)."""
    return backend_for(env.root, env.state, env=env).load(env.name)
