"""The sandbox's server process: moto's server on 127.0.0.1, with a small envctl endpoint in front.

Run as ``python -m envctl.aws.sandbox_server --port P --pid-file F``. The process writes its own pid: a shell
or a wrapper in between would report its own pid, and killing that one would leave the server running.

``GET /envctl-sandbox`` answers ``{"pid", "port", "started", "boot_id", "generation"}``. ``boot_id`` is new
at every start and ``generation`` counts the resets through ``POST /moto-api/reset``, so together they tell
whether the resources an environment made are still there.

In front of moto sits the sandbox's CloudTrail (:mod:`envctl.aws.cloudtrail_recorder`): every write it serves is
kept as a management event and ``cloudtrail:LookupEvents`` answers from them; a reset wipes them with the
resources. The info endpoint says ``"cloudtrail": true``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

INFO_PATH = "/envctl-sandbox"
RESET_PATH = "/moto-api/reset"

StartResponse = Callable[..., Any]


class _SandboxApp:
    """WSGI middleware: answers INFO_PATH itself, counts resets, hands everything else to moto."""

    def __init__(self, inner: Callable[[dict[str, Any], StartResponse], Iterable[bytes]], *, port: int,
                 started: str, on_reset: Callable[[], None] | None = None) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._generation = 0
        self._on_reset = on_reset
        self._info = {"pid": os.getpid(), "port": port, "started": started, "boot_id": uuid.uuid4().hex,
                      "cloudtrail": on_reset is not None}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == INFO_PATH:
            with self._lock:
                body = json.dumps({**self._info, "generation": self._generation}).encode()
            start_response("200 OK", [("Content-Type", "application/json"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        if path.rstrip("/") == RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
            # Counted before the reset runs: a reader never sees the old identity on a wiped sandbox.
            with self._lock:
                self._generation += 1
            if self._on_reset is not None:
                self._on_reset()
        return self._inner(environ, start_response)


def _exit(signum: int, frame: Any) -> None:
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    import argparse  # here: every command imports this module for INFO_PATH, only the server parses arguments

    parser = argparse.ArgumentParser(prog="envctl.aws.sandbox_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid-file", type=Path, required=True)
    parser.add_argument("--started", default="")
    args = parser.parse_args(argv)

    # moto builds some URLs (SQS queue URLs) from MOTO_PORT.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    tmp = args.pid_file.with_name(args.pid_file.name + ".tmp")
    tmp.write_text(f"{os.getpid()}\n")
    os.replace(tmp, args.pid_file)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGINT, _exit)

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple

    from envctl.aws.cloudtrail_recorder import CloudTrailRecorder

    # One line per request would grow the log without bound over a long-lived sandbox; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"envctl sandbox (moto) pid {os.getpid()} listening on http://{args.host}:{args.port}", flush=True)
    from envctl.aws import sandbox_eks

    sandbox_eks.install()  # EKS nodegroups take tags, as on AWS
    recorder = CloudTrailRecorder(DomainDispatcherApplication(create_backend_app))
    app = _SandboxApp(recorder, port=args.port, started=args.started, on_reset=recorder.clear)
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
