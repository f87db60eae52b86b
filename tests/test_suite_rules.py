"""Rules the suite keeps about itself: a test that needs a tool skips on a laptop without it, and fails in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("ci", "outcome"), [(None, "1 skipped"), ("true", "1 error")])
def test_a_missing_tool_skips_locally_and_fails_in_ci(tmp_path: Path, ci: str | None, outcome: str) -> None:
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_tool.py").write_text(
        "import pytest\n\n@pytest.mark.needs('no-such-tool-anywhere')\ndef test_it():\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = ci
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                           str(tmp_path), "-o", "markers=needs", str(tmp_path)],
                          cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True,
                          timeout=120)
    assert outcome in done.stdout, done.stdout + done.stderr
    assert (done.returncode != 0) == bool(ci)
    if ci:
        assert "CI must run this test" in done.stdout
