"""sleep: scale an environment to what it must keep overnight, and back exactly.

Owns: the sleep/wake runs (``orchestrate``), the built-in targets (``builtins`` over ``targets``: nodegroups,
autoscaling groups, RDS and EC2), what sleep saves (``savings``), ``status`` with its prices (``status``).
May import: ``schedule``, ``teardown``, ``inventory``, ``run``, ``safety``, ``state``, ``aws``, ``config``,
``errors``.
"""
