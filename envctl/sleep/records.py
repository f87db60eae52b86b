"""The sleep record: what one ``sleep`` found and changed, kept in the state (``EnvState.sleep``) for ``wake``.

Each sleep writes a new record and replaces the last one: a resource that is awake when sleep finds it is
recorded at the sizes it has now, never at what an earlier sleep saw (after ``down`` and a resized ``up``, the
old sizes would come back: the record of a resource that no longer exists says nothing about its successor).
Only a resource a sleep finds asleep already keeps what was recorded for it, from its own tag or the state.
``down`` forgets the record. One pass of sleep or wake is a :class:`Pass`: the record it builds, the lines it
reports, the errors per resource and the waits it collects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from envctl.config.model import DEFAULT_TIMEOUT
from envctl.sleep.targets import TAG_COMPONENT
from envctl.sleep.waits import Wait, Waits

Remember = Callable[[dict[str, Any]], None]
TimeoutOf = Callable[[str | None], float]
MAPS = ("nodegroups", "autoscaling", "ecs")
LISTS = ("rds", "ec2", "aurora")


@dataclass(frozen=True)
class SleepOutcome:
    """What a sleep or wake did. ``remembered`` is what the state keeps (``EnvState.sleep``) for wake."""

    remembered: dict[str, Any]
    actions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


WakeOutcome = SleepOutcome


def empty() -> dict[str, Any]:
    return {**{key: {} for key in MAPS}, **{key: [] for key in LISTS}}


def copy_record(remembered: dict[str, Any] | None) -> dict[str, Any]:
    data = empty()
    for key in MAPS:
        data[key] = {k: dict(v) for k, v in ((remembered or {}).get(key) or {}).items()}
    for key in LISTS:
        data[key] = list((remembered or {}).get(key) or [])
    if remembered and remembered.get("asleep_since"):
        data["asleep_since"] = remembered["asleep_since"]
    return data


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """Nothing remembered is ``{}``: an awake environment carries no sleep record."""
    if not any(data.get(key) for key in (*MAPS, *LISTS)):
        return {}
    return data


def default_timeout(_component: str | None) -> float:
    return DEFAULT_TIMEOUT


class Pass:
    """One sleep or wake: ``previous`` is the last record, ``data`` the one this pass leaves."""

    def __init__(self, remembered: dict[str, Any] | None, on_remember: Remember | None, *, fresh: bool,
                 timeout_of: TimeoutOf | None = None) -> None:
        self.previous = copy_record(remembered)
        self.data = empty() if fresh else copy_record(remembered)
        if fresh and self.previous.get("asleep_since"):
            self.data["asleep_since"] = self.previous["asleep_since"]
        self.actions: list[str] = []
        self.errors: list[str] = []
        self.waits = Waits()
        self._on_remember = on_remember
        self._timeout_of = timeout_of or default_timeout

    def remember(self) -> None:
        if self._on_remember is not None:
            self._on_remember(compact(copy_record(self.data)))

    def guard(self, what: str, func: Callable[..., None], *args: Any) -> None:
        try:
            func(*args)
        except (ClientError, BotoCoreError) as err:  # one resource failing must not stop the others
            self.errors.append(f"{what}: {aws_message(err)}")

    def wait(self, tags: dict[str, str] | Any, what: str, goal: str, service: str, waiter: str,
             count: int | None = None, **params: Any) -> None:
        timeout = self._timeout_of((tags or {}).get(TAG_COMPONENT))
        self.waits.add(Wait(what, goal, service, waiter, params, timeout, count))

    def outcome(self) -> SleepOutcome:
        return SleepOutcome(compact(self.data), self.actions, self.errors)


def aws_message(err: Exception) -> str:
    response = getattr(err, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()
    return f"{type(err).__name__}: {err}"
