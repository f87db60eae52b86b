"""The one place that builds boto3 clients for an environment's AWS target (sandbox or account)."""

from __future__ import annotations

import datetime
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
    """(service, region) -> a client for ``env``'s target, cached and safe to call from threads.

    Built on botocore's session (boto3's clients are botocore's: boto3 adds S3 transfer helpers and resources,
    which envctl never uses, and 40 ms of imports to every command that looks at AWS).
    """
    import botocore.session
    from botocore.config import Config
    from botocore.handlers import json_decode_policies

    sandbox = env.aws.target == "sandbox"
    endpoint = sandbox_endpoint(root) if sandbox else env.aws.endpoint_url
    # Against the sandbox an unimplemented call is an HTTP 500: one retry, not seconds of them. A real account
    # throttles (IAM at a few calls a second, shared with every other caller): adaptive mode backs off and
    # paces the client itself; a call still throttled after that is a failed check, not a crash. (In botocore's
    # Config, max_attempts counts the retries after the first attempt.)
    retries: dict[str, Any] = ({"mode": "standard", "max_attempts": 1} if sandbox else
                               {"mode": "adaptive", "max_attempts": 8})
    config = Config(retries=retries,
                    connect_timeout=5, read_timeout=60, max_pool_connections=32)
    session = botocore.session.Session(profile=None if sandbox else env.aws.profile)
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse_timestamp)
    creds: dict[str, Any] = _SANDBOX_CREDENTIALS if sandbox else {}
    lock = threading.Lock()
    cache: dict[tuple[str, str], Any] = {}

    def factory(service: str, region: str) -> Any:
        with lock:  # sessions are not thread-safe
            key = (service, region)
            if key not in cache:
                client = session.create_client(service, region_name=region, endpoint_url=endpoint, config=config,
                                               **creds)
                if service == "iam":  # policy documents are never read: leave them as sent, not JSON-decoded
                    client.meta.events.unregister("after-call.iam", json_decode_policies)
                cache[key] = client
            return cache[key]

    return factory


def parse_timestamp(value: Any) -> datetime.datetime:
    """A response's timestamp as botocore's own parser returns it, at a fraction of its cost for the form AWS
    sends most (a listing of 1,500 IAM policies carries 3,000 of them): ISO 8601 with its offset, which the
    standard library reads directly. Anything else (epoch seconds, RFC 822, no offset) goes to botocore's."""
    if isinstance(value, str) and len(value) >= 20 and value[4] == "-" and value[10] == "T" \
            and (value[-1] == "Z" or value[-6] in "+-"):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
    from botocore.utils import parse_timestamp as general

    return general(value)
