"""authoring: writing environments.

Owns: ``envctl new`` (``scaffold``: a script pair from templates, registered in env.yaml with its comments
kept) and ``envctl diff`` (``diff``: two environments side by side).
May import: ``run``, ``safety``, ``state``, ``aws``, ``config``, ``errors``.
"""
