"""The review gate: a changed script is refused (with its diff) until someone approves it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import make_env, run_cli

ENV_YAML = """
name: test
region: us-east-1
aws:
  target: account
  account_id: "123456789012"
review: required
components:
  network: {{}}
  app:
    depends_on: [network]
"""


def reviewed_env(root: Path, marker: Path) -> Path:
    return make_env(root, "test", ENV_YAML.format(), {
        "network": {"install-network.sh": f"echo network >> {marker}\n", "delete-network.sh": "echo bye\n"},
        "app": {"install-app.sh": f"echo app >> {marker}\n", "delete-app.sh": "echo bye\n"},
    })


FILES = ["environments/test/app/delete-app.sh", "environments/test/app/install-app.sh",
         "environments/test/env.yaml", "environments/test/network/delete-network.sh",
         "environments/test/network/install-network.sh"]


def test_nothing_runs_before_the_first_approval(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    reviewed_env(tmp_path, marker)
    result = run_cli("up", "test", root=tmp_path)
    assert result.exit_code == 2, result.output
    assert "requires review and 5 file(s) are not approved" in result.stderr
    assert "new: environments/test/network/install-network.sh" in result.stderr
    assert "envctl approve test" in result.stderr
    assert not marker.exists()


def test_approve_writes_a_stable_lock_file(tmp_path: Path) -> None:
    env_dir = reviewed_env(tmp_path, tmp_path / "ran")
    result = run_cli("approve", "test", root=tmp_path)
    assert result.exit_code == 0, result.output
    for rel in FILES:
        assert f"new       {rel}" in result.stdout
    assert "approved 5 file(s) of 'test' (5 new) in environments/test/envctl.lock" in result.stdout
    lock = env_dir / "envctl.lock"
    first = lock.read_text()
    data = json.loads(first)
    assert data["env"] == "test"
    assert list(data["files"]) == FILES  # sorted, relative to the root: diff-friendly
    assert all(len(sha) == 64 for sha in data["files"].values())
    again = run_cli("approve", "test", root=tmp_path)
    assert "approved 5 file(s) of 'test' (5 unchanged)" in again.stdout
    assert lock.read_text() == first
    assert (tmp_path / ".envctl/approved/test/environments/test/app/install-app.sh").is_file()


@pytest.mark.sandbox
def test_changed_script_is_refused_with_a_diff_then_accepted_after_approve(tmp_path: Path, aws: str) -> None:
    marker = tmp_path / "ran"
    env_dir = reviewed_env(tmp_path, marker)
    assert run_cli("approve", "test", root=tmp_path).exit_code == 0
    up = run_cli("up", "test", root=tmp_path)
    assert up.exit_code == 0, up.output
    assert marker.read_text().split() == ["network", "app"]

    script = env_dir / "app" / "install-app.sh"
    script.write_text(script.read_text() + "echo 'a change nobody read'\n")
    marker.unlink()
    refused = run_cli("up", "test", "--force", root=tmp_path)
    assert refused.exit_code == 2, refused.output
    assert "1 file(s) are not approved" in refused.stderr
    assert "changed: environments/test/app/install-app.sh" in refused.stderr
    assert "--- a/environments/test/app/install-app.sh (approved)" in refused.stderr
    assert "+echo 'a change nobody read'" in refused.stderr
    assert not marker.exists()

    approved = run_cli("approve", "test", root=tmp_path)
    assert "changed   environments/test/app/install-app.sh" in approved.stdout
    assert "unchanged environments/test/env.yaml" in approved.stdout
    up = run_cli("up", "test", "--force", root=tmp_path)
    assert up.exit_code == 0, up.output
    assert "app" in marker.read_text()
    down = run_cli("down", "test", "--yes", "--no-verify", root=tmp_path)
    assert down.exit_code == 0, down.output


def test_approved_on_another_machine_says_there_is_no_copy_to_diff(tmp_path: Path) -> None:
    env_dir = reviewed_env(tmp_path, tmp_path / "ran")
    run_cli("approve", "test", root=tmp_path)
    import shutil

    shutil.rmtree(tmp_path / ".envctl" / "approved")
    (env_dir / "network" / "delete-network.sh").write_text("#!/usr/bin/env bash\nset -euo pipefail\necho x\n")
    dry = run_cli("approve", "test", "--dry-run", root=tmp_path)
    assert dry.exit_code == 0
    assert "changed   environments/test/network/delete-network.sh" in dry.stdout
    assert "no copy of that version on this machine" in dry.stdout
    lock = json.loads((env_dir / "envctl.lock").read_text())
    run_cli("approve", "test", root=tmp_path)
    assert json.loads((env_dir / "envctl.lock").read_text()) != lock


def test_review_off_runs_without_a_lock(tmp_path: Path) -> None:
    from envctl.config.load import load_environment
    from envctl.safety.review import check_review

    env_dir = reviewed_env(tmp_path, tmp_path / "ran")
    env_file = env_dir / "env.yaml"
    env_file.write_text(env_file.read_text().replace("review: required", "review: off"))
    check_review(load_environment(tmp_path, "test"))  # does not raise


def test_a_broken_lock_file_is_a_clear_error(tmp_path: Path) -> None:
    env_dir = reviewed_env(tmp_path, tmp_path / "ran")
    (env_dir / "envctl.lock").write_text("<<<<<<< HEAD\n")
    result = run_cli("up", "test", root=tmp_path)
    assert result.exit_code == 2
    assert "envctl.lock: not a readable envctl lock file" in result.stderr


def test_a_library_the_scripts_source_is_reviewed_too(tmp_path: Path) -> None:
    env_dir = reviewed_env(tmp_path, tmp_path / "ran")
    lib = tmp_path / "environments" / "lib" / "common.sh"
    lib.parent.mkdir()
    lib.write_text("log() { echo \"$*\"; }\n")
    install = env_dir / "network" / "install-network.sh"
    install.write_text(install.read_text() + '. "$(dirname "${BASH_SOURCE[0]}")/../../lib/common.sh"\n')
    result = run_cli("approve", "test", root=tmp_path)
    assert "new       environments/lib/common.sh" in result.stdout
    lib.write_text("log() { aws ec2 delete-vpc --vpc-id vpc-1; }\n")
    refused = run_cli("up", "test", root=tmp_path)
    assert refused.exit_code == 2
    assert "changed: environments/lib/common.sh" in refused.stderr
    assert "+log() { aws ec2 delete-vpc --vpc-id vpc-1; }" in refused.stderr


DELETES = """
name: test
region: us-east-1
aws:
  target: account
  account_id: "123456789012"
review: required
schedule: {timezone: UTC, down_after: 12h}
components:
  network: {}
  app:
    depends_on: [network]
"""


def teardown_env(root: Path, marker: Path) -> Path:
    """Each script appends its name to ``marker``: what ran, in order."""
    return make_env(root, "test", DELETES, {
        "network": {"install-network.sh": f"echo install-network >> {marker}\n",
                    "delete-network.sh": f"echo delete-network >> {marker}\n"},
        "app": {"install-app.sh": f"echo install-app >> {marker}\n",
                "delete-app.sh": f"echo delete-app >> {marker}\n"},
    })


def _up_approved(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "ran"
    env_dir = teardown_env(tmp_path, marker)
    assert run_cli("approve", "test", root=tmp_path).exit_code == 0
    up = run_cli("up", "test", root=tmp_path)
    assert up.exit_code == 0, up.output
    marker.unlink()
    return env_dir, marker


@pytest.mark.sandbox
def test_down_runs_although_an_install_script_changed(tmp_path: Path, aws: str) -> None:
    env_dir, marker = _up_approved(tmp_path)
    install = env_dir / "app" / "install-app.sh"
    install.write_text(install.read_text() + "echo 'not reviewed yet'\n")
    assert run_cli("up", "test", "--force", root=tmp_path).exit_code == 2  # installing it still needs review
    down = run_cli("down", "test", "--yes", "--no-verify", root=tmp_path)
    assert down.exit_code == 0, down.output
    assert marker.read_text().split() == ["delete-app", "delete-network"]


@pytest.mark.sandbox
def test_down_refuses_a_changed_delete_script_and_says_what_to_approve(tmp_path: Path, aws: str) -> None:
    env_dir, marker = _up_approved(tmp_path)
    delete = env_dir / "network" / "delete-network.sh"
    delete.write_text(delete.read_text() + "aws ec2 delete-vpc --vpc-id vpc-someone-elses\n")
    install = env_dir / "app" / "install-app.sh"
    install.write_text(install.read_text() + "echo 'not reviewed yet'\n")
    down = run_cli("down", "test", "--yes", "--no-verify", root=tmp_path)
    assert down.exit_code == 2, down.output
    assert "1 file(s) this teardown runs are not approved" in down.stderr
    assert "changed: environments/test/network/delete-network.sh" in down.stderr
    assert "+aws ec2 delete-vpc --vpc-id vpc-someone-elses" in down.stderr
    assert "envctl approve test" in down.stderr
    assert "also approves 1 other changed file(s): environments/test/app/install-app.sh" in down.stderr
    assert not marker.exists()
    # a teardown that does not run it is not held back: down --only app deletes app alone
    only_app = run_cli("down", "test", "--only", "app", "--yes", "--no-verify", root=tmp_path)
    assert only_app.exit_code == 0, only_app.output
    assert marker.read_text().split() == ["delete-app"]


@pytest.mark.sandbox
def test_reap_runs_although_an_install_script_changed(tmp_path: Path, aws: str) -> None:
    env_dir, marker = _up_approved(tmp_path)
    state_file = tmp_path / ".envctl" / "state" / "test.json"
    state = json.loads(state_file.read_text())
    state["up_since"] = "2026-01-05T08:00:00+00:00"  # up since long before its down_after of 12 h
    state_file.write_text(json.dumps(state))
    install = env_dir / "network" / "install-network.sh"
    install.write_text(install.read_text() + "echo 'not reviewed yet'\n")
    reap = run_cli("reap", "--yes", root=tmp_path)
    assert reap.exit_code == 0, reap.output
    assert marker.read_text().split() == ["delete-app", "delete-network"]
