"""teardown: proving "$0 after teardown".

Owns: ``verify`` (what is left of an environment, from the inventory), the per-delete leak listing and the
``down`` command's run with it (``leaks``), the report and its verdict (``report``), prices (``pricing`` and
``envctl/data/prices.json``).
May import: ``inventory``, ``run``, ``safety``, ``state``, ``aws``, ``config``, ``errors``.
"""
