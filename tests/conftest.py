"""Shared fixtures: a CLI runner that surfaces tracebacks, tiny real environments, one sandbox per session."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from envctl.safety.agents import MARKER_VARIABLES, scrubbed

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _no_agent_markers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts outside any AI coding agent's session, whatever shell ran pytest; a test that needs one
    sets the marker itself."""
    for name in MARKER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_cli(*args: str, root: Path | None = None, env: dict[str, str] | None = None,
            input: str | None = None) -> CliResult:
    """Run envctl in-process like a user would and return what they would see.

    An exception that escapes the CLI's error boundary is re-raised, so a traceback never hides behind an exit
    code of 1.
    """
    from typer.testing import CliRunner

    from envctl.cli import app

    argv = list(args)
    if root is not None:
        argv = ["--root", str(root), *argv]
    runner = CliRunner()
    # None removes a variable: no agent marker of the shell the tests run in reaches envctl unless a test sets it.
    clean: dict[str, str | None] = {name: None for name in MARKER_VARIABLES}
    result = runner.invoke(app, argv, env={**clean, **(env or {})}, input=input, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return CliResult(result.exit_code, result.stdout, result.stderr)


def run_cli_process(*args: str, root: Path, env: dict[str, str] | None = None,
                    timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run envctl as its own process (for signals, locks between processes and the console script)."""
    full_env = {**scrubbed(os.environ), "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "envctl", "--root", str(root), *args], env=full_env,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def write_script(path: Path, body: str) -> Path:
    """A tiny real bash script, executable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + textwrap.dedent(body).lstrip("\n"))
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_env(root: Path, name: str, env_yaml: str, components: dict[str, dict[str, str]] | None = None) -> Path:
    """Write ``environments/<name>/env.yaml`` and, per component, ``{script file name: body}``."""
    env_dir = root / "environments" / name
    env_dir.mkdir(parents=True, exist_ok=True)
    (env_dir / "env.yaml").write_text(textwrap.dedent(env_yaml).lstrip("\n"))
    for comp, scripts in (components or {}).items():
        for filename, body in scripts.items():
            write_script(env_dir / comp / filename, body)
    return env_dir


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.needs("shellcheck")``: skipped on a machine without the tool, but a failure in CI, which
    must install it (.ci/run): a test that skips there hides what it exists to check."""
    for marker in item.iter_markers("needs"):
        for tool in marker.args:
            if shutil.which(tool) is None:
                message = f"{tool} is not installed"
                if os.environ.get("CI"):
                    pytest.fail(f"{message}, and CI must run this test: install it in .ci/run", pytrace=False)
                pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session", autouse=True)
def _session_sandbox_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One sandbox port for the whole session, exported as ``ENVCTL_SANDBOX_PORT``; stopped at the end.

    Any test root's ``ensure_running`` adopts the server on that port instead of starting its own, and a
    server started there by any test is stopped with the session, so none outlives the tests.
    """
    from envctl.aws import sandbox

    root = tmp_path_factory.mktemp("sandbox-root")
    (root / "environments").mkdir()
    previous = os.environ.get(sandbox.PORT_ENV)
    os.environ[sandbox.PORT_ENV] = str(_free_port())
    try:
        yield root
    finally:
        with contextlib.suppress(Exception):  # a moto server envctl did not start is not ours to stop
            sandbox.stop(root)
        if previous is None:
            os.environ.pop(sandbox.PORT_ENV, None)
        else:
            os.environ[sandbox.PORT_ENV] = previous


@pytest.fixture(scope="session")
def sandbox_endpoint(_session_sandbox_root: Path) -> str:
    """The session's sandbox, started by envctl itself, reached over HTTP like scripts do."""
    from envctl.aws import sandbox

    return sandbox.start(_session_sandbox_root).endpoint


@pytest.fixture
def aws(sandbox_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A clean sandbox for this test (moto's own reset endpoint), with the process pointed at it."""
    req = urllib.request.Request(sandbox_endpoint + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=60).read()  # generous: a loaded machine must not fail a reset
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    yield sandbox_endpoint
