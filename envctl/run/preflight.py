"""Checks that run before any command that mutates: lint, the review gate, the account guard.

:func:`run` goes first, before the sandbox is started or anything is locked. Once the target is prepared,
``envctl.aws.target.prepare`` checks that a sandbox environment's scripts can reach nothing but a loopback
endpoint.
"""

from __future__ import annotations

from envctl.config.model import Environment


def run(env: Environment, command: str) -> list[str]:
    """Raise a RefusedError (exit 2, nothing run) on a violation; return warnings to show."""
    from envctl.aws.guard import check_account
    from envctl.safety.lint import require_lint_clean
    from envctl.safety.review import check_review

    findings = require_lint_clean(env, teardown=command == "down")
    warnings = [f"lint: {finding.render(env.root)}" for finding in findings]
    check_review(env)
    if env.aws.target == "account":
        check_account(env)
    elif env.aws.endpoint_url:
        check_account(env, sandbox_endpoint=env.aws.endpoint_url)
    return warnings

