"""What a run needs to reach its AWS target: the scripts' base environment and the sandbox's identity."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from envctl.config.model import Environment

if TYPE_CHECKING:
    from envctl.aws.sandbox import SandboxInfo


@dataclass(frozen=True)
class AwsContext:
    script_env: dict[str, str] = field(default_factory=dict)  # the whole base environment of every script
    endpoint: str | None = None
    sandbox_id: str | None = None


def probe(env: Environment, root: Path) -> SandboxInfo | None:
    """The sandbox a sandbox environment would use, if one is running: a look that starts nothing, so that it
    can run beside the checks that must pass before anything starts."""
    from envctl.aws import sandbox

    return sandbox.status(root) if env.aws.target == "sandbox" else None


def prepare(env: Environment, root: Path, *, running: SandboxInfo | None = None) -> AwsContext:
    """Start (or adopt) the sandbox for a sandbox environment; for an account, its profile and endpoint.
    ``running``: what :func:`probe` found just before."""
    from envctl.aws import sandbox, shim

    if env.aws.target == "sandbox":
        from envctl.aws.guard import check_sandbox_script_env

        info = sandbox.ensure_running(root, running=running)
        # the probe that found the server already read its identity: not asked twice
        ident = info.identity or sandbox.identity(info.endpoint)
        context = AwsContext(sandbox.script_env(info, root), info.endpoint, ident)
        check_sandbox_script_env(env, context.script_env)  # a sandbox environment reaches nothing but local
        return context
    base = dict(os.environ)
    if env.aws.profile:
        base["AWS_PROFILE"] = env.aws.profile
    if env.aws.endpoint_url:
        base["AWS_ENDPOINT_URL"] = env.aws.endpoint_url
        base["PATH"] = shim.prepend_path(shim.shim_dir(root), base.get("PATH", ""))
    return AwsContext(base, env.aws.endpoint_url, None)
