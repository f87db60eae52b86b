"""Waiting until AWS has done what sleep and wake asked: boto3 waiters, bounded by the component's timeout.

Asking RDS to start or a nodegroup to scale returns at once; the database is available minutes later. wake
waits for databases to be available and nodegroups and services to be active before its ``wake-*`` scripts
run, and sleep waits for what it stopped before it reports the environment asleep. Every wait ends by the
owning component's ``timeout`` (counted from when the waiting began, so waits in a row do not add up). A
waiter polls once before it sleeps: an endpoint that is done at once (the sandbox) costs one call, no delay.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import WaiterError
from botocore.waiter import WaiterModel, create_waiter_with_client

DELAY_S = 15.0

_FAILED_DB = ("deleted", "deleting", "failed", "incompatible-restore", "incompatible-parameters",
              "inaccessible-encryption-credentials", "storage-full")


def _status_waiter(operation: str, path: str, success: str, failures: Sequence[str] = ()) -> dict[str, Any]:
    listed = "[]" in path  # a list of statuses (all must succeed, any fails) or a single one
    acceptors: list[dict[str, Any]] = [{"matcher": "pathAll" if listed else "path", "argument": path,
                                        "expected": success, "state": "success"}]
    acceptors += [{"matcher": "pathAny" if listed else "path", "argument": path, "expected": bad,
                   "state": "failure"} for bad in failures]
    return {"operation": operation, "delay": DELAY_S, "maxAttempts": 1, "acceptors": acceptors}


def _count_waiter(operation: str, expression: str) -> dict[str, Any]:
    return {"operation": operation, "delay": DELAY_S, "maxAttempts": 1,
            "acceptors": [{"matcher": "path", "argument": expression, "expected": True, "state": "success"}]}


WAITERS: dict[str, dict[str, Any]] = {
    "DBInstanceAvailable": _status_waiter("DescribeDBInstances", "DBInstances[].DBInstanceStatus", "available",
                                          (*_FAILED_DB, "stopped")),
    "DBInstanceStopped": _status_waiter("DescribeDBInstances", "DBInstances[].DBInstanceStatus", "stopped",
                                        (*_FAILED_DB, "available")),
    "DBClusterAvailable": _status_waiter("DescribeDBClusters", "DBClusters[].Status", "available",
                                         (*_FAILED_DB, "stopped")),
    "DBClusterStopped": _status_waiter("DescribeDBClusters", "DBClusters[].Status", "stopped",
                                       (*_FAILED_DB, "available")),
    "InstanceRunning": _status_waiter("DescribeInstances", "Reservations[].Instances[].State.Name", "running",
                                      ("terminated", "shutting-down", "stopped")),
    "InstanceStopped": _status_waiter("DescribeInstances", "Reservations[].Instances[].State.Name", "stopped",
                                      ("terminated", "shutting-down", "pending")),
    "NodegroupActive": _status_waiter("DescribeNodegroup", "nodegroup.status", "ACTIVE",
                                      ("CREATE_FAILED", "DELETE_FAILED", "DELETING", "DEGRADED")),
    "ServicesStable": {
        "operation": "DescribeServices", "delay": DELAY_S, "maxAttempts": 1,
        "acceptors": [
            {"matcher": "pathAny", "argument": "failures[].reason", "expected": "MISSING", "state": "failure"},
            {"matcher": "pathAny", "argument": "services[].status", "expected": "INACTIVE", "state": "failure"},
            {"matcher": "path", "expected": True, "state": "success",
             "argument": "length(services[?!(length(deployments) == `1` && runningCount == desiredCount)]) == `0`"},
        ]},
}


@dataclass(frozen=True)
class Wait:
    """Wait until ``what`` (for the user: "rds orders-db") is ``goal`` ("available")."""

    what: str
    goal: str
    service: str
    waiter: str
    params: Mapping[str, Any]
    timeout_s: float
    count: int | None = None   # autoscaling groups: how many instances InService (0 asleep)


@dataclass
class Waits:
    """The waits a sleep or wake collects while it changes things; :meth:`run` waits for all of them."""

    items: list[Wait] = field(default_factory=list)

    def add(self, wait: Wait) -> None:
        self.items.append(wait)

    def run(self, client_factory: Callable[[str, str], Any], region: str, *,
            clock: Callable[[], float] = time.monotonic, delay_s: float = DELAY_S) -> list[str]:
        """Wait for each; return one line per wait that failed or ran out of time."""
        start, errors = clock(), []
        for wait in self.items:
            left = wait.timeout_s - (clock() - start)
            attempts = max(1, math.floor(max(left, 0.0) / delay_s) + 1)
            try:
                _waiter(wait, client_factory(wait.service, region)).wait(
                    **wait.params, WaiterConfig={"Delay": delay_s, "MaxAttempts": attempts})
            except WaiterError as err:
                errors.append(_explain(wait, err, clock() - start))
        return errors


def _waiter(wait: Wait, client: Any) -> Any:
    if wait.waiter == "GroupInService":
        expr = ("length(AutoScalingGroups[0].Instances[?LifecycleState=='InService']) >= "
                f"`{wait.count or 0}`") if wait.count else "length(AutoScalingGroups[0].Instances) == `0`"
        config = _count_waiter("DescribeAutoScalingGroups", expr)
    else:
        config = WAITERS[wait.waiter]
    model = WaiterModel({"version": 2, "waiters": {wait.waiter: config}})
    return create_waiter_with_client(wait.waiter, model, client)


def _explain(wait: Wait, err: WaiterError, waited: float) -> str:
    reason = str(getattr(err, "kwargs", {}).get("reason") or err)
    if "Max attempts exceeded" in reason:
        return (f"{wait.what}: not {wait.goal} after {_duration(waited)} (its component's timeout is "
                f"{_duration(wait.timeout_s)}); run the command again once it settles")
    return f"{wait.what}: did not become {wait.goal}: {reason}"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"
