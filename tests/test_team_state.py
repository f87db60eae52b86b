"""Team state through the command line: two project roots (two laptops) on one environment, state in the
moto server's S3, the run lock in its DynamoDB."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tests.conftest import REPO, make_env, run_cli, run_cli_process

pytestmark = pytest.mark.sandbox

BUCKET = "acme-envctl-state"
TABLE = "envctl-locks"
S3_STATE = f"state: {{backend: s3, bucket: {BUCKET}, prefix: envctl/, region: us-east-1, lock_table: {TABLE}, " \
           "lock_ttl: 2s}"

INSTALL = """
for _ in $(seq 1200); do [ -f "$GATE" ] && break; sleep 0.05; done  # at most a minute, never forever
[ -f "$GATE" ]
echo "VPC_ID=vpc-$(basename "$PWD")" >> "$ENVCTL_OUTPUT"
"""


def laptop(base: Path, name: str, gate: Path, state: str = S3_STATE) -> Path:
    """A project root with environment ``test``; its install waits until ``gate`` exists."""
    root = base / name
    make_env(root, "test", f"""
        name: test
        region: us-east-1
        aws: {{target: account, account_id: "123456789012"}}
        tags: {{project: intercept}}
        vars: {{GATE: {gate}}}
        {state}
        components:
          network: {{}}
        """, {"network": {"install-network.sh": INSTALL, "delete-network.sh": "echo deleted\n"}})
    return root


def start_up(root: Path) -> subprocess.Popen[str]:
    """``envctl up test`` as its own process, holding the lock until its install's gate opens."""
    return subprocess.Popen([sys.executable, "-m", "envctl", "--root", str(root), "up", "test"],
                            env={**os.environ, "PYTHONPATH": str(REPO)}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_locked(root: Path, timeout: float = 30) -> str:
    """Wait until ``unlock`` (refused without a terminal) reports a holder; return its description."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = run_cli("unlock", "test", root=root)
        if "is locked by" in result.stdout:
            return result.stdout
        time.sleep(0.1)
    raise AssertionError("the run never took the lock")


@pytest.fixture
def roots(aws: str, tmp_path: Path) -> tuple[Path, Path, Path]:
    gate = tmp_path / "gate"
    a, b = laptop(tmp_path, "a", gate), laptop(tmp_path, "b", gate)
    result = run_cli("state", "init", "test", root=a)
    assert result.exit_code == 0, result.output
    return a, b, gate


def status(root: Path) -> dict:
    result = run_cli("status", "test", "--json", root=root)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_two_roots_share_state_and_one_run_at_a_time(roots: tuple[Path, Path, Path]) -> None:
    a, b, gate = roots
    run_a = start_up(a)
    try:
        held = wait_locked(b)
        assert f"pid {run_a.pid} on " in held and "envctl up test" in held
        other = run_cli_process("up", "test", root=b)
        assert other.returncode == 3, other.stderr
        assert f"locked by pid {run_a.pid} on " in other.stderr
        assert not (b / ".envctl" / "state").exists()
    finally:
        gate.touch()
        _out, err = run_a.communicate(timeout=60)
    assert run_a.returncode == 0, err

    seen = status(b)  # the other laptop sees what the first one did
    assert seen["state"] == "up"
    assert seen["components"][0]["outputs"] == {"VPC_ID": "vpc-network"}
    history = json.loads(run_cli("history", "test", "--json", root=b).stdout)
    assert [(r["command"], r["result"]) for r in history] == [("up", "ok")]

    down = run_cli_process("down", "test", "--yes", "--no-verify", root=b)
    assert down.returncode == 0, down.stderr
    assert status(a)["state"] == "down"
    history = json.loads(run_cli("history", "test", "--json", root=a).stdout)
    assert [r["command"] for r in history] == ["up", "down"]


def test_a_killed_run_blocks_the_other_root_at_most_lock_ttl(roots: tuple[Path, Path, Path]) -> None:
    a, b, gate = roots
    run_a = start_up(a)
    wait_locked(b)
    os.kill(run_a.pid, signal.SIGKILL)
    run_a.wait()
    killed_at = time.monotonic()
    # still held right after the kill (checked in-process: a new process may take longer than the ttl to start)
    assert f"locked by pid {run_a.pid} " in run_cli("unlock", "test", root=b).stdout

    gate.touch()  # the killed run's script, and b's, may go on
    while True:
        took = run_cli_process("up", "test", root=b)
        if took.returncode != 3:
            break
        assert time.monotonic() - killed_at < 10, "the killed run's lock did not expire"
        time.sleep(0.3)
    assert took.returncode == 0, took.stderr
    said = took.stdout + took.stderr
    assert "expired lock" in said and f"pid {run_a.pid} " in said
    assert status(a)["state"] == "up"


def test_state_init_twice_says_exists(aws: str, tmp_path: Path) -> None:
    root = laptop(tmp_path, "a", tmp_path / "gate")
    first = run_cli("state", "init", "test", root=root)
    assert first.exit_code == 0, first.output
    assert f"bucket {BUCKET} in us-east-1: created" in first.stdout
    assert f"lock table {TABLE}: created" in first.stdout
    second = run_cli("state", "init", "test", root=root)
    assert second.exit_code == 0
    assert f"bucket {BUCKET} in us-east-1: exists" in second.stdout
    assert f"lock table {TABLE}: exists" in second.stdout
    s3 = boto3.client("s3")
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert all(s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"].values())


def test_state_init_on_a_local_environment_is_refused(aws: str, tmp_path: Path) -> None:
    root = laptop(tmp_path, "a", tmp_path / "gate", state="")
    result = run_cli("state", "init", "test", root=root)
    assert result.exit_code == 2
    assert "keeps its state in local files" in result.stderr
    assert "backend: s3" in result.stderr


def test_s3_backend_without_bucket_is_a_config_error(aws: str, tmp_path: Path) -> None:
    root = laptop(tmp_path, "a", tmp_path / "gate", state=f"state: {{backend: s3, lock_table: {TABLE}}}")
    result = run_cli("state", "init", "test", root=root)
    assert result.exit_code == 2
    assert "state.bucket" in result.stderr and "env.yaml" in result.stderr


def test_migrate_round_trip_after_a_real_local_run(aws: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    root = laptop(tmp_path, "a", gate, state="")
    assert run_cli("up", "test", root=root).exit_code == 0
    before_status = status(root)
    before_history = json.loads(run_cli("history", "test", "--json", root=root).stdout)

    laptop(tmp_path, "a", gate)  # the team switches env.yaml to the S3 backend
    assert run_cli("state", "init", "test", root=root).exit_code == 0
    moved = run_cli("state", "migrate", "test", root=root)
    assert moved.exit_code == 0, moved.output
    assert f"moved state and 1 run of 'test' to s3://{BUCKET}/envctl/test/state.json" in moved.stdout
    assert "local copy kept as .envctl/state/test.json.migrated" in moved.stdout
    assert "local copy kept as .envctl/history/test.jsonl.migrated" in moved.stdout

    elsewhere = laptop(tmp_path, "b", gate)
    assert status(elsewhere) == before_status
    assert json.loads(run_cli("history", "test", "--json", root=elsewhere).stdout) == before_history
    assert status(root) == before_status

    again = run_cli("state", "migrate", "test", root=root)
    assert again.exit_code == 2 and "nothing to migrate" in again.stderr


def test_verify_without_a_name_finds_the_environment_whose_state_is_in_s3(roots: tuple[Path, Path, Path]) -> None:
    a, b, gate = roots
    gate.touch()
    assert run_cli("up", "test", root=a).exit_code == 0
    make_env(b, "other", """
        name: other
        region: us-east-1
        aws: {target: account, account_id: "123456789012"}
        components:
          queue: {}
        """, {"queue": {"install-queue.sh": "true\n", "delete-queue.sh": "true\n"}})
    # laptop b never ran either environment: only S3 knows that test has state
    result = run_cli("verify", "--json", root=b)
    assert result.exit_code in (0, 5), result.output
    assert json.loads(result.stdout)["env"] == "test"


def test_migrate_refuses_when_s3_already_has_state(roots: tuple[Path, Path, Path]) -> None:
    a, b, gate = roots
    gate.touch()
    assert run_cli("up", "test", root=a).exit_code == 0
    local = laptop(b.parent, "c", gate, state="")
    assert run_cli("up", "test", root=local).exit_code == 0
    laptop(b.parent, "c", gate)
    refused = run_cli("state", "migrate", "test", root=local)
    assert refused.exit_code == 2
    assert "already holds state" in refused.stderr and "--force" in refused.stderr
    forced = run_cli("state", "migrate", "test", "--force", root=local)
    assert forced.exit_code == 0, forced.output


@pytest.mark.parametrize("backend", ["s3", "local"])
def test_unlock_asks_refuses_without_a_terminal_and_breaks_with_yes(aws: str, tmp_path: Path,
                                                                   backend: str) -> None:
    gate = tmp_path / "gate"
    root = laptop(tmp_path, "a", gate, state=S3_STATE if backend == "s3" else "")
    if backend == "s3":
        assert run_cli("state", "init", "test", root=root).exit_code == 0
    run_a = start_up(root)
    try:
        wait_locked(root)
        refused = run_cli("unlock", "test", root=root)
        assert refused.exit_code == 2
        assert f"locked by pid {run_a.pid} on " in refused.stdout
        if backend == "s3":
            assert "expires by itself in " in refused.stdout
        assert "without confirmation" in refused.stderr and "--yes" in refused.stderr
        assert f"pid {run_a.pid} " in run_cli("unlock", "test", root=root).stdout  # still held

        broken = run_cli("unlock", "test", "--yes", root=root)
        assert broken.exit_code == 0, broken.output
        assert "lock of 'test' removed" in broken.stdout
        assert run_cli("unlock", "test", root=root).stdout.strip() == "environment 'test' is not locked"
    finally:
        gate.touch()  # lets the killed run's install script end
        run_a.kill()
        run_a.wait()


def test_unlock_on_a_terminal_asks_first(aws: str, tmp_path: Path) -> None:
    root = laptop(tmp_path, "a", tmp_path / "gate")
    assert run_cli("state", "init", "test", root=root).exit_code == 0
    run_a = start_up(root)
    try:
        wait_locked(root)
        script = ("import pty, sys; sys.exit(pty.spawn([sys.executable, '-m', 'envctl', '--root', sys.argv[1], "
                  "'unlock', 'test']) >> 8)")
        said_no = subprocess.run([sys.executable, "-c", script, str(root)], input="n\n", capture_output=True,
                                 text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert "Break this lock?" in said_no.stdout
        assert said_no.returncode == 2
        assert f"pid {run_a.pid} " in run_cli("unlock", "test", root=root).stdout
    finally:
        (tmp_path / "gate").touch()  # lets the killed run's install script end
        run_a.kill()
        run_a.wait()


def test_a_sandbox_environment_keeps_its_team_state_in_the_sandbox(aws: str, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    root = tmp_path / "a"
    make_env(root, "test", f"""
        name: test
        region: us-east-1
        aws: {{target: sandbox}}
        vars: {{GATE: {gate}}}
        {S3_STATE}
        components:
          network: {{}}
        """, {"network": {"install-network.sh": INSTALL, "delete-network.sh": "echo deleted\n"}})
    # nothing in envctl's own environment points at the sandbox: the environment's target does
    for var in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    assert run_cli("state", "init", "test", root=root).exit_code == 0
    up = run_cli("up", "test", root=root)
    assert up.exit_code == 0, up.output
    assert status(root)["state"] == "up"

    s3 = boto3.client("s3", endpoint_url=aws, aws_access_key_id="x", aws_secret_access_key="x")
    body = json.loads(s3.get_object(Bucket=BUCKET, Key="envctl/test/state.json")["Body"].read())
    assert body["components"]["network"]["state"] == "up"
    assert not (root / ".envctl" / "state").exists()


def test_history_reads_each_run_once_and_still_sees_what_another_laptop_wrote(roots) -> None:
    """runs() remembers the records it read (by version) in .envctl/cache: a long team history costs its
    listing, and a run another laptop added, or rewrote when it ended, is still read."""
    from envctl.config.load import load_environment
    from envctl.state.s3 import S3Backend

    a, b, gate = roots
    gate.touch()
    for root in (a, b, a):
        assert run_cli("up", "test", "--force", root=root).exit_code == 0
    reads: list[str] = []

    def counting(service: str, region: str | None) -> object:
        client = boto3.client(service, region_name=region or "us-east-1")
        client.meta.events.register("before-call.s3.GetObject", lambda **kw: reads.append(kw["params"]["url_path"]))
        return client

    env = load_environment(a, "test")
    first = S3Backend(a, env.state, client_factory=counting).runs("test")
    assert len(first) == 3 and len(reads) <= 3  # what a's own cache lacks (b's run) is read
    reads.clear()
    again = S3Backend(a, env.state, client_factory=counting).runs("test")
    assert again == first and reads == []
    assert run_cli("up", "test", "--force", root=b).exit_code == 0  # another laptop: one more run
    latest = S3Backend(a, env.state, client_factory=counting).runs("test")
    assert len(latest) == 4 and latest[:3] == first and len(reads) == 1
    assert json.loads(run_cli("history", "test", "--json", root=a).stdout) == latest
    cache = next((a / ".envctl" / "cache").glob("s3-history-*.json"))
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    cache.write_text("{not json")  # a broken cache is only slower
    assert S3Backend(a, env.state, client_factory=counting).runs("test") == latest
