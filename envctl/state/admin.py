"""Setting up team state: create its bucket and lock table, move local state into it, break a lock.

The bucket is shared by every environment that names it, so it is tagged with the environment's own tags but
never with ``envctl:env``: otherwise the "$0 after teardown" check would count the state bucket as a leftover
of the environment that happened to create it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from envctl.errors import RefusedError, StateError, UsageError
from envctl.state.local import LocalBackend
from envctl.state.lock import aws_error_code, aws_errors
from envctl.state.model import EnvState, LockHolder
from envctl.state.s3 import S3Backend

PURPOSE_TAG = ("envctl:purpose", "state")


@dataclass(frozen=True)
class InitResult:
    bucket: str
    bucket_created: bool
    table: str
    table_created: bool
    region: str | None
    encryption: str  # "SSE-S3" (AES256)


@dataclass(frozen=True)
class MigrateResult:
    env: str
    destination: str            # s3://bucket/key of the state
    state_copied: bool
    runs_copied: int
    renamed: tuple[Path, ...]   # the local files, now with a ``.migrated`` suffix


def state_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """The environment's own tags without ``envctl:*``, plus ``envctl:purpose=state``."""
    kept = {k: v for k, v in tags.items() if not k.startswith("envctl:")}
    kept[PURPOSE_TAG[0]] = PURPOSE_TAG[1]
    return [{"Key": k, "Value": v} for k, v in kept.items()]


def init_remote(backend: S3Backend, tags: Mapping[str, str]) -> InitResult:
    """Create the state bucket (versioned, SSE-S3, public access blocked, tagged) and the lock table.

    Idempotent: what exists is kept (its settings are enforced again), and reported as existing.
    """
    tag_list = state_tags(tags)
    created = _ensure_bucket(backend, tag_list)
    table_created = _ensure_table(backend, tag_list)
    return InitResult(bucket=backend.bucket, bucket_created=created, table=backend.table,
                      table_created=table_created, region=backend.config.region, encryption="SSE-S3")


def _ensure_bucket(backend: S3Backend, tags: list[dict[str, str]]) -> bool:
    s3 = backend.client("s3")
    bucket = backend.bucket
    created = False
    try:
        s3.head_bucket(Bucket=bucket)
    except aws_errors() as err:
        code = aws_error_code(err)
        if code in ("403", "AccessDenied", "Forbidden"):
            raise StateError(f"bucket {bucket} exists but this account cannot use it",
                             hint="bucket names are global: choose another name in state: bucket") from None
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise backend._fail(f"cannot check bucket {bucket}", err) from None
        args: dict[str, Any] = {"Bucket": bucket}
        region = backend.config.region or s3.meta.region_name
        if region and region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**args)
        except aws_errors() as err2:
            if aws_error_code(err2) != "BucketAlreadyOwnedByYou":
                raise backend._fail(f"cannot create bucket {bucket}", err2) from None
        created = True
    try:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        # CreateBucketConfiguration.Tags is ignored by some S3 implementations: tag in a call of its own.
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
    except aws_errors() as err:
        raise backend._fail(f"cannot configure bucket {bucket}", err) from None
    return created


def _ensure_table(backend: S3Backend, tags: list[dict[str, str]]) -> bool:
    ddb = backend.client("dynamodb")
    table = backend.table
    try:
        described = ddb.describe_table(TableName=table)["Table"]
    except aws_errors() as err:
        if aws_error_code(err) != "ResourceNotFoundException":
            raise backend._fail(f"cannot check DynamoDB table {table}", err) from None
    else:
        keys = [(k["AttributeName"], k["KeyType"]) for k in described.get("KeySchema", [])]
        if keys != [("LockID", "HASH")]:
            raise StateError(f"DynamoDB table {table} exists with key {keys}, not a 'LockID' hash key",
                             hint="name another table in state: lock_table")
        return False
    try:
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", Tags=tags,
                         AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
        ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 2, "MaxAttempts": 60})
    except aws_errors() as err:
        if aws_error_code(err) == "ResourceInUseException":
            return False  # created by someone else meanwhile
        raise backend._fail(f"cannot create DynamoDB table {table}", err) from None
    return True


def migrate_to_remote(root: Path, env: str, remote: S3Backend, *, force: bool = False) -> MigrateResult:
    """Copy the local state and history of ``env`` into ``remote``, check the copy, rename the local files.

    Both locks are held meanwhile, so no run changes either side. The local files stay, renamed with a
    ``.migrated`` suffix (never read again, kept for a manual rollback).
    """
    local = LocalBackend(root)
    holder = LockHolder.current(f"state migrate {env}")
    with local.lock(env, holder), remote.lock(env, holder):
        state = local.load(env)
        runs = local.runs(env)
        if not state.exists and not runs:
            raise UsageError(f"no local state or history for '{env}' under {local.base}: nothing to migrate")
        if state.exists and remote.has_state(env) and not force:
            raise RefusedError(f"{remote.where(env)} already holds state for '{env}'; not overwriting it",
                               hint="--force replaces it (the bucket keeps the old version)")
        if state.exists:
            remote._etags.pop(env, None)  # an intended overwrite (checked above): write unconditionally
            remote.put_state(state)
        for record in runs:
            remote.append_run(record)
        _check_copy(env, state, runs, remote)
        renamed = _rename_local(local, env)
    return MigrateResult(env=env, destination=remote.where(env), state_copied=state.exists,
                         runs_copied=len(runs), renamed=renamed)


def _check_copy(env: str, state: EnvState, runs: list[dict[str, Any]], remote: S3Backend) -> None:
    if state.exists and remote.load(env).to_dict() != state.to_dict():
        raise StateError(f"the state copied to {remote.where(env)} reads back different; local state kept")
    copied = {r["run_id"]: r for r in remote.runs(env)}
    missing = [r["run_id"] for r in runs if copied.get(r["run_id"]) != r]
    if missing:
        raise StateError(f"runs {', '.join(missing)} did not read back from S3; local history kept")


def _rename_local(local: LocalBackend, env: str) -> tuple[Path, ...]:
    renamed = []
    for path in (local.state_path(env), local.base / "history" / f"{env}.jsonl"):
        if path.exists():
            target = path.with_name(path.name + ".migrated")
            os.replace(path, target)
            renamed.append(target)
    return tuple(renamed)
