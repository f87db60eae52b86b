"""safety: the rules that hold before anything runs.

Owns: lint (``lint`` for an environment, ``lint_rules`` for one script), reading shell scripts
(``shellparse``), the review gate (``review``: approved script hashes), and whether envctl runs inside an
AI coding agent's session (``agents``: the markers agents set, for the gate).
May import: ``state``, ``aws``, ``config``, ``errors``.
"""
