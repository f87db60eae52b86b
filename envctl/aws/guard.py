"""The account guard: never act in the wrong AWS account, and never let a sandbox environment reach real AWS.

Called before every mutating command, before anything runs:

- ``target: account`` with ``account_id``: ask STS who the credentials are and refuse on a mismatch (or when
  STS cannot answer: acting blind is what the guard exists to prevent).
- ``target: sandbox``: the endpoint the scripts will get must be a local sandbox (a loopback host), never
  an AWS endpoint.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from envctl.errors import AccountMismatchError, RefusedError

if TYPE_CHECKING:
    from envctl.config.model import Environment

#: ``client_factory(service, region) -> boto3 client``, as ``envctl.aws.session.client_factory_for`` builds.
ClientFactory = Callable[[str, str], Any]

_AWS_DOMAINS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".aws")


def check_account(env: Environment, client_factory: ClientFactory | None = None, *,
                  sandbox_endpoint: str | None = None) -> None:
    """Refuse (exit 2, nothing run) when ``env`` would act anywhere but where it is pinned.

    ``sandbox_endpoint``: for ``target: sandbox``, the URL the scripts will be given (the running sandbox's,
    or the environment's ``endpoint_url``); ``client_factory`` defaults to the environment's own (its profile,
    region and ``endpoint_url``), from ``envctl.aws.session``.
    """
    if env.aws.target == "sandbox":
        check_sandbox_endpoint(env, sandbox_endpoint or env.aws.endpoint_url)
        return
    if not env.aws.account_id:
        return
    actual = caller_account(env, client_factory)
    if actual != env.aws.account_id:
        raise AccountMismatchError(
            f"refusing to act on environment '{env.name}': it is pinned to AWS account {env.aws.account_id}, "
            f"but {_credentials(env)} belong to account {actual}; nothing was run",
            hint="switch to credentials for the pinned account (or fix account_id in "
                 f"{env.file}) and run again")


def caller_account(env: Environment, client_factory: ClientFactory | None = None) -> str:
    """The account STS says the credentials belong to; a RefusedError when it cannot say."""
    try:
        if client_factory is None:
            from envctl.aws.session import client_factory_for

            client_factory = client_factory_for(env, env.root)  # an unknown profile fails here: same message
        identity = client_factory("sts", env.region).get_caller_identity()
    except Exception as err:  # botocore's errors (no credentials, expired token, no endpoint) share no base
        raise RefusedError(
            f"refusing to act on environment '{env.name}': cannot tell which AWS account {_credentials(env)} "
            f"belong to ({type(err).__name__}: {err}); nothing was run",
            hint="log in (aws sso login / aws configure) and run again") from None
    return str(identity["Account"])


def check_sandbox_endpoint(env: Environment, endpoint: str | None) -> None:
    """Refuse unless ``endpoint`` is a loopback URL (the embedded sandbox, or a local emulator)."""
    if not endpoint:
        raise RefusedError(f"refusing to act on environment '{env.name}': it targets the sandbox but no "
                           "sandbox endpoint is known; nothing was run",
                           hint="start it with: envctl sandbox start")
    host = (urlsplit(endpoint).hostname or "").lower().rstrip(".")
    if host.endswith(_AWS_DOMAINS) or host in ("amazonaws.com", "aws"):
        raise RefusedError(f"refusing to act on environment '{env.name}': it targets the sandbox, but its "
                           f"endpoint {endpoint} is real AWS; nothing was run",
                           hint=f"use a real account with aws.target: account and account_id in {env.file}")
    if not is_loopback(host):
        raise RefusedError(f"refusing to act on environment '{env.name}': it targets the sandbox, but its "
                           f"endpoint {endpoint} is not on this machine (not a loopback address); "
                           "nothing was run",
                           hint=f"point aws.endpoint_url in {env.file} at 127.0.0.1 or localhost")


def check_sandbox_script_env(env: Environment, script_env: Mapping[str, str]) -> None:
    """The environment a sandbox environment's scripts get: its endpoint, and every service-specific
    ``AWS_ENDPOINT_URL_<SERVICE>`` (which wins over the general one), must be loopback."""
    check_sandbox_endpoint(env, script_env.get("AWS_ENDPOINT_URL"))
    for name, value in sorted(script_env.items()):
        if name.startswith("AWS_ENDPOINT_URL_") and value:
            check_sandbox_endpoint(env, value)


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _credentials(env: Environment) -> str:
    profile = env.aws.profile or os.environ.get("AWS_PROFILE")
    return f"the credentials of profile '{profile}'" if profile else "the current credentials (no profile)"
