"""Shared by the orphan-family tests: an environment made by tiny real scripts, and reading verify's JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from tests.conftest import make_env, run_cli

NOTHING = {"install.sh": "true\n", "delete.sh": "true\n"}


def environment(root: Path, components: dict[str, dict[str, str]], *, name: str = "test",
                depends: dict[str, list[str]] | None = None, vars: str = "") -> Path:
    """``environments/<name>`` in the sandbox with one folder of scripts per component."""
    lines = [f"name: {name}", "region: us-east-1", "aws: {target: sandbox}"]
    if vars:
        lines.append(f"vars: {{{vars}}}")
    lines.append("components:")
    for comp in components:
        deps = (depends or {}).get(comp)
        lines.append(f"  {comp}: {{depends_on: [{', '.join(deps)}]}}" if deps else f"  {comp}: {{}}")
    scripts = {comp: {f"{action}-{comp}.sh": body for action, body in
                      (("install", files.get("install.sh", "true\n")), ("delete", files.get("delete.sh", "true\n")))}
               for comp, files in components.items()}
    return make_env(root, name, "\n".join(lines) + "\n", scripts)


def up(root: Path, name: str = "test") -> None:
    res = run_cli("up", name, root=root)
    assert res.exit_code == 0, res.output


def down(root: Path, name: str = "test") -> str:
    """Tear down; every test here leaves an orphan, so ``down`` ends NOT CLEAN (exit 5)."""
    res = run_cli("down", name, "--yes", root=root)
    assert res.exit_code == 5, res.output
    return res.output


def verify(root: Path, name: str = "test") -> dict[str, Any]:
    res = run_cli("verify", name, "--json", root=root)
    data = json.loads(res.stdout)
    data["exit_code"] = res.exit_code
    return data


def listed(data: dict[str, Any], rtype: str, rid: str) -> dict[str, Any]:
    """The one leftover of ``rtype`` whose id (or ARN) is ``rid``; fails naming what was listed."""
    hits = [r for r in data["resources"] if r["type"] == rtype and rid in (r["id"], r["arn"])]
    assert len(hits) == 1, f"{rtype} {rid} not listed once in {[(r['type'], r['id']) for r in data['resources']]}"
    return hits[0]


def ids(data: dict[str, Any]) -> set[str]:
    return {r["id"] for r in data["resources"]}


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def client(service: str) -> Any:
    return boto3.client(service, region_name="us-east-1")
