"""The one place that builds boto3 clients for an environment's AWS target (sandbox or account)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envctl.config.model import Environment

_SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

ClientFactory = Callable[[str, str], Any]
"""(service, region) -> a boto3 client."""


def sandbox_endpoint(root: Path) -> str:
    """The running sandbox's URL (started if needed)."""
    from envctl.aws import sandbox

    return sandbox.ensure_running(root).endpoint


def client_factory_for(env: Environment, root: Path) -> ClientFactory:
    """(service, region) -> boto3 client for ``env``'s target, cached and safe to call from threads."""
    import boto3
    from botocore.config import Config

    sandbox = env.aws.target == "sandbox"
    endpoint = sandbox_endpoint(root) if sandbox else env.aws.endpoint_url
    # Against the sandbox an unimplemented call is an HTTP 500: fail at once instead of retrying for seconds.
    # A real account throttles (IAM at a few calls a second, shared with every other caller): adaptive mode
    # backs off and paces the client itself; a call still throttled after that is a failed check, not a crash.
    retries: dict[str, Any] = ({"mode": "standard", "max_attempts": 1} if sandbox else
                               {"mode": "adaptive", "max_attempts": 8})
    config = Config(retries=retries,
                    connect_timeout=5, read_timeout=60, max_pool_connections=32)
    session = boto3.session.Session(profile_name=None if sandbox else env.aws.profile)
    creds: dict[str, Any] = _SANDBOX_CREDENTIALS if sandbox else {}
    lock = threading.Lock()
    cache: dict[tuple[str, str], Any] = {}

    def factory(service: str, region: str) -> Any:
        with lock:  # boto3 sessions are not thread-safe
            key = (service, region)
            if key not in cache:
                cache[key] = session.client(service, region_name=region, endpoint_url=endpoint, config=config,
                                            **creds)
            return cache[key]

    return factory
