"""``environments/<env>/env.yaml`` -> validated, frozen :class:`Environment` objects.

No AWS and no subprocess here. Every problem is a :class:`ConfigError` naming the file and the key (or the
line, for YAML syntax), raised before anything runs. The reading and checking live in
:mod:`envctl.config.load`; this module holds what they produce.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*\Z")
VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
ACTIONS = ("install", "delete", "update", "sleep", "wake")
DEFAULT_TIMEOUT = 1800.0
TAG_PREFIX = "envctl:"


@dataclass(frozen=True)
class Scripts:
    install: Path
    delete: Path
    update: Path | None = None
    sleep: Path | None = None
    wake: Path | None = None

    def for_action(self, action: str) -> Path | None:
        return getattr(self, action, None) if action in ACTIONS else None

    def all(self) -> dict[str, Path]:
        return {a: p for a in ACTIONS if (p := getattr(self, a)) is not None}


@dataclass(frozen=True)
class Component:
    name: str
    dir: Path
    depends_on: tuple[str, ...]
    timeout: float
    vars: Mapping[str, str]
    scripts: Scripts


@dataclass(frozen=True)
class AwsTarget:
    target: str = "sandbox"
    account_id: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


@dataclass(frozen=True)
class SleepConfig:
    nodegroups: bool = True
    autoscaling: bool = True
    rds: bool = True
    ec2: bool = True
    ecs: bool = True
    aurora: bool = True


@dataclass(frozen=True)
class StateConfig:
    backend: str = "local"
    bucket: str | None = None
    prefix: str = "envctl/"
    region: str | None = None
    lock_table: str | None = None
    lock_ttl: float = 120.0


@dataclass(frozen=True)
class VerifyConfig:
    regions: tuple[str, ...] = ()  # scanned besides the environment's region and the global services


@dataclass(frozen=True)
class ScheduleConfig:
    timezone: str = "UTC"
    sleep: str | None = None
    wake: str | None = None
    down_after: float | None = None


AGENT_POLICIES = ("approved", "never", "any")
"""``agents:`` in env.yaml: inside an AI coding agent's session, mutate with approved scripts only, never, or
without a check."""


@dataclass(frozen=True)
class Environment:
    name: str
    root: Path
    dir: Path
    file: Path
    region: str
    aws: AwsTarget
    tags: Mapping[str, str]
    vars: Mapping[str, str]
    components: Mapping[str, Component]
    sleep: SleepConfig = field(default_factory=SleepConfig)
    state: StateConfig = field(default_factory=StateConfig)
    schedule: ScheduleConfig | None = None
    review: str = "off"
    agents: str = "approved"   # what an AI coding agent's session may run: approved | never | any
    verify: VerifyConfig = field(default_factory=VerifyConfig)

    def tags_for(self, component: str | None) -> dict[str, str]:
        """The user's tags plus ``envctl:env`` (and ``envctl:component``), in a stable order."""
        tags = {f"{TAG_PREFIX}env": self.name}
        if component is not None:
            tags[f"{TAG_PREFIX}component"] = component
        tags.update({k: v for k, v in self.tags.items() if not k.startswith(TAG_PREFIX)})
        return tags

    @property
    def scan_regions(self) -> tuple[str, ...]:
        """The regions verify scans: the environment's own, then those of ``verify.regions``."""
        return (self.region, *[r for r in self.verify.regions if r != self.region])

    def depends_on(self) -> dict[str, list[str]]:
        return {name: list(c.depends_on) for name, c in self.components.items()}
