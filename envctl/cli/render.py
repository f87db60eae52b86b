"""The only place that prints: tables, JSON shapes of the contract, plain lines for logs."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def line(text: str = "", *, err: bool = False) -> None:
    typer.echo(text, err=err)


def warn(text: str) -> None:
    typer.echo(f"envctl: warning: {text}", err=True)


def is_terminal(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned table (readable in CI logs and on terminals alike)."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    out = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


def money(value: float | None, **how: Any) -> str:
    """The one way an amount is written (verify's: ``$0.0450`` an hour, ``$32.85`` a month, ``unknown``),
    loaded when a text is written, so that registering the commands stays light for ``--help``."""
    from envctl.teardown.report import money as formatted

    return formatted(value, **how)
