"""aws: everything that talks to AWS or the sandbox, and nothing about what the talk is for.

Owns: the one client factory (``session``), the embedded sandbox (``sandbox`` manages moto's server,
``sandbox_server`` is that server), the ``aws`` shim that points the stock CLI at it (``shim``), the account
guard (``guard``) and the script environment of a target (``target``).
May import: ``config``, ``errors``.
"""
