"""envctl: ephemeral AWS environments as reviewed script pairs."""

__version__ = "0.1.0"

#: The distribution's name on a package index (pyproject.toml's [project] name). Not "envctl": that name on
#: the public index belongs to another project. The command stays ``envctl``.
DISTRIBUTION = "envctl-lifecycle"
