"""The embedded sandbox: start, adopt, identify, stop, and the aws shim scripts run through."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from envctl.aws import sandbox
from tests.conftest import _free_port, run_cli, run_cli_process

pytestmark = pytest.mark.sandbox


def _root(tmp_path: Path) -> Path:
    (tmp_path / "environments").mkdir(parents=True, exist_ok=True)
    return tmp_path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def _reset(endpoint: str) -> None:
    req = urllib.request.Request(endpoint + "/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()


def test_start_status_stop_through_the_cli(tmp_path: Path) -> None:
    root = _root(tmp_path)
    port = _free_port()
    env = {sandbox.PORT_ENV: str(port)}

    stopped = run_cli("sandbox", "status", "--json", root=root, env=env)
    assert stopped.exit_code == 0 and json.loads(stopped.stdout) == {"running": False}

    # Started by one envctl process, the sandbox outlives it.
    started = run_cli_process("sandbox", "start", root=root, env=env)
    assert started.returncode == 0, started.stderr
    assert f"http://127.0.0.1:{port}" in started.stdout

    status = run_cli("sandbox", "status", "--json", root=root, env=env)
    assert status.exit_code == 0
    shown = json.loads(status.stdout)
    assert shown["running"] is True
    assert shown["endpoint"] == f"http://127.0.0.1:{port}" and shown["port"] == port
    assert shown["started"]
    pid = shown["pid"]
    assert _alive(pid)
    record = json.loads((root / ".envctl" / "sandbox.json").read_text())
    assert record["pid"] == pid and record["port"] == port
    assert (root / ".envctl" / "sandbox.log").exists()

    again = run_cli("sandbox", "start", root=root, env=env)
    assert again.exit_code == 0 and "already running" in again.stdout

    stop = run_cli_process("sandbox", "stop", root=root, env=env)
    assert stop.returncode == 0, stop.stderr
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)
    assert json.loads(run_cli("sandbox", "status", "--json", root=root, env=env).stdout) == {"running": False}
    assert run_cli("sandbox", "stop", root=root, env=env).exit_code == 0


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port held by an HTTP server that is not moto."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_port_in_use_by_something_else_is_a_clear_error(tmp_path: Path, busy_port: int) -> None:
    began = time.monotonic()
    result = run_cli("sandbox", "start", root=_root(tmp_path), env={sandbox.PORT_ENV: str(busy_port)})
    assert time.monotonic() - began < 10
    assert result.exit_code == 2
    assert str(busy_port) in result.stderr and "ENVCTL_SANDBOX_PORT" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / ".envctl" / "sandbox.json").exists()


def test_a_bad_port_variable_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("sandbox", "start", root=_root(tmp_path), env={sandbox.PORT_ENV: "http"})
    assert result.exit_code == 2 and "ENVCTL_SANDBOX_PORT" in result.stderr


def test_another_root_adopts_the_running_sandbox(tmp_path: Path, sandbox_endpoint: str) -> None:
    session = sandbox.status(_root(tmp_path / "a"))
    assert session is not None and session.endpoint == sandbox_endpoint

    result = run_cli("sandbox", "start", root=_root(tmp_path / "b"))
    assert result.exit_code == 0 and "already running" in result.stdout
    adopted = sandbox.ensure_running(tmp_path / "b")
    assert (adopted.pid, adopted.endpoint) == (session.pid, sandbox_endpoint)
    assert json.loads((tmp_path / "b" / ".envctl" / "sandbox.json").read_text())["pid"] == session.pid


def test_identity_changes_when_the_sandbox_is_reset(tmp_path: Path, aws: str) -> None:
    root = _root(tmp_path)
    info = sandbox.ensure_running(root)
    first = sandbox.identity(aws)
    assert first and first == info.identity == sandbox.identity(aws)
    assert sandbox.check_environment_alive(root, first, env="test") is None

    _reset(aws)
    second = sandbox.identity(aws)
    assert second and second != first
    message = sandbox.check_environment_alive(root, first, env="test")
    assert message and "restarted" in message and "envctl up test" in message
    assert sandbox.check_environment_alive(root, second, env="test") is None


def test_a_plain_moto_server_is_adopted_and_identified_but_not_stopped(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not _answers(endpoint):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        info = sandbox.start(_root(tmp_path), port=port)
        assert info.pid is None and info.endpoint == endpoint
        first = sandbox.identity(endpoint)
        assert first and first == sandbox.identity(endpoint)
        _reset(endpoint)
        assert sandbox.identity(endpoint) not in (None, first)
        result = run_cli("sandbox", "stop", root=tmp_path, env={sandbox.PORT_ENV: str(port)})
        assert result.exit_code == 2 and "not started by envctl" in result.stderr
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).read()
        return True
    except OSError:
        return False


def test_the_aws_shim_reaches_the_sandbox_for_rds_and_sqs(tmp_path: Path, aws: str) -> None:
    import boto3

    boto3.client("sqs").create_queue(QueueName="orders-events")
    boto3.client("rds").create_db_instance(DBInstanceIdentifier="orders", DBInstanceClass="db.t4g.micro",
                                           Engine="postgres", MasterUsername="orders",
                                           MasterUserPassword="not-a-real-one-1")
    root = _root(tmp_path)
    info = sandbox.ensure_running(root)
    # No activated virtualenv: only the system folders and the shim on PATH.
    base = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_PROFILE": "production"}
    env = sandbox.script_env(info, root, base=base)
    assert env["PATH"].split(os.pathsep)[0] == str(root / ".envctl" / "bin")
    assert "AWS_PROFILE" not in env and env["AWS_ENDPOINT_URL"] == aws

    def aws_cli(*args: str) -> str:
        done = subprocess.run(["aws", *args, "--output", "json"], env=env, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    dbs = json.loads(aws_cli("rds", "describe-db-instances"))["DBInstances"]
    assert [db["DBInstanceIdentifier"] for db in dbs] == ["orders"]
    queues = json.loads(aws_cli("sqs", "list-queues"))["QueueUrls"]
    assert any(url.endswith("/orders-events") for url in queues)
    # An explicit --endpoint-url is left alone (not passed twice).
    assert "orders" in aws_cli("--endpoint-url", aws, "rds", "describe-db-instances")


def test_an_environment_on_a_stopped_sandbox_is_reported_gone(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.PORT_ENV, str(_free_port()))
    message = sandbox.check_environment_alive(_root(tmp_path), "an-earlier-sandbox.0", env="test")
    assert message and "not running" in message and "envctl up test" in message
    assert sandbox.check_environment_alive(tmp_path, None) is None


class _Answering(http.server.BaseHTTPRequestHandler):
    """A server that answers the sandbox's info request with whatever boot id the test sets, and counts."""

    boot_id = "first"
    asked = 0

    def do_GET(self) -> None:
        type(self).asked += 1
        body = json.dumps({"pid": 4242, "port": self.server.server_address[1], "started": "",
                           "boot_id": type(self).boot_id, "generation": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_look_ahead_is_asked_once_and_never_answers_when_stale(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    _Answering.boot_id, _Answering.asked = "first", 0
    server = http.server.HTTPServer(("127.0.0.1", 0), _Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        root = _root(tmp_path)
        port = server.server_address[1]
        (root / ".envctl").mkdir()
        (root / ".envctl" / "sandbox.json").write_text(json.dumps({"pid": 4242, "port": port}))
        sandbox.look_ahead(root)
        info = sandbox.status(root)
        assert info is not None and info.identity == "first.0" and _Answering.asked == 1  # not asked twice

        sandbox.look_ahead(root)
        time.sleep(2.2)  # the server changed meanwhile: an answer that old is asked again
        _Answering.boot_id = "second"
        info = sandbox.status(root)
        assert info is not None and info.identity == "second.0" and _Answering.asked == 3

        monkeypatch.setenv(sandbox.PORT_ENV, str(port))  # where a root without a record would look
        sandbox.look_ahead(_root(tmp_path / "never-used-a-sandbox"))
        time.sleep(0.2)
        assert _Answering.asked == 3
    finally:
        server.shutdown()
        server.server_close()
