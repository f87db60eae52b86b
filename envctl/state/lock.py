"""The team run lock: one DynamoDB item per environment, taken conditionally, renewed while held.

The table has one ``LockID`` string hash key, the layout of Terraform's lock table, so a team can share one
table. The item carries its holder (pid, host, user, command, since), a random token naming this particular
hold, and an ``expires`` epoch. It is taken with a conditional put that succeeds only when there is no lock or
the one there has expired, and a daemon thread renews it every ``ttl / 3`` while held (conditional on the token
still being ours). A holder killed with ``kill -9`` stops renewing, so its lock blocks others for at most
``ttl``: the stale-lock pain of hashicorp/terraform issue 25776 ends by itself. Expiry is judged by the clock
of the process that wants the lock: clock skew between machines adds to it.

A holder can lose its lock: broken with ``envctl unlock`` on another laptop, or expired because renewals kept
failing and taken by another run. The renewer notices at its next renewal (the item is gone or carries another
token; or nothing has been renewed for ``ttl``) and calls ``on_lost`` with a sentence saying what happened and
to whom, so that the run stops starting components instead of finding out at its last state write.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from envctl.errors import LockedError, StateError
from envctl.state.model import LockHolder


def aws_error_code(err: BaseException) -> str:
    response = getattr(err, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def describe_aws_error(err: BaseException) -> str:
    response = getattr(err, "response", None) or {}
    error = response.get("Error") or {}
    if error:
        return f"{error.get('Code')}: {error.get('Message') or 'no message'}"
    return f"{type(err).__name__}: {err}"


def aws_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a boto3 call raises (imported late: ``envctl --help`` never loads botocore)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def state_failure(what: str, err: BaseException) -> StateError:
    """A failed AWS call on team state, as the one-line error a user sees (exit 2), with what to do."""
    code = aws_error_code(err)
    hint = None
    if code in ("NoSuchBucket", "ResourceNotFoundException"):
        hint = "create the bucket and the lock table with 'envctl state init ENV'"
    elif not code:
        hint = "team state is reached with the environment's own target: check its aws: profile or endpoint"
    return StateError(f"{what}: {describe_aws_error(err)}", hint=hint)


class DynamoLock:
    """Run locks in one DynamoDB table; ``client`` returns the (thread-safe) boto3 DynamoDB client."""

    def __init__(self, client: Callable[[], Any], table: str, ttl: float, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.client, self.table, self.ttl, self.clock = client, table, ttl, clock

    @contextlib.contextmanager
    def hold(self, lock_id: str, env: str, holder: LockHolder, *,
             on_lost: Callable[[str], None] = lambda _why: None) -> Iterator[tuple[str, list[str]]]:
        """Take the lock (LockedError naming the holder if it is live), renew it, release it on exit.

        Yields this hold's token and the warnings (an expired lock taken over; later, the lock lost).
        ``on_lost`` is called from the renewer's thread, once, if the lock is lost while held.
        """
        token = uuid.uuid4().hex
        warnings = self._acquire(lock_id, env, holder, token)
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew_loop, args=(lock_id, env, token, stop, warnings, on_lost),
                                   name=f"envctl-lock-{env}", daemon=True)
        renewer.start()
        try:
            yield token, warnings
        finally:
            stop.set()
            renewer.join(timeout=10)
            self._release(lock_id, token)

    def _acquire(self, lock_id: str, env: str, holder: LockHolder, token: str) -> list[str]:
        ddb = self.client()
        for _attempt in range(3):
            now = self.clock()
            item = {"LockID": {"S": lock_id}, "token": {"S": token}, "expires": {"N": _epoch(now + self.ttl)},
                    "pid": {"N": str(holder.pid)}, "host": {"S": holder.host}, "user": {"S": holder.user},
                    "command": {"S": holder.command}, "since": {"S": holder.since},
                    "Info": {"S": json.dumps({"tool": "envctl", "env": env, **_holder_dict(holder)})}}
            try:
                reply = ddb.put_item(TableName=self.table, Item=item, ReturnValues="ALL_OLD",
                                     ConditionExpression="attribute_not_exists(LockID) OR expires < :now",
                                     ExpressionAttributeValues={":now": {"N": _epoch(now)}})
            except aws_errors() as err:
                if aws_error_code(err) != "ConditionalCheckFailedException":
                    raise state_failure(f"cannot take the lock of '{env}' in DynamoDB table {self.table}",
                                        err) from None
                current = self.item(lock_id, env)
                if current is None:
                    continue  # released between our put and our read: try again
                other = _holder_from_item(current)
                who = other.describe() if other else "another envctl run"
                hint = (f"wait for it to finish; a lock its holder stops renewing expires in {self.ttl:g}s "
                        f"(or 'envctl unlock {env}')")
                raise LockedError(f"environment '{env}' is locked by {who}", hint=hint) from None
            old = reply.get("Attributes")
            if not old:
                return []
            previous = _holder_from_item(old)
            who = previous.describe() if previous else "an unknown holder"
            return [f"took over an expired lock on '{env}' left by {who} "
                    f"(not renewed for {self.ttl:g}s: that run ended without releasing it)"]
        raise LockedError(f"environment '{env}' is locked and released repeatedly; could not take its lock",
                          hint="try again")

    def _renew_loop(self, lock_id: str, env: str, token: str, stop: threading.Event, warnings: list[str],
                    on_lost: Callable[[str], None]) -> None:
        interval = max(self.ttl / 3, 0.05)
        renewed = time.monotonic()
        while not stop.wait(interval):
            try:
                self.client().update_item(
                    TableName=self.table, Key={"LockID": {"S": lock_id}},
                    UpdateExpression="SET expires = :expires", ConditionExpression="#token = :token",
                    ExpressionAttributeNames={"#token": "token"},
                    ExpressionAttributeValues={":expires": {"N": _epoch(self.clock() + self.ttl)},
                                               ":token": {"S": token}})
                renewed = time.monotonic()
            except aws_errors() as err:
                why = None
                if aws_error_code(err) == "ConditionalCheckFailedException":
                    why = self.describe_loss(lock_id, env)
                elif time.monotonic() - renewed >= self.ttl:  # expired: anyone may take it now
                    why = (f"the lock on '{env}' could not be renewed for {self.ttl:g}s "
                           f"({describe_aws_error(err)}), so another run may take it")
                if why is not None:
                    warnings.append(f"{why}; its state writes are refused from now on")
                    on_lost(why)
                    return
                # a transient error: the next renewal tries again, well before the lock expires

    def describe_loss(self, lock_id: str, env: str) -> str:
        """What became of a lock this process held and lost: removed, or whose it is now."""
        try:
            found = self.item(lock_id, env)
        except StateError:
            return f"the lock on '{env}' was broken or taken over while this run held it"
        if found is None:
            return (f"the lock on '{env}' was removed while this run held it (broken with "
                    f"'envctl unlock {env}', or deleted from DynamoDB table {self.table})")
        other = _holder_from_item(found)
        who = other.describe() if other else "another holder"
        return f"the lock on '{env}' was taken over by {who} while this run held it"

    def _release(self, lock_id: str, token: str) -> None:
        with contextlib.suppress(*aws_errors()):  # not ours any more, or unreachable: it expires by itself
            self.client().delete_item(
                TableName=self.table, Key={"LockID": {"S": lock_id}},
                ConditionExpression="#token = :token", ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": token}})

    def item(self, lock_id: str, env: str) -> dict[str, Any] | None:
        """The lock item as stored (expired or not), or None."""
        try:
            reply = self.client().get_item(TableName=self.table, ConsistentRead=True,
                                           Key={"LockID": {"S": lock_id}})
        except aws_errors() as err:
            raise state_failure(f"cannot read the lock of '{env}' in DynamoDB table {self.table}", err) from None
        found = reply.get("Item")
        return dict(found) if found else None

    def holder(self, lock_id: str, env: str) -> LockHolder | None:
        """Who holds the lock now; None when nobody does (an expired lock is held by nobody)."""
        found = self.item(lock_id, env)
        if found is None or expires_of(found) < self.clock():
            return None
        return _holder_from_item(found)

    def token(self, lock_id: str, env: str) -> str | None:
        found = self.item(lock_id, env)
        return str(found["token"]["S"]) if found and "token" in found else None

    def delete(self, lock_id: str, env: str) -> None:
        try:
            self.client().delete_item(TableName=self.table, Key={"LockID": {"S": lock_id}})
        except aws_errors() as err:
            raise state_failure(f"cannot remove the lock of '{env}' from DynamoDB table {self.table}",
                                err) from None


def expires_of(item: dict[str, Any]) -> float:
    try:
        return float(item["expires"]["N"])
    except (KeyError, ValueError):
        return 0.0


def _holder_dict(holder: LockHolder) -> dict[str, Any]:
    return {"pid": holder.pid, "host": holder.host, "user": holder.user, "command": holder.command,
            "since": holder.since}


def _epoch(seconds: float) -> str:
    return f"{seconds:.3f}"


def _holder_from_item(item: dict[str, Any]) -> LockHolder | None:
    try:
        return LockHolder(pid=int(item["pid"]["N"]), host=item["host"]["S"], user=item["user"]["S"],
                          command=item["command"]["S"], since=item["since"]["S"])
    except (KeyError, ValueError):
        return None
