"""What a script needs to reach an AWS-compatible endpoint (the sandbox, LocalStack): its environment, and an
``aws`` first on its PATH that passes ``--endpoint-url`` explicitly.

awscli v1 ignores ``AWS_ENDPOINT_URL`` for RDS and SQS in us-east-1 (and EMR, DocDB, Neptune, Health) and sends
those calls to the real AWS endpoints unless ``--endpoint-url`` is on the command line.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from envctl.config.paths import atomic_write_text, state_dir

# Variables that would send a script's AWS calls somewhere else, or to a real account's credentials.
DROPPED_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME", "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI")

_SHIM = """#!/bin/sh
# Written by envctl. The stock aws CLI, from envctl's own Python, with --endpoint-url "$AWS_ENDPOINT_URL"
# added when it is set and not given: awscli v1 ignores AWS_ENDPOINT_URL for RDS and SQS in us-east-1.
for arg in "$@"; do
  case "$arg" in
    --endpoint-url|--endpoint-url=*) exec @PYTHON@ -m awscli "$@" ;;
  esac
done
if [ -n "${AWS_ENDPOINT_URL:-}" ]; then
  exec @PYTHON@ -m awscli --endpoint-url "$AWS_ENDPOINT_URL" "$@"
fi
exec @PYTHON@ -m awscli "$@"
"""


def endpoint_env(endpoint: str, root: Path, base: Mapping[str, str] | None = None, *,
                 credentials: tuple[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) pointed at ``endpoint`` for the aws CLI and boto3.

    Sets ``AWS_ENDPOINT_URL``, fail-fast retries (an unimplemented call is an HTTP 500 that botocore would
    otherwise retry for 5-12 s), no pager, and a PATH whose first ``aws`` passes ``--endpoint-url``. With
    ``credentials`` (access key, secret), real-account profiles, tokens and config files are removed and those
    dummy keys set instead.
    """
    env = dict(os.environ if base is None else base)
    for name in list(env):
        if name.startswith("AWS_ENDPOINT_URL_") or (credentials and name in DROPPED_VARS):
            del env[name]
    env.update({"AWS_ENDPOINT_URL": endpoint, "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
                "AWS_PAGER": ""})
    if credentials:
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = credentials
        # No file of the user's can add a profile, credential_process or endpoint of a real account.
        env["AWS_CONFIG_FILE"] = os.devnull
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env["PATH"] = prepend_path(shim_dir(root), env.get("PATH", ""))
    return env


def prepend_path(folder: Path, path: str) -> str:
    """``path`` with ``folder`` first (and only once)."""
    return os.pathsep.join([str(folder), *[p for p in path.split(os.pathsep) if p and p != str(folder)]])


def shim_dir(root: Path, endpoint_url: str | None = None) -> Path:
    """The folder holding envctl's ``aws`` shim (``<root>/.envctl/bin``), written if missing or stale.

    The shim runs the stock aws CLI from envctl's own Python (no activated virtualenv needed) and adds
    ``--endpoint-url "$AWS_ENDPOINT_URL"`` when that is set and the caller passed none. It reads the endpoint
    when it runs, so one shim serves the sandbox and any ``endpoint_url`` of ``target: account``;
    ``endpoint_url`` is accepted for callers that state it and does not change the shim.
    """
    del endpoint_url
    folder = state_dir(root) / "bin"
    shim = folder / "aws"
    text = _SHIM.replace("@PYTHON@", shlex.quote(sys.executable))
    try:
        current = shim.read_text(encoding="utf-8")
    except OSError:
        current = None
    if current != text or not os.access(shim, os.X_OK):
        atomic_write_text(shim, text, mode=0o755)
    return folder
