"""The environment a script runs with, as the contract defines it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

from envctl.config.model import Component, Environment
from envctl.config.paths import sha256_file

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
UA_APP_ID_MAX = 50  # what the AWS SDKs accept in AWS_SDK_UA_APP_ID


def ua_app_id(run_id: str, component: str) -> str:
    """The app id every AWS call of a script carries in its user agent: ``envctl.<run id>.<component>``.

    The SDKs send it as ``app/<id>``, so CloudTrail shows which run and component made a call (``envctl audit``).
    Run ids and component names use only characters user agents keep as they are (``/`` would become ``-``).
    A component name too long for the 50 characters keeps its start and gets 6 hex digits of its sha256, so the
    id stays the same for the same run and component: ``envctl.20261130T094000Z-ab12.<start>-<hash>``.
    """
    head = f"envctl.{run_id}."
    room = UA_APP_ID_MAX - len(head)
    if len(component) <= room:
        return head + component
    digest = hashlib.sha256(component.encode()).hexdigest()
    if room >= 12:
        return head + component[: room - 7] + "-" + digest[:6]
    return "envctl." + hashlib.sha256(f"{run_id}/{component}".encode()).hexdigest()[: UA_APP_ID_MAX - 7]


def output_prefix(component: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", component).upper()


def tags_forms(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags as JSON, as the aws CLI's shorthand, and as k=v pairs."""
    return {
        "ENVCTL_TAGS_JSON": json.dumps([{"Key": k, "Value": v} for k, v in tags.items()], separators=(",", ":")),
        "ENVCTL_TAGS_CLI": " ".join(f"Key={k},Value={v}" for k, v in tags.items()),
        "ENVCTL_TAGS_KV": ",".join(f"{k}={v}" for k, v in tags.items()),
    }


def script_environment(base: Mapping[str, str], env: Environment, component: Component, *, action: str,
                       run_id: str, output_file: Path, outputs: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """``base`` (the caller's environment, pointed at the AWS target) plus what envctl gives every script.

    ``outputs`` maps component -> its recorded outputs; the caller passes the component's own and those of
    everything it depends on, directly or not.
    """
    result = dict(base)
    result["AWS_REGION"] = env.region
    result["AWS_DEFAULT_REGION"] = env.region
    result.update(env.vars)
    result.update(component.vars)
    for owner, values in outputs.items():
        prefix = output_prefix(owner)
        result.update({f"{prefix}_{key}": value for key, value in values.items()})
    result.update({
        "ENVCTL_ENV": env.name,
        "ENVCTL_COMPONENT": component.name,
        "ENVCTL_ACTION": action,
        "ENVCTL_RUN_ID": run_id,
        "ENVCTL_OUTPUT": str(output_file),
        "ENVCTL_ROOT": str(env.root),
        "AWS_SDK_UA_APP_ID": ua_app_id(run_id, component.name),
    })
    result.update(tags_forms(env.tags_for(component.name)))
    return result


def read_outputs(path: Path) -> tuple[dict[str, str], list[str]]:
    """``KEY=VALUE`` lines split at the first ``=``; returns the outputs and warnings for bad lines."""
    outputs: dict[str, str] = {}
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return outputs, problems
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _KEY_RE.match(key):
            problems.append(f"{path.name}:{number}: ignored output line (want KEY=VALUE): {line[:80]!r}")
            continue
        outputs[key] = value
    return outputs, problems


def script_hashes(component: Component) -> dict[str, str]:
    """Each script's sha256 (hashed once per process: see :func:`envctl.config.paths.sha256_file`)."""
    return {action: sha256_file(path) for action, path in component.scripts.all().items()}
