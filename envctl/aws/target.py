"""What a run needs to reach its AWS target: the scripts' environment and the sandbox's identity."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from envctl.registry import Environment


@dataclass(frozen=True)
class AwsContext:
    script_env: dict[str, str] = field(default_factory=dict)
    endpoint: str | None = None
    sandbox_id: str | None = None


def prepare(env: Environment, root: Path) -> AwsContext:
    """Start (or adopt) the sandbox for a sandbox environment; for an account, its profile and endpoint."""
    if env.aws.target == "sandbox":
        from envctl.aws import sandbox

        info = sandbox.ensure_running(root)
        return AwsContext(sandbox.script_env(info, root), info.endpoint, sandbox.identity(info.endpoint))
    extra: dict[str, str] = {}
    if env.aws.profile:
        extra["AWS_PROFILE"] = env.aws.profile
    if env.aws.endpoint_url:
        from envctl.aws import sandbox

        extra["AWS_ENDPOINT_URL"] = env.aws.endpoint_url
        extra["ENVCTL_AWS_SHIM_PATH"] = str(sandbox.shim_dir(root, env.aws.endpoint_url))
    return AwsContext(extra, env.aws.endpoint_url, None)
