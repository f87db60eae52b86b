"""Checks that run before any command that mutates: lint, the review gate, the account guard."""

from __future__ import annotations

from envctl.registry import Environment


def run(env: Environment, command: str) -> list[str]:
    """Raise a RefusedError (exit 2, nothing run) on a violation; return warnings to show."""
    return []
