"""timeline: a run seen over time.

Owns: the analysis of a run record (``analysis``: bars, lanes, the critical path; the one definition the run
summary uses too) and its picture (``svg``: self-contained SVG and HTML).
May import: ``state``, ``config``, ``errors``.
"""
