"""plan and graph: valid orders on real graphs, subsets, reverse, and pictures."""

from __future__ import annotations

import json
import random

import pytest

from tests.conftest import make_env, run_cli

PAIR = {"install-x.sh": "true", "delete-x.sh": "true"}


def env_with(tmp_path, deps: dict[str, list[str]], name: str = "demo"):
    lines = [f"name: {name}", "region: us-east-1", "components:"]
    for comp, ds in deps.items():
        lines.append(f"  {comp}: {{depends_on: [{', '.join(ds)}]}}")
    make_env(tmp_path, name, "\n".join(lines) + "\n", {c: PAIR for c in deps})
    return tmp_path


def plan(tmp_path, *args):
    res = run_cli("plan", "demo", "--json", *args, root=tmp_path)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def assert_valid_up(order, deps):
    pos = {n: i for i, n in enumerate(order)}
    for node in order:
        for dep in deps[node]:
            assert pos[dep] < pos[node], (dep, node)


DIAMOND = {"top": [], "left": ["top"], "right": ["top"], "bottom": ["left", "right"], "lone": []}


def test_plan_diamond_is_a_valid_order(tmp_path):
    env_with(tmp_path, DIAMOND)
    out = plan(tmp_path)
    assert out["env"] == "demo" and out["action"] == "up"
    assert sorted(out["order"]) == sorted(DIAMOND)
    assert_valid_up(out["order"], DIAMOND)
    assert out["depends_on"]["bottom"] == ["left", "right"]


def test_plan_down_is_a_valid_reverse(tmp_path):
    env_with(tmp_path, DIAMOND)
    out = plan(tmp_path, "--down")
    assert out["action"] == "down"
    assert_valid_up(list(reversed(out["order"])), DIAMOND)


def test_plan_only_pulls_in_dependencies_and_down_only_pulls_in_dependents(tmp_path):
    env_with(tmp_path, DIAMOND)
    assert sorted(plan(tmp_path, "--only", "left")["order"]) == ["left", "top"]
    assert plan(tmp_path, "--only", "bottom")["order"][-1] == "bottom"
    assert set(plan(tmp_path, "--only", "bottom")["order"]) == {"top", "left", "right", "bottom"}
    down = plan(tmp_path, "--down", "--only", "left")["order"]
    assert down == ["bottom", "left"]


def test_plan_only_unknown_component_is_exit_2(tmp_path):
    env_with(tmp_path, DIAMOND)
    res = run_cli("plan", "demo", "--only", "nope", root=tmp_path)
    assert res.exit_code == 2 and "nope" in res.stderr and "top" in res.stderr


def random_dag(n: int, seed: int = 7) -> dict[str, list[str]]:
    rng = random.Random(seed)
    names = [f"c{i:03d}" for i in range(n)]
    return {name: sorted(rng.sample(names[:i], k=min(i, rng.randint(0, 3)))) for i, name in enumerate(names)}


def test_plan_on_500_components(tmp_path):
    deps = random_dag(500)
    # shuffle the file order so the plan cannot just echo it
    shuffled = dict(sorted(deps.items(), key=lambda kv: random.Random(1).random()))
    env_with(tmp_path, shuffled)
    out = plan(tmp_path)
    assert len(out["order"]) == 500
    assert_valid_up(out["order"], deps)
    down = plan(tmp_path, "--down")["order"]
    assert_valid_up(list(reversed(down)), deps)


def test_graph_formats(tmp_path):
    env_with(tmp_path, DIAMOND)
    mermaid = run_cli("graph", "demo", "--format", "mermaid", root=tmp_path).stdout
    assert mermaid.startswith("graph TD\n")
    assert '["bottom"]' in mermaid and mermaid.count("-->") == 4
    dot = run_cli("graph", "demo", "--format", "dot", root=tmp_path).stdout
    assert dot.startswith('digraph "envctl"') and '"top" -> "left";' in dot
    text = run_cli("graph", "demo", root=tmp_path).stdout
    assert "bottom  <- left, right" in text


@pytest.mark.parametrize("fmt", ["png"])
def test_graph_unknown_format_is_usage_error(tmp_path, fmt):
    env_with(tmp_path, DIAMOND)
    assert run_cli("graph", "demo", "--format", fmt, root=tmp_path).exit_code == 2


def test_help_everywhere():
    from typer.main import get_command

    from envctl.cli import app

    group = get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        res = run_cli(name, "--help")
        assert res.exit_code == 0 and "Usage" in res.stdout, name


def test_help_does_not_import_boto3_or_moto():
    import subprocess
    import sys

    code = ("import sys, runpy; sys.argv=['envctl','--help']\n"
            "try:\n    runpy.run_module('envctl', run_name='__main__')\nexcept SystemExit: pass\n"
            "bad=[m for m in sys.modules if m.split('.')[0] in ('boto3','botocore','moto','networkx')]\n"
            "print('LOADED', bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out
