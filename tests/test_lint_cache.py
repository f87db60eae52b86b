"""The lint before every run remembers its results by content: what changed is linted again, nothing less is
checked. Observed through `envctl up` as a user runs it."""

from __future__ import annotations

import os
import time
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


def test_an_edit_that_keeps_size_and_mtime_is_still_linted_again(tmp_path: Path, aws: str) -> None:
    # Hashes are remembered by stat, for files older than two seconds: age them past that, lint once, then
    # change the text in place with the same size and put the modification time back. The change time
    # still moves, so the edit is seen.
    root = project(tmp_path)
    script = root / "environments/demo/net/install-net.sh"
    before = script.stat()
    time.sleep(2.1)
    assert up(root)[0] == 0
    text = script.read_text()
    edited = text.replace("10.0.0.0/16", "nginx:1.27")  # one character shorter
    edited = edited.replace("nginx:1.27", "ngx:latest") + " "  # now pinned to latest, and as long as before
    assert len(edited) == len(text) and edited != text
    script.write_text(edited)
    os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (script.stat().st_size, script.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    code, said = up(root)
    assert code == 2 and "pinned-latest" in said, said


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
