"""The run engine under faults, with real processes and a real moto server: a closed terminal, envctl killed
with SIGKILL, a team lock taken away mid-run, and a fault in envctl itself inside a step."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from tests.conftest import REPO, make_env, run_cli

pytestmark = pytest.mark.sandbox

BUCKET = "acme-envctl-state"
TABLE = "envctl-locks"
LOCK_ID = f"{BUCKET}/envctl/test/state.json"


def process_env() -> dict[str, str]:
    """What every envctl these tests start gets: set here, not inherited from whatever shell runs the suite."""
    keep = ("PATH", "HOME", "ENVCTL_SANDBOX_PORT", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    return {**env, "PYTHONPATH": str(REPO), "LC_ALL": "C.UTF-8"}


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "envctl", "--root", str(root), *args], env=process_env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(cond: Callable[[], object], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout:g}s")
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by whoever inherited it) is gone for our purposes
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def pids(path: Path) -> list[int]:
    return [int(p) for p in path.read_text().split()] if path.exists() else []


# A script that records its own pid and its child's, then waits on the child: both must be stopped.
HOLD = """
sleep 60 &
echo "$$ $!" > "$PIDS/$ENVCTL_COMPONENT"
wait
"""


def local_env(root: Path, components: dict[str, tuple[list[str], str]]) -> Path:
    """Environment ``demo`` on the sandbox; each component: (depends_on, install body). Starts are recorded."""
    (root / "pids").mkdir(parents=True, exist_ok=True)
    lines = ["name: demo", "region: us-east-1", "aws: {target: sandbox}",
             f"vars: {{PIDS: {root / 'pids'}, TRACE: {root / 'trace.log'}}}", "components:"]
    scripts = {}
    for name, (deps, body) in components.items():
        lines.append(f"  {name}: {{depends_on: [{', '.join(deps)}]}}")
        scripts[name] = {f"install-{name}.sh": 'echo "$ENVCTL_COMPONENT" >> "$TRACE"\n' + body,
                         f"delete-{name}.sh": "echo deleted\n"}
    make_env(root, "demo", "\n".join(lines) + "\n", scripts)
    return root


def started(root: Path) -> list[str]:
    trace = root / "trace.log"
    return trace.read_text().split() if trace.exists() else []


def last_run(root: Path, env: str) -> dict:
    result = run_cli("history", env, "--json", root=root)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)[-1]


def states(root: Path, env: str = "demo") -> dict[str, str]:
    result = run_cli("status", env, "--json", "--no-cost", root=root)
    assert result.exit_code == 0, result.output
    return {c["name"]: c["state"] for c in json.loads(result.stdout)["components"]}


# ---------------------------------------------------------------- a closed terminal, kill -9


def test_sighup_stops_the_scripts_records_releases_the_lock_and_exits_130(tmp_path: Path, aws: str) -> None:
    local_env(tmp_path, {"slow": ([], HOLD), "after": (["slow"], ""), "quick": ([], "")})
    proc = start(tmp_path, "up", "demo")
    wait_for(lambda: len(pids(tmp_path / "pids/slow")) == 2 and states(tmp_path).get("quick") == "up",
             what="slow running, quick up")
    scripts = pids(tmp_path / "pids/slow")
    proc.send_signal(signal.SIGHUP)
    wait_for(lambda: not any(alive(p) for p in scripts), timeout=5, what="the scripts gone")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "after" not in started(tmp_path)
    assert states(tmp_path) == {"slow": "install_failed", "after": "down", "quick": "up"}
    assert last_run(tmp_path, "demo")["result"] == "interrupted"
    # the lock is free: the next run goes at once and resumes
    (tmp_path / "environments/demo/slow/install-slow.sh").write_text("#!/usr/bin/env bash\nexit 0\n")
    again = run_cli("up", "demo", root=tmp_path)
    assert again.exit_code == 0, again.output
    assert set(states(tmp_path).values()) == {"up"}


def test_closing_the_terminal_mid_up_is_a_hangup_handled_like_ctrl_c(tmp_path: Path, aws: str) -> None:
    """envctl on a real terminal (the live display on), which then goes away: the kernel's SIGHUP, and every
    later write to the terminal failing, must still end in a recorded run, a free lock and exit 130."""
    local_env(tmp_path, {"slow": ([], HOLD), "after": (["slow"], "")})
    pid, terminal = pty.fork()
    if pid == 0:  # the child: envctl with the pty as its controlling terminal
        os.execve(sys.executable, [sys.executable, "-m", "envctl", "--root", str(tmp_path), "up", "demo"],
                  process_env())
    try:
        wait_for(lambda: _drained(terminal) and len(pids(tmp_path / "pids/slow")) == 2, what="slow running")
        scripts = pids(tmp_path / "pids/slow")
    finally:
        os.close(terminal)  # the terminal window closes
    wait_for(lambda: not any(alive(p) for p in scripts), timeout=5, what="the scripts gone")
    status = _wait_exit(pid, timeout=30)
    assert status == 130
    assert "after" not in started(tmp_path)
    assert last_run(tmp_path, "demo")["result"] == "interrupted"
    assert states(tmp_path) == {"slow": "install_failed", "after": "down"}
    (tmp_path / "environments/demo/slow/install-slow.sh").write_text("#!/usr/bin/env bash\nexit 0\n")
    assert run_cli("up", "demo", root=tmp_path).exit_code == 0  # the lock was released


def _drained(fd: int) -> bool:
    """Read what the terminal shows (so that envctl never blocks writing to it); always True."""
    while select.select([fd], [], [], 0)[0]:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:
            break
    return True


def _wait_exit(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"envctl did not exit within {timeout:g}s of its terminal closing")


def test_sighup_is_left_alone_under_nohup(tmp_path: Path, aws: str) -> None:
    local_env(tmp_path, {"slow": ([], "sleep 1\n")})
    proc = subprocess.Popen(["nohup", sys.executable, "-m", "envctl", "--root", str(tmp_path), "up", "demo"],
                            env=process_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_for(lambda: started(tmp_path) == ["slow"], what="slow started")
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    assert states(tmp_path) == {"slow": "up"}


def test_kill_9_of_envctl_takes_its_scripts_with_it(tmp_path: Path, aws: str) -> None:
    local_env(tmp_path, {"one": ([], HOLD), "two": ([], HOLD), "three": (["one"], "")})
    proc = start(tmp_path, "up", "demo")
    wait_for(lambda: len(pids(tmp_path / "pids/one")) == 2 and len(pids(tmp_path / "pids/two")) == 2,
             what="both scripts running")
    scripts = pids(tmp_path / "pids/one") + pids(tmp_path / "pids/two")
    proc.kill()
    proc.communicate(timeout=10)
    wait_for(lambda: not any(alive(p) for p in scripts), timeout=10, what="the scripts of a killed envctl gone")
    assert "three" not in started(tmp_path)


# ---------------------------------------------------------------- the team lock taken away


@pytest.fixture
def team(aws: str, tmp_path: Path) -> Path:
    """Environment ``test`` with team state in the sandbox's S3 and DynamoDB; ``network``'s install waits for
    a gate that never opens, ``app`` depends on it."""
    root = tmp_path / "laptop"
    (tmp_path / "pids").mkdir()
    make_env(root, "test", f"""
        name: test
        region: us-east-1
        aws: {{target: account, account_id: "123456789012"}}
        vars: {{PIDS: {tmp_path / 'pids'}, TRACE: {tmp_path / 'trace.log'}}}
        state: {{backend: s3, bucket: {BUCKET}, prefix: envctl/, region: us-east-1, lock_table: {TABLE},
                 lock_ttl: 2s}}
        components:
          network: {{}}
          app: {{depends_on: [network]}}
        """, {"network": {"install-network.sh": 'echo network >> "$TRACE"\n' + HOLD,
                          "delete-network.sh": "echo deleted\n"},
              "app": {"install-app.sh": 'echo app >> "$TRACE"\n', "delete-app.sh": "echo deleted\n"}})
    result = run_cli("state", "init", "test", root=root)
    assert result.exit_code == 0, result.output
    return root


def _delete(ddb: object) -> None:
    ddb.delete_item(TableName=TABLE, Key={"LockID": {"S": LOCK_ID}})  # type: ignore[attr-defined]


def _take_over(ddb: object) -> None:
    ddb.put_item(TableName=TABLE, Item={  # type: ignore[attr-defined]
        "LockID": {"S": LOCK_ID}, "token": {"S": "someone-else"}, "expires": {"N": str(time.time() + 3600)},
        "pid": {"N": "4242"}, "host": {"S": "other-laptop"}, "user": {"S": "alice"},
        "command": {"S": "envctl down test"}, "since": {"S": "2026-01-01T00:00:00+00:00"}})


@pytest.mark.parametrize(("take", "said"), [
    (_delete, "the lock on 'test' was removed while this run held it (broken with 'envctl unlock test'"),
    (_take_over, "the lock on 'test' was taken over by pid 4242 on other-laptop"),
])
def test_a_run_that_loses_its_lock_starts_nothing_more_and_exits_3(team: Path, tmp_path: Path,
                                                                  take: Callable[[object], None],
                                                                  said: str) -> None:
    ddb = boto3.client("dynamodb")
    proc = start(team, "up", "test")
    wait_for(lambda: len(pids(tmp_path / "pids/network")) == 2, what="network running")
    assert "Item" in ddb.get_item(TableName=TABLE, Key={"LockID": {"S": LOCK_ID}})
    scripts = pids(tmp_path / "pids/network")
    take(ddb)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out + err
    assert said in out + err
    assert "lock lost" in out
    assert not any(alive(p) for p in scripts)
    trace = (tmp_path / "trace.log").read_text().split()
    assert trace == ["network"]  # app never started
    run = last_run(team, "test")
    assert run["result"] == "lock_lost"
    assert [(s["component"], s["result"]) for s in run["steps"]] == [("network", "interrupted")]
    kept = team / ".envctl" / "runs" / run["run_id"] / "state.json"
    assert json.loads(kept.read_text())["components"]["network"]["state"] == "install_failed"


# ---------------------------------------------------------------- a fault in envctl itself


def test_a_fault_in_envctl_inside_a_step_ends_the_run_as_error(tmp_path: Path, aws: str) -> None:
    # app's output file is a directory by the time envctl reads it: envctl itself fails in app's step
    broken = 'echo "URL=http://app" >> "$ENVCTL_OUTPUT"\nrm "$ENVCTL_OUTPUT"\nmkdir "$ENVCTL_OUTPUT"\n'
    local_env(tmp_path, {"app": ([], broken), "web": (["app"], ""), "side": ([], "sleep 1\n")})
    proc = start(tmp_path, "up", "demo")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, out + err
    assert "envctl itself failed in the install step of 'app': IsADirectoryError" in err
    assert "rerun with --debug" in err
    assert "Traceback" not in err
    run = last_run(tmp_path, "demo")
    assert run["result"] == "error"
    assert {s["component"]: s["result"] for s in run["steps"]} == {"app": "error", "side": "ok"}
    assert "web" not in started(tmp_path)
    assert states(tmp_path) == {"app": "install_failed", "web": "down", "side": "up"}  # saved

    debug = start(tmp_path, "--debug", "up", "demo")
    _out, err = debug.communicate(timeout=60)  # the lock was released: this run goes, and fails the same way
    assert debug.returncode == 1
    assert "Traceback" in err and "IsADirectoryError" in err
    assert last_run(tmp_path, "demo")["result"] == "error"
