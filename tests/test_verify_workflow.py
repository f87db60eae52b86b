"""The generated GitHub workflow's cost report: leftovers (5) are normal while asleep, an incomplete check (6)
fails the scheduled job."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_cli, write_script
from tests.test_schedule import github_project


@pytest.mark.parametrize(("verify_exit", "job_fails"), [(0, False), (5, False), (6, True), (2, True)])
def test_the_cost_report_step_fails_the_job_on_6(tmp_path: Path, verify_exit: int, job_fails: bool) -> None:
    root = github_project(tmp_path)
    out = tmp_path / "workflow.yml"
    assert run_cli("schedule", "test", "--github", "--out", str(out), root=root).exit_code == 0
    steps = yaml.safe_load(out.read_text())["jobs"]["envctl"]["steps"]
    report = next(step for step in steps if step.get("name") == "Cost report")
    fake_bin = tmp_path / "bin"
    write_script(fake_bin / "envctl", f"echo report\nexit {verify_exit}\n")
    env = {"PATH": f"{fake_bin}:{os.environ.get('PATH', '/usr/bin:/bin')}",
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    step = subprocess.run(["bash", "-e", "-c", report["run"]], env=env, capture_output=True, timeout=30)
    assert (step.returncode != 0) is job_fails
    assert (tmp_path / "summary.md").read_text() == "report\n"
