"""Checks that run before any command that mutates: lint, the review gate, the account guard.

:func:`run` goes first, before the sandbox is started or anything is locked. Once the target is prepared,
``envctl.aws.target.prepare`` checks that a sandbox environment's scripts can reach nothing but a loopback
endpoint.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from envctl.config.model import Environment


def run(env: Environment, command: str) -> list[str]:
    """Raise a RefusedError (exit 2, nothing run) on a violation; return warnings to show.

    The account check asks STS over the network: it runs on its own thread while lint and the review gate read
    the scripts, and the refusals come in the same order as before (lint, review, account).
    """
    from envctl.safety.lint import require_lint_clean
    from envctl.safety.review import check_review

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="envctl-account") as pool:
        account = pool.submit(_check_account, env)
        findings = require_lint_clean(env, teardown=command == "down")
        warnings = [f"lint: {finding.render(env.root)}" for finding in findings]
        check_review(env)
        account.result()
    return warnings


def _check_account(env: Environment) -> None:
    from envctl.aws.guard import check_account

    if env.aws.target == "account":
        check_account(env)
    elif env.aws.endpoint_url:
        check_account(env, sandbox_endpoint=env.aws.endpoint_url)
