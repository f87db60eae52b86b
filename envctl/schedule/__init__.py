"""schedule: when an environment sleeps, wakes and is torn down without a person.

Owns: cron expressions (``cron``), crontab entries (``crontab``), the GitHub Actions workflow (``github``),
``reap`` (tearing down what is past its ``down_after``).
May import: ``teardown``, ``inventory``, ``run``, ``safety``, ``state``, ``aws``, ``config``, ``errors``.
"""
