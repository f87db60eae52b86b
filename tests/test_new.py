"""envctl new: the paved path for the next component, registered without touching the rest of env.yaml."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest

from envctl.config.load import load_environment
from envctl.safety.lint import lint_environment
from tests.conftest import make_env, run_cli

ENV_YAML = """\
name: test                       # must equal the folder name
region: us-east-1
aws:
  target: {target}
  {account}
tags:                            # put on every resource
  project: intercept
components:
  network: {{}}                    # folder environments/test/network/
  cluster:
    depends_on:
      - network
    timeout: 30m

# built-in sleep/wake targets
sleep: {{nodegroups: true, autoscaling: true, rds: true, ec2: true}}
"""


def env_with(root: Path, *, target: str = "sandbox") -> Path:
    account = 'account_id: "123456789012"' if target == "account" else "# no account"
    return make_env(root, "test", ENV_YAML.format(target=target, account=account), {
        "network": {"install-network.sh": "echo network\n", "delete-network.sh": "echo bye\n"},
        "cluster": {"install-cluster.sh": "echo cluster >> ../cluster.log  # install-cluster.sh\n",
                    "delete-cluster.sh": "echo bye\n"},
    })


def test_new_writes_an_executable_pair_and_registers_it_keeping_comments(tmp_path: Path) -> None:
    env_dir = env_with(tmp_path)
    before = (env_dir / "env.yaml").read_text()
    result = run_cli("new", "test", "cache", "--depends-on", "network", "-d", "cluster", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert "created environments/test/cache/install-cache.sh" in result.stdout
    assert "registered 'cache' (depends on network, cluster) in environments/test/env.yaml" in result.stdout
    for name in ("install-cache.sh", "delete-cache.sh"):
        script = env_dir / "cache" / name
        assert os.access(script, os.X_OK)
        text = script.read_text()
        assert text.startswith("#!/usr/bin/env bash\n")
        assert "set -euo pipefail" in text
    install = (env_dir / "cache" / "install-cache.sh").read_text()
    assert "$ENVCTL_TAGS_KV" in install and "$ENVCTL_OUTPUT" in install and "describe-log-groups" in install
    after = (env_dir / "env.yaml").read_text()
    # only the new entry was added: every comment, quote and the layout are untouched
    assert after == before.replace("    timeout: 30m\n",
                                   "    timeout: 30m\n  cache:\n    depends_on: [network, cluster]\n")
    env = load_environment(tmp_path, "test")
    assert env.components["cache"].depends_on == ("network", "cluster")


def test_the_generated_pair_passes_lint_without_errors_or_warnings(tmp_path: Path) -> None:
    env_with(tmp_path)
    assert run_cli("new", "test", "cache", root=tmp_path).exit_code == 0
    findings = lint_environment(load_environment(tmp_path, "test"), use_shellcheck=True)
    assert [f for f in findings if "cache" in str(f.file)] == []
    result = run_cli("lint", "test", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert "no problems" in result.stdout


@pytest.mark.needs("shellcheck")
def test_the_templates_are_shellcheck_clean(tmp_path: Path) -> None:
    from envctl.safety.lint_rules import shellcheck

    env_dir = env_with(tmp_path)
    run_cli("new", "test", "cache", root=tmp_path)
    assert shellcheck(sorted((env_dir / "cache").glob("*.sh"))) == []


def test_new_from_copies_the_pair_renaming_scripts(tmp_path: Path) -> None:
    env_dir = env_with(tmp_path)
    result = run_cli("new", "test", "web", "--from", "cluster", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (env_dir / "web").iterdir()) == ["delete-web.sh", "install-web.sh"]
    assert "# install-web.sh" in (env_dir / "web" / "install-web.sh").read_text()
    assert os.access(env_dir / "web" / "install-web.sh", os.X_OK)
    assert "web" in load_environment(tmp_path, "test").components


@pytest.mark.parametrize("args, message", [
    (["new", "test", "network"], "component 'network' already exists"),
    (["new", "test", "../x"], "'../x' is not a valid component name"),
    (["new", "test", "-bad"], ""),
    (["new", "test", "cache", "--depends-on", "nope"], "--depends-on nope: no component 'nope'"),
    (["new", "test", "cache", "--from", "nope"], "--from nope: no component 'nope'"),
    (["new", "prod", "cache"], "no environment 'prod'"),
])
def test_new_refuses_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    env_dir = env_with(tmp_path)
    before = (env_dir / "env.yaml").read_text()
    result = run_cli(*args, root=tmp_path)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert (env_dir / "env.yaml").read_text() == before
    assert not (env_dir / "cache").exists()


def test_new_refuses_a_folder_that_is_already_there(tmp_path: Path) -> None:
    env_dir = env_with(tmp_path)
    (env_dir / "cache").mkdir()
    (env_dir / "cache" / "notes.txt").write_text("mine\n")
    result = run_cli("new", "test", "cache", root=tmp_path)
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.stderr


@pytest.mark.sandbox
@pytest.mark.parametrize("target", ["sandbox", "account"])
def test_the_new_component_goes_up_and_down(tmp_path: Path, aws: str, target: str) -> None:
    env_with(tmp_path, target=target)
    assert run_cli("new", "test", "cache", "--depends-on", "network", root=tmp_path).exit_code == 0
    logs = boto3.client("logs")
    up = run_cli("up", "test", "--only", "cache", root=tmp_path)
    assert up.exit_code == 0, up.output
    [group] = logs.describe_log_groups(logGroupNamePrefix="/envctl/test/cache")["logGroups"]
    tags = logs.list_tags_for_resource(resourceArn=group["arn"].removesuffix(":*"))["tags"]
    assert tags == {"envctl:env": "test", "envctl:component": "cache", "project": "intercept"}
    status = run_cli("status", "test", "--json", root=tmp_path)
    assert '"LOG_GROUP": "/envctl/test/cache"' in status.stdout
    again = run_cli("up", "test", "--only", "cache", "--force", root=tmp_path)  # idempotent
    assert again.exit_code == 0, again.output
    down = run_cli("down", "test", "--yes", "--no-verify", root=tmp_path)
    assert down.exit_code == 0, down.output
    assert logs.describe_log_groups(logGroupNamePrefix="/envctl/test/cache")["logGroups"] == []
    twice = run_cli("down", "test", "--yes", "--no-verify", "--only", "cache", root=tmp_path)
    assert twice.exit_code == 0, twice.output


@pytest.mark.parametrize("components, expected", [
    # four-space indentation, a commented-out component at the end of the block
    ("components:\n    network: {}  # the net\n    # old:\n    #   depends_on: [network]\nvars:\n    A: b\n",
     "components:\n    network: {}  # the net\n    cache:\n        depends_on: [network]\n    # old:\n"
     "    #   depends_on: [network]\nvars:\n    A: b\n"),
    # a flow mapping goes through the round-trip dump
    ("components: {network: {}}\n", "components: {network: {}, cache: {depends_on: [network]}}\n"),
])
def test_new_follows_the_file_own_layout(tmp_path: Path, components: str, expected: str) -> None:
    head = "name: test\nregion: us-east-1\naws: {target: sandbox}\n"
    env_dir = make_env(tmp_path, "test", head + components, {
        "network": {"install-network.sh": "echo network\n", "delete-network.sh": "echo bye\n"}})
    result = run_cli("new", "test", "cache", "-d", "network", root=tmp_path)
    assert result.exit_code == 0, result.output
    assert (env_dir / "env.yaml").read_text() == head + expected
