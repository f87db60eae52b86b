"""safety: the rules that hold before anything runs.

Owns: lint (``lint`` for an environment, ``lint_rules`` for one script), reading shell scripts
(``shellparse``), the review gate (``review``: approved script hashes).
May import: ``state``, ``aws``, ``config``, ``errors``.
"""
