"""envctl: ephemeral AWS environments as reviewed script pairs."""

__version__ = "0.1.0"
