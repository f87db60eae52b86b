"""HTTP/1.0 to the sandbox server on this machine: a status line and a body, nothing else.

Every command that acts on a sandbox environment first asks whether its server runs. urllib would do, but
importing it (http.client, email, ssl) costs a start-up about 20-35 ms, which is a tenth of what an ``up``
spends before its first script. The sandbox is a loopback server envctl starts itself, so a plain socket
request is enough: HTTP/1.0, so the answer is never chunked and ends when the server closes the connection.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

_MAX_ANSWER = 16 << 20  # the sandbox's info and SSM answers are a few hundred bytes


def request(url: str, *, method: str = "GET", body: bytes = b"", headers: Mapping[str, str] | None = None,
            timeout: float = 1.5) -> tuple[int, bytes] | None:
    """(status, body) of ``url`` (``http://host:port/path``); None when nothing (valid) answers in time."""
    try:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            return None
        host, port = parts.hostname, parts.port or 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {path} HTTP/1.0", f"Host: {host}:{port}", f"Content-Length: {len(body)}",
                 *(f"{k}: {v}" for k, v in (headers or {}).items())]
        # the host as bytes: a str host makes getaddrinfo load the IDNA codec, for a loopback name
        with socket.create_connection((host.encode("ascii"), port), timeout=timeout) as sock:  # type: ignore[arg-type]
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            chunks, size = [], 0
            while size <= _MAX_ANSWER:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
                size += len(data)
    except (OSError, ValueError, UnicodeError):
        return None
    head, sep, payload = b"".join(chunks).partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if not sep or len(status) < 2 or not status[0].startswith(b"HTTP/") or not status[1].isdigit():
        return None
    return int(status[1]), payload
