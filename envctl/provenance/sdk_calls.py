"""boto3 calls in a component's Python scripts, read well enough for the runner policy.

A client made with ``client("sqs", ...)`` (``boto3.client``, a session's ``client``), held in a name or used
at once, and the operations called on it: ``sqs.create_queue(QueueName=..., tags=...)``, its paginators and
waiters. Each becomes the :class:`CliCall` the same ``aws`` call would be, keyword arguments as options, so it
maps to IAM actions (and the actions it needs beside) exactly like a call in a shell script. Heuristics over
text, like the shell reading: the resource API (``boto3.resource``) and clients passed around are not followed,
and the runner policy says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from envctl.provenance.iam_actions import CliCall, has_operation

_CLIENT_CALL = r"(?:\b[\w.()]*\.)?client\(\s*(?:service_name\s*=\s*)?[\"']([\w-]+)[\"'][^()]*\)"
_NAMED_CLIENT = re.compile(r"\b([A-Za-z_]\w*)\s*=\s*" + _CLIENT_CALL)
_CHAINED = re.compile(_CLIENT_CALL + r"\s*\.\s*([a-z_][a-z0-9_]*)\s*\(")
_KWARG = re.compile(r"\b([A-Za-z_]\w*)\s*=(?!=)")
_FIRST_STRING = re.compile(r"\s*[\"']([a-z_][a-z0-9_]*)[\"']")


@dataclass(frozen=True)
class SdkRead:
    calls: list[tuple[int, CliCall]]   # (line, call)
    unread: list[tuple[int, str]]      # (line, why) for what uses AWS in a way this does not read


def is_python(name: str, text: str) -> bool:
    first = text.split("\n", 1)[0]
    return name.endswith(".py") or (first.startswith("#!") and "python" in first)


def read_sdk_calls(text: str) -> SdkRead:
    """The boto3 client calls in a Python script's ``text``."""
    calls: list[tuple[int, CliCall]] = []
    for match in _CHAINED.finditer(text):
        _add(calls, text, match.group(1), match.group(2), match.end())
    for client in _NAMED_CLIENT.finditer(text):
        name, service = client.group(1), client.group(2)
        for use in re.finditer(rf"\b{re.escape(name)}\s*\.\s*([a-z_][a-z0-9_]*)\s*\(", text):
            _add(calls, text, service, use.group(1), use.end())
    unread = [(_line(text, m.start()), "uses boto3's resource API, which is not read")
              for m in re.finditer(r"\.resource\(\s*[\"'][\w-]+[\"']", text)]
    if not calls and not unread and "boto3" in text:
        unread.append((1, "uses boto3 through no client(...) call envctl can follow"))
    return SdkRead(sorted(calls, key=lambda c: c[0]), unread)


def _add(calls: list[tuple[int, CliCall]], text: str, service: str, method: str, open_paren: int) -> None:
    args = _arguments(text, open_paren)
    line = _line(text, open_paren)
    if method in ("get_paginator", "get_waiter"):
        named = _FIRST_STRING.match(args)
        if named is None:
            return
        words = named.group(1).replace("_", "-")
        if method == "get_paginator":
            calls.append((line, CliCall(service, words, frozenset(), (), args)))
        else:
            calls.append((line, CliCall(service, "wait", frozenset(), (words,), args)))
        return
    operation = method.replace("_", "-")
    if not has_operation(service, operation):
        return  # close(), can_paginate(), meta...: not a request
    options = frozenset(_kebab(k) for k in _KWARG.findall(args))
    calls.append((line, CliCall(service, operation, options, (), args)))


def _arguments(text: str, open_paren: int) -> str:
    """The text between the ``(`` just before ``open_paren`` and its matching ``)``."""
    depth = 1
    for i in range(open_paren, min(len(text), open_paren + 20_000)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[open_paren:i]
    return text[open_paren:open_paren + 2_000]


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower().replace("_", "-")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1
