"""Checks that run before any command that mutates: lint, the review gate (and inside an AI coding agent's
session, the approval of what the command runs), the account guard.

:func:`run` goes first, before the sandbox is started or anything is locked. Once the target is prepared,
``envctl.aws.target.prepare`` checks that a sandbox environment's scripts can reach nothing but a loopback
endpoint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from envctl.config.model import Environment


def run(env: Environment, command: str, *, only: Sequence[str] = (),
        environ: Mapping[str, str] | None = None) -> list[str]:
    """Raise a RefusedError (exit 2, nothing run) on a violation; return warnings to show.

    A teardown (``down``, and ``reap`` through it) is checked only for what it runs: the delete scripts of
    the components it tears down (``only`` and what depends on them) and the files they source (the review
    gate adds env.yaml, which gives them their account and vars). An install script nobody has approved or
    fixed yet must not keep a costly environment up. ``environ`` (default: envctl's own environment) tells
    whether this is an AI coding agent's session.

    The account check asks STS over the network: it runs on its own thread while lint and the review gate read
    the scripts, and the refusals come in the same order as before (agent session, lint, review, account).
    """
    from envctl.safety.agents import detect
    from envctl.safety.lint import require_lint_clean
    from envctl.safety.review import check_agent_session, check_review

    check_agent_session(env, command, detect(os.environ if environ is None else environ))
    teardown = None
    if command == "down":
        from envctl.config import graph

        teardown = graph.down_order(env.depends_on(), only)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="envctl-account") as pool:
        account = pool.submit(_check_account, env)
        findings = require_lint_clean(env, teardown=teardown)
        warnings = [f"lint: {finding.render(env.root)}" for finding in findings]
        check_review(env, teardown=teardown)
        account.result()
    return warnings


def _check_account(env: Environment) -> None:
    from envctl.aws.guard import check_account

    if env.aws.target == "account":
        check_account(env)
    elif env.aws.endpoint_url:
        check_account(env, sandbox_endpoint=env.aws.endpoint_url)
