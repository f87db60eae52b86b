"""The environment a script runs with, as the contract defines it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from envctl.config.model import Component, Environment
from envctl.config.paths import sha256_file

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
