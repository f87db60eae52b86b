"""provenance: who made each resource of an environment, and the IAM policies that keep it so.

Owns: the audit (reading CloudTrail and tracing each resource to the reviewed run that made it) and IAM
policy generation. Read-only: nothing here mutates AWS.
May import: ``teardown``, ``inventory``, ``run``, ``safety``, ``state``, ``aws``, ``config``, ``errors``.
"""
