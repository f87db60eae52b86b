"""config: ``env.yaml`` -> frozen, validated ``Environment`` / ``Component`` objects.

Owns: the model (``model``), reading and checking env.yaml against declared tables (``load``), the dependency
graph and its orders (``graph``, the only networkx user, and only to name a cycle), durations and timestamps
(``durations``), the project root and envctl's own folder with its atomic files (``paths``).
May import: ``errors`` only. No AWS, no subprocess; every error names the file and the key.
"""
