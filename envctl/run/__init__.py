"""run: brings an environment's scripts to bear, in dependency order.

Owns: the engine (one run over the graph, under the lock, state saved after each step), the one seam commands
add behaviour through (``hooks``), what a run takes and returns (``results``), the scheduler and the one
subprocess wrapper (``runner``), a script's environment and outputs (``scriptenv``), secret masking
(``redact``), the checks before anything mutates (``preflight``), the up/down/update entry (``lifecycle``), the
status of an environment's components (``status``), and lock waiting, signals and the state writer
(``support``).
May import: ``safety``, ``state``, ``aws``, ``config``, ``errors``. The only package that starts scripts.
"""
