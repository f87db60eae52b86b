"""state: what envctl remembers about environments, and the only writer of it.

Owns: the model (``model``), local files and the flock lock (``local``), team state on S3 (``s3``) with its
DynamoDB lock (``lock``), choosing a backend (``backends``), init/migrate/unlock (``admin``), the run history
(``history``).
May import: ``aws``, ``config``, ``errors``.
"""
