"""Team state: one S3 object per environment, its history beside it, and a DynamoDB run lock.

The same guarantees as the local backend, on storage a team shares:

- State is ``s3://<bucket>/<prefix><env>/state.json``. A single PutObject is atomic (S3 stores the whole body
  or nothing), so a ``kill -9`` mid-write leaves the previous state. The bucket is versioned, so every earlier
  state stays recoverable. A write made under the lock is conditional on the ETag this backend last read or
  wrote (``If-Match``, or ``If-None-Match: *`` for the first one): when the state changed in between and the
  lock is no longer ours (broken with ``unlock``, taken over after it expired), the write is refused instead
  of silently undoing the work of the run that holds the lock now.
- History is one object per run, ``<prefix><env>/history/<started>-<run_id>.json``, written when the run
  starts and rewritten when it ends; ``runs()`` lists and merges them.
- Every object is written with server-side encryption (SSE-S3, ``AES256``) asked for explicitly, not left to
  the bucket's default: the state holds the outputs scripts wrote, secrets among them.
- The lock is one DynamoDB item per environment, named after the state object (``<bucket>/<key>``, as
  Terraform names its own, so a team can share one table): see :mod:`envctl.state.lock`.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from envctl.config.durations import now_iso
from envctl.config.paths import PRIVATE_FILE, atomic_write_text, cache_file
from envctl.errors import ConfigError, StateError
from envctl.state.local import merge_run_records
from envctl.state.lock import DynamoLock, aws_error_code, aws_errors, expires_of, state_failure
from envctl.state.model import EnvState, LockHolder, StateEncoder

#: on every PutObject: the state and history are encrypted at rest whatever the bucket's default says
ENCRYPTED = {"ServerSideEncryption": "AES256"}

ClientFactory = Callable[[str, "str | None"], Any]
"""(service, region) -> a boto3 client."""


def boto3_client_factory() -> ClientFactory:
    """Plain boto3 clients with this process's defaults (AWS_PROFILE, AWS_ENDPOINT_URL, ...): the backend's
    default when it is not told which environment's target to use."""

    def make(service: str, region: str | None) -> Any:
        import boto3
        from botocore.config import Config

        # Few, quick retries: a state read should fail in seconds with a message, not hang for a minute.
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30)
        return boto3.session.Session().client(service, region_name=region, config=config)

    return make


def client_factory_for_env(env: Any, root: Path) -> ClientFactory:
    """Clients on the environment's own target (:mod:`envctl.aws.session`), built on first use.

    prod's state is read with prod's profile, not whatever credentials the shell has; a sandbox environment's
    state lives in the sandbox (started only when its state is first read). Without a ``state: region``, the
    environment's region.
    """
    made: list[Any] = []

    def make(service: str, region: str | None) -> Any:
        if not made:
            from envctl.aws.session import client_factory_for

            made.append(client_factory_for(env, root))
        return made[0](service, region or env.region)

    return make


class S3Backend:
    """:class:`envctl.state.StateBackend` on S3 (state, history) and DynamoDB (lock)."""

    def __init__(self, root: Path, config: Any, *, client_factory: ClientFactory | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        missing = [key for key in ("bucket", "lock_table") if not getattr(config, key, None)]
        if missing:
            raise ConfigError("env.yaml", f"state: backend s3 needs {' and '.join(missing)}",
                              key="state", hint="add them, then run 'envctl state init ENV'")
        self.root = root
        self.config = config
        self.bucket: str = config.bucket
        self.prefix: str = config.prefix or ""
        self.table: str = config.lock_table
        self.ttl = float(config.lock_ttl)
        self.clock = clock
        self._encoder = StateEncoder()
        self._factory = client_factory or boto3_client_factory()
        self._clients: dict[str, Any] = {}
        self._etags: dict[str, str | None] = {}  # env -> ETag last read or written (None: no object)
        self._lock = DynamoLock(lambda: self.client("dynamodb"), self.table, self.ttl, clock=clock)
        self._held: dict[str, str] = {}           # env -> token of the lock this backend holds
        self._lost: set[str] = set()              # envs whose lock was broken while this backend held it
        self._on_lost: dict[str, Callable[[str], None]] = {}  # env -> what to tell when its lock is lost

    # ---------------------------------------------------------------- plumbing

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._factory(service, self.config.region)
        return self._clients[service]

    def state_key(self, env: str) -> str:
        return f"{self.prefix}{env}/state.json"

    def history_key(self, record: dict[str, Any]) -> str:
        started = "".join(ch for ch in str(record.get("started") or "") if ch.isalnum() or ch == ".")
        return f"{self.prefix}{record['env']}/history/{started}-{record['run_id']}.json"

    def lock_id(self, env: str) -> str:
        return f"{self.bucket}/{self.state_key(env)}"

    def where(self, env: str) -> str:
        return f"s3://{self.bucket}/{self.state_key(env)}"

    def _fail(self, what: str, err: BaseException) -> StateError:
        return state_failure(what, err)

    # ---------------------------------------------------------------- state

    def load(self, env: str) -> EnvState:
        try:
            reply = self.client("s3").get_object(Bucket=self.bucket, Key=self.state_key(env))
            body = reply["Body"].read()
        except aws_errors() as err:
            if aws_error_code(err) in ("NoSuchKey", "404"):
                self._etags[env] = None
                return EnvState(env=env)
            raise self._fail(f"cannot read the state of '{env}' from {self.where(env)}", err) from None
        self._etags[env] = reply.get("ETag")
        try:
            data = json.loads(body)
        except ValueError as err:
            hint = "restore an earlier version of the object (the bucket is versioned)"
            raise StateError(f"{self.where(env)}: not valid JSON ({err})", hint=hint) from None
        return EnvState.from_dict(data, source=self.where(env))

    def save(self, state: EnvState, *, changed: Collection[str] | None = None) -> None:
        state.updated = now_iso()
        self.put_state(state, changed=changed)

    def put_state(self, state: EnvState, *, changed: Collection[str] | None = None) -> None:
        """Write ``state`` as it is (``updated`` untouched).

        While this backend holds the lock, the write is conditional on the ETag it last read or wrote. When
        that fails, someone wrote in between: if the lock is still ours, that was a writer inside this run
        (written over, as the local backend would); if the lock was broken, the write is refused so that
        this run does not undo the work of the run that now holds it.
        """
        env = state.env
        if env in self._lost:
            raise self._lost_error(env)
        body = (self._encoder.encode(state, changed) + "\n").encode()
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self.state_key(env), "Body": body,
                                "ContentType": "application/json", **ENCRYPTED}
        condition: dict[str, str] = {}
        if env in self._held and env in self._etags:
            known = self._etags[env]
            condition = {"IfNoneMatch": "*"} if known is None else {"IfMatch": str(known)}
        try:
            try:
                reply = self.client("s3").put_object(**args, **condition)
            except aws_errors() as err:
                if not condition or aws_error_code(err) not in ("PreconditionFailed", "412",
                                                                "ConditionalRequestConflict"):
                    raise
                if not self._still_ours(env):
                    self._lost.add(env)
                    self._on_lost.get(env, lambda _why: None)(self._lock.describe_loss(self.lock_id(env), env))
                    raise self._lost_error(env) from None
                reply = self.client("s3").put_object(**args)
        except aws_errors() as err:
            raise self._fail(f"cannot write the state of '{env}' to {self.where(env)}", err) from None
        self._etags[env] = reply.get("ETag")
        state.exists = True

    def _still_ours(self, env: str) -> bool:
        return self._lock.token(self.lock_id(env), env) == self._held.get(env)

    def _lost_error(self, env: str) -> StateError:
        return StateError(f"the lock of '{env}' was broken while this run held it; not writing its state to "
                          f"{self.where(env)} (another run may be changing the environment)",
                          hint="check 'envctl status' and 'envctl history', then run again")

    def has_state(self, env: str) -> bool:
        try:
            self.client("s3").head_object(Bucket=self.bucket, Key=self.state_key(env))
        except aws_errors() as err:
            if aws_error_code(err) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise self._fail(f"cannot read {self.where(env)}", err) from None
        return True

    # ---------------------------------------------------------------- history

    def append_run(self, record: dict[str, Any]) -> None:
        key = self.history_key(record)
        try:
            self.client("s3").put_object(Bucket=self.bucket, Key=key, ContentType="application/json",
                                         Body=json.dumps(record, separators=(",", ":")).encode(), **ENCRYPTED)
        except aws_errors() as err:
            what = f"cannot record run {record.get('run_id')} in s3://{self.bucket}/{key}"
            raise self._fail(what, err) from None

    def runs(self, env: str | None = None) -> list[dict[str, Any]]:
        """Every run record (of ``env``), merged. A record is read once: what was read is remembered by key
        and version (ETag, size, time) in ``.envctl/cache``, so after the first call a long history costs its
        listing and the records new or rewritten since (a closed run is never rewritten)."""
        prefix = f"{self.prefix}{env}/history/" if env else self.prefix
        listing = {key: version for key, version in self._list_versions(prefix) if self._is_history_key(key)}
        cache = cache_file(self.root, f"s3-history-{_digest(self.bucket + '/' + self.prefix)}.json")
        known = _read_cache(cache) if cache is not None else {}
        stale = [key for key, version in listing.items() if known.get(key, ("", ""))[0] != version]
        s3 = self.client("s3")

        def fetch(key: str) -> str:
            try:
                return str(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode())
            except aws_errors() as err:
                if aws_error_code(err) in ("NoSuchKey", "404"):
                    return ""  # deleted between the listing and the read
                raise self._fail(f"cannot read s3://{self.bucket}/{key}", err) from None

        with ThreadPoolExecutor(max_workers=16) as pool:
            fetched = dict(zip(stale, pool.map(fetch, stale), strict=True))
        bodies = {key: fetched[key] if key in fetched else known[key][1] for key in listing}
        if cache is not None and (stale or any(key.startswith(prefix) and key not in listing for key in known)):
            kept = {key: entry for key, entry in known.items() if not key.startswith(prefix)}
            _write_cache(cache, kept | {key: (listing[key], body) for key, body in bodies.items() if body})
        return merge_run_records(bodies.values())

    def _is_history_key(self, key: str) -> bool:
        parts = key[len(self.prefix):].split("/")
        return len(parts) == 3 and parts[1] == "history" and parts[2].endswith(".json")

    def _list_versions(self, prefix: str) -> list[tuple[str, str]]:
        """(key, version) of every object under ``prefix``; the version changes whenever the object does."""
        found: list[tuple[str, str]] = []
        try:
            paginator = self.client("s3").get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                found.extend((item["Key"], f"{item.get('ETag')}/{item.get('Size')}/{item.get('LastModified')}")
                             for item in page.get("Contents") or [])
        except aws_errors() as err:
            raise self._fail(f"cannot list s3://{self.bucket}/{prefix}", err) from None
        return found

    # ---------------------------------------------------------------- lock

    @contextlib.contextmanager
    def lock(self, env: str, holder: LockHolder, *,
             on_lost: Callable[[str], None] | None = None) -> Iterator[list[str]]:
        """Hold the run lock; ``on_lost(why)`` is called once if it is lost while held (see :mod:`.lock`)."""
        self._lost.discard(env)
        told: list[str] = []

        def lost(why: str) -> None:
            self._lost.add(env)
            if not told:
                told.append(why)
                if on_lost is not None:
                    on_lost(why)

        self._on_lost[env] = lost
        with self._lock.hold(self.lock_id(env), env, holder, on_lost=lost) as held:
            token, warnings = held
            self._held[env] = token
            try:
                yield warnings
            finally:
                self._held.pop(env, None)
                self._on_lost.pop(env, None)

    def read_lock(self, env: str) -> LockHolder | None:
        """Who holds the lock now; None when nobody does (an expired lock is held by nobody)."""
        return self._lock.holder(self.lock_id(env), env)

    def lock_expires(self, env: str) -> float | None:
        """When the lock expires unless renewed (epoch seconds), None when there is none."""
        item = self._lock.item(self.lock_id(env), env)
        return expires_of(item) if item else None

    def break_lock(self, env: str) -> None:
        self._lock.delete(self.lock_id(env), env)


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read_cache(path: Path) -> dict[str, tuple[str, str]]:
    """What an earlier ``runs()`` read (key -> (version, body)); nothing when there is no usable cache."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): (str(v[0]), str(v[1])) for k, v in data.items()}
    except (OSError, ValueError, TypeError, AttributeError, IndexError, KeyError):
        return {}


def _write_cache(path: Path, entries: dict[str, tuple[str, str]]) -> None:
    with contextlib.suppress(OSError):  # a cache that cannot be written is only slower next time
        atomic_write_text(path, json.dumps(entries, separators=(",", ":")), mode=PRIVATE_FILE)
