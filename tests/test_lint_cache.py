"""The lint before every run remembers its results by content: what changed is linted again, nothing less is
checked. Observed through `envctl up` as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_env, run_cli

pytestmark = pytest.mark.sandbox

# the tag helper lives in a library the install script sources
INSTALL = """
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if [ -n "${NEVER:-}" ]; then
  aws ec2 create-vpc --cidr-block 10.0.0.0/16 --tag-specifications "ResourceType=vpc,Tags=[$TAGS]"
fi
"""


def project(root: Path) -> Path:
    make_env(root, "demo", """
        name: demo
        region: us-east-1
        aws: {target: sandbox}
        components:
          net: {}
        """, {"net": {"install-net.sh": INSTALL, "delete-net.sh": "echo deleted\n"}})
    (root / "environments/demo/net/lib.sh").write_text("# shared helpers\n")
    return root


def up(root: Path) -> tuple[int, str]:
    result = run_cli("up", "demo", root=root)
    run_cli("down", "demo", "--yes", "--no-verify", root=root)
    return result.exit_code, result.output


def test_a_script_edited_after_a_cached_lint_is_linted_again(tmp_path: Path, aws: str) -> None:
    root = project(tmp_path)
    code, _ = up(root)
    assert code == 0
    assert (root / ".envctl/cache/lint.json").is_file()
    script = root / "environments/demo/net/install-net.sh"
    script.write_text(script.read_text() + "docker pull nginx:latest\n")
    code, said = up(root)
    assert code == 2
    assert "pinned-latest" in said and "install-net.sh" in said


def test_a_script_that_lost_its_exec_bit_is_refused_though_its_text_is_cached(tmp_path: Path, aws: str) -> None:
    root = project(tmp_path)
    assert up(root)[0] == 0
    delete = root / "environments/demo/net/delete-net.sh"
    delete.chmod(0o644)
    result = run_cli("lint", "demo", root=root)  # what a user would run; then up itself
    assert result.exit_code == 2
    code, said = up(root)
    assert code == 2 and "not executable" in said


def test_a_change_in_a_sourced_library_is_seen(tmp_path: Path, aws: str) -> None:
    root = project(tmp_path)
    code, said = up(root)
    assert code == 0
    assert "untagged-create" in said  # $TAGS is defined nowhere yet
    (root / "environments/demo/net/lib.sh").write_text('TAGS="$ENVCTL_TAGS_CLI"\n')
    code, said = up(root)
    assert code == 0
    assert "untagged-create" not in said
    (root / "environments/demo/net/lib.sh").write_text("# the helper is gone again\n")
    code, said = up(root)
    assert "untagged-create" in said
