"""The embedded AWS sandbox: moto's server as a background process on 127.0.0.1.

One server outlives single envctl commands and ends only with :func:`stop`. Its port is
``ENVCTL_SANDBOX_PORT``, else :data:`DEFAULT_PORT`. A moto server already answering on that port is adopted
instead of started again, which is how several project roots (and a test session) share one sandbox.
``<root>/.envctl/sandbox.json`` records what this root started or adopted; the server's log is
``<root>/.envctl/sandbox.log``.

The sandbox keeps everything in memory: a restart or a reset (``POST /moto-api/reset``) wipes every resource.
:func:`identity` changes on both, so an environment that went up on an earlier sandbox is reported as gone
(:func:`check_environment_alive`) instead of pretending.

Nothing here imports boto3 or moto: a status check must stay cheap.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import envctl
from envctl.aws import loopback
from envctl.aws.sandbox_server import INFO_PATH
from envctl.aws.shim import endpoint_env
from envctl.config.durations import now_iso
from envctl.config.paths import atomic_write_json, read_json, state_dir
from envctl.errors import SandboxError

PORT_ENV = "ENVCTL_SANDBOX_PORT"
# Away from moto's own 5000 (macOS AirPlay) and LocalStack's 4566, so neither is adopted or hit by mistake.
DEFAULT_PORT = 4599
HOST = "127.0.0.1"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
MARKER_PARAMETER = "/envctl/sandbox-id"


@dataclass(frozen=True)
class SandboxInfo:
    """A running sandbox. ``pid`` is None for a moto server envctl did not start (it cannot stop that one)."""

    pid: int | None
    port: int
    endpoint: str
    started: str | None
    identity: str | None

    def to_json(self) -> dict[str, Any]:
        return {"running": True, **asdict(self)}


# ---------------------------------------------------------------- public surface


def configured_port(port: int | None = None) -> int:
    """The port to use: ``port`` if given, else ``ENVCTL_SANDBOX_PORT``, else :data:`DEFAULT_PORT`."""
    if port is not None:
        return _valid_port(port, "the requested port")
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        return _valid_port(int(raw), PORT_ENV)
    except ValueError:
        raise SandboxError(f"{PORT_ENV}={raw!r} is not a port number",
                           hint=f"set {PORT_ENV} to a free TCP port between 1024 and 65535") from None


# root -> (when asked, the thread asking, its answer once it has one)
_looks: dict[Path, tuple[float, threading.Thread, list[SandboxInfo | None]]] = {}
_LOOK_FRESH_SECONDS = 2.0


def look_ahead(root: Path) -> None:
    """Start asking, on a thread, whether the sandbox of a root that has used one runs.

    A sandbox idle for a while takes tens of milliseconds to answer its first request. A command that will
    ask (``up``, ``down``, ``sleep`` ...) calls this first thing, and the answer comes while it loads and
    checks the environment. The next :func:`status` of the root takes it if it is at most two seconds old.
    A root that never used a sandbox is not asked about one.
    """
    pending = _looks.get(root)
    if pending is not None and time.monotonic() - pending[0] <= _LOOK_FRESH_SECONDS:
        return  # asked just now
    if not _record_path(root).is_file():
        return
    answer: list[SandboxInfo | None] = []
    thread = threading.Thread(target=lambda: answer.append(_status(root)), name="envctl-sandbox-look",
                              daemon=True)
    _looks[root] = (time.monotonic(), thread, answer)
    thread.start()


def status(root: Path) -> SandboxInfo | None:
    """The sandbox this root uses, if one answers: the recorded one first, then the configured port."""
    look = _looks.pop(root, None)
    if look is not None:
        asked, thread, answer = look
        thread.join()
        if answer and time.monotonic() - asked <= _LOOK_FRESH_SECONDS:
            return answer[0]
    return _status(root)


def _status(root: Path) -> SandboxInfo | None:
    record = _read_record(root)
    ports: list[int] = []
    if record and isinstance(record.get("port"), int):
        ports.append(record["port"])
    port = configured_port()
    if port not in ports:
        ports.append(port)
    for candidate in ports:
        info = _probe(candidate)
        if info is not None:
            return info
    return None


def start(root: Path, *, port: int | None = None, running: SandboxInfo | None = None) -> SandboxInfo:
    """Start the sandbox (or adopt the moto server already on the port) and record it for this root.

    ``running``: what :func:`status` just found (a caller that probed already), so it is not probed again.
    """
    if port is None:
        running = running or status(root)
        if running is not None:
            _write_record(root, running)
            return running
    port = configured_port(port)
    if not _port_in_use(port):
        info = _launch(root, port)
    else:
        found = _probe(port)
        if found is None:
            raise SandboxError(
                f"port {port} on {HOST} is in use by something that is not a moto server, so the sandbox "
                "cannot start there",
                hint=f"free the port, or choose another one with {PORT_ENV}=<port>")
        info = found
    _write_record(root, info)
    return info


def ensure_running(root: Path, *, running: SandboxInfo | None = None) -> SandboxInfo:
    """The running sandbox, started (or adopted) if needed and recorded for this root.

    What every command on a ``target: sandbox`` environment calls; ``running`` as for :func:`start`.
    """
    return start(root, running=running)


def stop(root: Path) -> bool:
    """Stop the sandbox this root uses. True if a server was stopped, False if none was running."""
    info = status(root)
    record_file = _record_path(root)
    if info is None:
        record_file.unlink(missing_ok=True)
        return False
    if info.pid is None:
        raise SandboxError(
            f"the moto server on port {info.port} was not started by envctl, so envctl does not stop it",
            hint="stop it where it was started")
    _terminate(info.pid, info.port)
    record_file.unlink(missing_ok=True)
    return True


def identity(endpoint: str) -> str | None:
    """A token that changes whenever the server at ``endpoint`` restarts or is reset; None if unreachable.

    envctl's own server answers it directly (boot id + reset count). A foreign moto server gets a marker
    SSM parameter holding a uuid, created when missing: a reset wipes it, so the identity changes.
    """
    data = _get_json(endpoint + INFO_PATH)
    if isinstance(data, dict) and "boot_id" in data:
        return f"{data['boot_id']}.{data.get('generation', 0)}"
    return _marker_identity(endpoint)


def check_environment_alive(root: Path, recorded_identity: str | None, *, env: str = "ENV") -> str | None:
    """A message if the sandbox an environment went up on is gone (stopped, restarted or reset), else None.

    ``recorded_identity`` is the :attr:`SandboxInfo.identity` stored when the environment went up. This never
    starts the sandbox.
    """
    if not recorded_identity:
        return None
    again = f"Run `envctl up {env}` to recreate them."
    info = status(root)
    if info is None:
        return ("the sandbox is not running (it stopped since this environment went up); its resources are "
                f"gone. {again}")
    if identity(info.endpoint) != recorded_identity:
        return f"the sandbox was restarted since this environment went up; its resources are gone. {again}"
    return None


def script_env(info: SandboxInfo, root: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a script run against the sandbox: ``base`` (default ``os.environ``) pointed at it.

    Dummy credentials replace any real ones; see :func:`envctl.aws.shim.endpoint_env`.
    """
    return endpoint_env(info.endpoint, root, base, credentials=("testing", "testing"))


# ---------------------------------------------------------------- internals


def _valid_port(port: int, source: str) -> int:
    if not 1 <= port <= 65535:
        raise SandboxError(f"{source}: {port} is not a TCP port",
                           hint=f"set {PORT_ENV} to a free TCP port between 1024 and 65535")
    return port


def _endpoint(port: int) -> str:
    return f"http://{HOST}:{port}"


def _record_path(root: Path) -> Path:
    return state_dir(root) / "sandbox.json"


def _read_record(root: Path) -> dict[str, Any] | None:
    path = root / ".envctl" / "sandbox.json"
    try:
        data = read_json(path)
    except Exception:  # a torn or foreign file is only a hint; the server itself is the truth
        return None
    return data if isinstance(data, dict) else None


def _write_record(root: Path, info: SandboxInfo) -> None:
    record = {"pid": info.pid, "port": info.port, "endpoint": info.endpoint, "started": info.started,
              "identity": info.identity}
    if _read_record(root) != record:  # every command adopts the running server: rewrite only what changed
        atomic_write_json(_record_path(root), record)


def _get_json(url: str) -> Any:
    got = loopback.request(url)
    if got is None or got[0] != 200:
        return None
    try:
        return json.loads(got[1])
    except ValueError:
        return None


def _probe(port: int) -> SandboxInfo | None:
    """The sandbox answering on ``port``: envctl's own server, or any moto server; None if neither."""
    endpoint = _endpoint(port)
    own = _own_info(port)
    if own is not None:
        return own
    got = loopback.request(endpoint + "/moto-api/")
    if got is not None and got[0] == 200 and b"moto" in got[1].lower():
        return SandboxInfo(pid=None, port=port, endpoint=endpoint, started=None,
                           identity=_marker_identity(endpoint))
    return None


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def _launch(root: Path, port: int) -> SandboxInfo:
    folder = state_dir(root)
    log_path = folder / "sandbox.log"
    pid_file = folder / "sandbox.pid"
    pid_file.unlink(missing_ok=True)
    env = dict(os.environ)
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # AWS-managed policies (AmazonEKSClusterPolicy) attach
    env["MOTO_PORT"] = str(port)
    package_parent = str(Path(envctl.__file__).resolve().parent.parent)  # the same envctl, installed or not
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH", "")) if p)
    argv = [sys.executable, "-m", "envctl.aws.sandbox_server", "--host", HOST, "--port", str(port),
            "--pid-file", str(pid_file), "--started", now_iso()]
    with open(log_path, "ab") as log:
        log.write(f"--- {now_iso()} envctl sandbox start on {HOST}:{port}\n".encode())
        log.flush()
        # A daemon by design: its own session so a Ctrl-C in the terminal does not reach it.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                cwd=folder, env=env, start_new_session=True, close_fds=True)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        info = _own_info(port)
        if info is not None and info.pid == proc.pid:
            return info
        if proc.poll() is not None:
            # Another envctl may have started one on this port a moment earlier: use that one.
            other = _probe(port)
            if other is not None:
                return other
            raise SandboxError(f"the sandbox on port {port} exited at start (exit code {proc.returncode}): "
                               f"{_log_tail(log_path)}",
                               hint=f"see {log_path}; choose another port with {PORT_ENV}=<port>")
        time.sleep(0.05)
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(5)
    raise SandboxError(f"the sandbox on port {port} did not answer within {READY_TIMEOUT:.0f} s",
                       hint=f"see {log_path}")


def _own_info(port: int) -> SandboxInfo | None:
    """The sandbox on ``port`` if it is envctl's own server (it answers :data:`INFO_PATH`)."""
    data = _get_json(_endpoint(port) + INFO_PATH)
    if not isinstance(data, dict) or "boot_id" not in data or not isinstance(data.get("pid"), int):
        return None
    return SandboxInfo(pid=data["pid"], port=port, endpoint=_endpoint(port),
                       started=data.get("started") or None,
                       identity=f"{data['boot_id']}.{data.get('generation', 0)}")


def _log_tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(tail) or "(empty log)"


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child (tests): reap it so it does not linger
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _terminate(pid: int, port: int) -> None:
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)
    raise SandboxError(f"the sandbox (pid {pid}, port {port}) did not stop", hint=f"kill {pid} by hand")


def _marker_identity(endpoint: str) -> str | None:
    """The uuid in the SSM parameter :data:`MARKER_PARAMETER`, created if missing (plain HTTP, no boto3)."""
    got = _ssm(endpoint, "GetParameter", {"Name": MARKER_PARAMETER})
    if got is not None and "Parameter" in got:
        return str(got["Parameter"]["Value"])
    _ssm(endpoint, "PutParameter", {"Name": MARKER_PARAMETER, "Value": uuid.uuid4().hex, "Type": "String",
                                    "Overwrite": False})
    got = _ssm(endpoint, "GetParameter", {"Name": MARKER_PARAMETER})  # a concurrent creator may have won
    return str(got["Parameter"]["Value"]) if got and "Parameter" in got else None


def _ssm(endpoint: str, action: str, body: dict[str, Any]) -> dict[str, Any] | None:
    # moto routes by the credential scope of the Authorization header and checks no signature.
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AmazonSSM.{action}",
               "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ssm/aws4_request, "
                                "SignedHeaders=host, Signature=0"}
    got = loopback.request(endpoint + "/", method="POST", body=json.dumps(body).encode(), headers=headers,
                           timeout=5)
    if got is None or got[0] != 200:
        return None
    try:
        data = json.loads(got[1] or b"{}")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
