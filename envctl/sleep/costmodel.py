"""What the environment costs per hour now, awake and asleep: the live inventory and what sleep switches off.

One :class:`CostLine` per resource. A resource sleep does not touch (a NAT gateway, a load balancer, the EKS
control plane, an Elastic IP, volumes, snapshots, log groups, a cache cluster...) costs the same awake and
asleep: it is what keeps billing at night. What sleep switches off is priced by its :class:`Sleepable`:
from the instances the inventory sees where they are visible, else from its size (a nodegroup's nodes, a
Fargate service's tasks), so "now" and "awake" agree for an awake environment and nothing is counted twice.
A visible instance a sleepable stands for keeps only what it costs stopped (an RDS instance's storage).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from envctl.inventory.model import Resource
from envctl.sleep.savings import Sleepable
from envctl.teardown.pricing import PriceTable, price
from envctl.teardown.report import VerifyReport

# Priced through their tasks (a Fargate service's Sleepable), or free by existing.
_ECS_TYPES = ("ecs:cluster", "ecs:service", "ecs:task-definition", "ecs:task", "ecs:capacity-provider")
_VISIBLE_KINDS = ("nodegroups", "autoscaling", "rds", "ec2")  # Aurora and ECS: from their own status


@dataclass(frozen=True)
class CostLine:
    arn: str
    type: str
    id: str
    component: str | None
    now: float | None       # USD per hour; None: unknown, never free
    awake: float | None
    asleep: float | None
    sleeps: bool = False     # a built-in switches it off
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"arn": self.arn, "type": self.type, "id": self.id, "component": self.component,
                "hourly_usd": None if self.asleep is None else round(self.asleep, 6)}


@dataclass(frozen=True)
class CostModel:
    lines: tuple[CostLine, ...]

    def _sum(self, attr: str) -> float:
        return round(sum(getattr(line, attr) or 0.0 for line in self.lines), 6)

    @property
    def now(self) -> float:
        return self._sum("now")

    @property
    def awake(self) -> float:
        return self._sum("awake")

    @property
    def asleep(self) -> float:
        return self._sum("asleep")

    @property
    def unpriced(self) -> int:
        return sum(1 for line in self.lines if line.awake is None)

    @property
    def bills_while_asleep(self) -> list[CostLine]:
        """What keeps costing while the environment sleeps, the most expensive first; unknown prices last."""
        billing = [line for line in self.lines if line.asleep is None or line.asleep > 0]
        return sorted(billing, key=lambda line: (line.asleep is None, -(line.asleep or 0.0), line.type, line.id))

    @property
    def switched_off(self) -> list[CostLine]:
        return [line for line in self.lines if line.sleeps]


def _as_stopped(res: Resource) -> Resource:
    return dataclasses.replace(res, attrs=MappingProxyType({**res.attrs, "status": "stopped", "state": "stopped"}))


def build(report: VerifyReport, found: Sequence[Sleepable], table: PriceTable | None = None) -> CostModel:
    """The cost lines of ``report`` (the live inventory, priced) and ``found`` (what sleep switches off)."""
    lines: list[CostLine] = []
    visible: dict[int, list[float | None]] = {}
    for item in report.items:
        res = item.resource
        if res.type in _ECS_TYPES:
            continue
        owner = next((i for i, s in enumerate(found) if s.covers(res.type, res.id, res.tags)), None)
        hourly = item.price.hourly_usd
        if owner is None:
            if not item.price.free and hourly != 0:
                lines.append(CostLine(res.arn, res.type, res.id, res.component, hourly, hourly, hourly,
                                      detail=item.price.basis))
            continue
        floor = price(_as_stopped(res), table=table)
        compute = None if hourly is None or floor.hourly_usd is None else max(hourly - floor.hourly_usd, 0.0)
        visible.setdefault(owner, []).append(compute)
        if floor.hourly_usd is None or floor.hourly_usd > 0:
            lines.append(CostLine(res.arn, res.type, res.id, res.component, floor.hourly_usd, floor.hourly_usd,
                                  floor.hourly_usd, detail=floor.basis))
    lines += [_sleepable_line(s, visible.get(i)) for i, s in enumerate(found)]
    return CostModel(tuple(lines))


def _total(values: Iterable[float | None]) -> float | None:
    values = list(values)
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def _sleepable_line(item: Sleepable, seen: list[float | None] | None) -> CostLine:
    now = _total(seen) if seen and item.kind in _VISIBLE_KINDS else item.hourly(item.now_count)
    awake = now if item.awake_now else item.hourly(item.awake_count)
    asleep = 0.0 if item.switched_on else now
    count = item.awake_count if item.awake_count != 1 or item.kind in ("nodegroups", "autoscaling", "ecs") else None
    detail = f"{count} x {item.unit}" if count is not None else item.unit
    return CostLine(item.arn, item.type, item.what.rsplit(" ", 1)[-1], item.component, now, awake, asleep,
                    sleeps=item.switched_on, detail=detail)
