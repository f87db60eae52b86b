"""The read-only guard: the inventory's clients refuse every call that is not a declared read.

"The tool that looks is read-only" is enforced here, not hoped for. Every client the inventory uses is wrapped
with a botocore ``before-call`` hook that raises :class:`ReadOnlyViolation` *before* a request is signed or
sent when the operation

- does not have a read-shaped name (List/Describe/Get/...), or is one of the reads that hand out secrets or
  credentials (GetSecretValue, GetAuthorizationToken, ...), or
- is not declared by a collector (``ACTIONS`` of each collector module, gathered in
  :data:`envctl.inventory.collectors.ALL_ACTIONS`).

The same declared list is what ``envctl verify --print-policy`` prints, so the policy and the code cannot
drift: a collector that calls an undeclared operation fails its own tests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from envctl.errors import EnvctlError, ExitCode

READ_PREFIXES = ("List", "Describe", "Get", "Search", "Lookup", "BatchGet")

# Read-shaped names that disclose secrets or mint credentials: never needed to find leftovers.
SENSITIVE_READS = frozenset({
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue", "ecr:GetAuthorizationToken",
    "ecr:GetDownloadUrlForLayer", "ec2:GetPasswordData", "sts:GetSessionToken", "sts:GetFederationToken",
    "kms:GetParametersForImport", "ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
    "s3:GetObject", "rds:GenerateDBAuthToken", "eks:GetToken", "iam:GetCredentialReport",
})

# botocore's signing name is the IAM action prefix except for these services.
_IAM_PREFIX = {"tagging": "tag"}


class ReadOnlyViolation(EnvctlError):
    """The inventory tried an operation that is not a declared read; it was refused before it was sent."""

    exit_code = ExitCode.INTERNAL


def is_read_action(action: str) -> bool:
    """``ec2:DescribeVpcs`` -> True; ``ec2:CreateVpc`` or ``secretsmanager:GetSecretValue`` -> False."""
    _, _, name = action.partition(":")
    return name.startswith(READ_PREFIXES) and action not in SENSITIVE_READS


def iam_action(service_model: Any, operation_name: str) -> str:
    """The IAM action name of a botocore operation (``tag:GetResources``, ``ec2:DescribeVpcs``)."""
    signing = service_model.signing_name or service_model.endpoint_prefix
    return f"{_IAM_PREFIX.get(signing, signing)}:{operation_name}"


class CallCounter:
    """Counts the operations the guarded clients sent (pages included), thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


def guard(client: Any, allowed: Iterable[str]) -> Any:
    """Make ``client`` refuse anything but the ``allowed`` read actions; returns the same client.

    Guarding a client twice with the same set is a no-op; with another set, both apply.
    """
    allowed_set = frozenset(allowed)

    def before_call(model: Any, **_: Any) -> None:
        action = iam_action(model.service_model, model.name)
        if not is_read_action(action):
            raise ReadOnlyViolation(f"refused {action}: the inventory only reads (no call was sent)")
        if action not in allowed_set:
            raise ReadOnlyViolation(f"refused {action}: not in the declared read actions of verify",
                                    hint="declare it in the collector's ACTIONS")

    client.meta.events.register("before-call", before_call,
                                unique_id=f"envctl-readonly-{hash(allowed_set)}")
    return client


def count_calls(client: Any, counter: CallCounter) -> Callable[[], None]:
    """Count the operations ``client`` sends into ``counter``; returns the function that stops counting."""
    unique_id = f"envctl-count-{id(counter)}"

    def before_call(**_: Any) -> None:
        counter.add()

    client.meta.events.register("before-call", before_call, unique_id=unique_id)
    return lambda: client.meta.events.unregister("before-call", unique_id=unique_id)


def bound_concurrency(client: Any, slots: threading.BoundedSemaphore) -> Callable[[], None]:
    """At most ``slots`` calls of ``client`` in flight at once, however many threads use it (retries and their
    back-off included: a throttled service is not asked harder). Returns the function that removes the bound."""
    key = f"envctl-slots-{id(slots)}"  # botocore keys handlers by unique_id alone: one per event below

    def take(context: dict[str, Any], **_: Any) -> None:
        slots.acquire()
        context[key] = True

    def give(context: dict[str, Any], **_: Any) -> None:
        if context.pop(key, False):
            slots.release()

    handlers = {"before-call": take, "after-call": give, "after-call-error": give}
    events = client.meta.events
    for event, handler in handlers.items():
        events.register(event, handler, unique_id=f"{key}-{event}")

    def stop() -> None:
        for event in handlers:
            events.unregister(event, unique_id=f"{key}-{event}")

    return stop


def policy_document(actions: Iterable[str]) -> dict[str, Any]:
    """The least-privilege IAM policy for ``actions`` (all must be reads)."""
    acts = sorted(set(actions))
    bad = [a for a in acts if not is_read_action(a)]
    if bad:
        raise ReadOnlyViolation(f"not read actions: {', '.join(bad)}")
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "EnvctlVerifyReadOnly", "Effect": "Allow", "Action": acts, "Resource": "*"}],
    }


def policy_json(actions: Iterable[str]) -> str:
    return json.dumps(policy_document(actions), indent=2)
