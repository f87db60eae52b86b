"""What a leftover costs by existing: list prices from ``envctl/data/prices.json``, pure functions.

An unknown price is ``None`` ("unknown"), never $0: a report must not call something free because envctl does
not know its price. Free types (IAM, VPC plumbing, security groups...) are $0 and marked free.
Monthly = hourly x 730, as AWS's own calculators do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from envctl.inventory.model import GLOBAL, Resource

PRICES_FILE = Path(__file__).parent.parent / "data" / "prices.json"
HOURS_PER_MONTH = 730

# Types that cost nothing by existing (their cost, if any, shows up on other resources).
FREE_TYPES = {
    "ec2:vpc", "ec2:subnet", "ec2:security-group", "ec2:route-table", "ec2:internet-gateway",
    "ec2:egress-only-internet-gateway", "ec2:network-acl", "ec2:dhcp-options", "ec2:launch-template",
    "ec2:key-pair", "ec2:placement-group", "elasticloadbalancing:targetgroup", "elasticloadbalancing:listener",
    "elasticloadbalancing:listener-rule", "rds:subgrp", "rds:pg", "rds:og", "acm:certificate",
    "cloudformation:stack",
}
_FREE_BASIS = {
    "autoscaling:autoScalingGroup": "free (its instances are priced on their own)",
    "eks:nodegroup": "free (its instances are priced on their own)",
    "lambda:function": "free by existing (requests and provisioned concurrency bill by use)",
}
_LB_KIND = {"app": "application", "net": "network", "gwy": "gateway"}


@dataclass(frozen=True)
class Price:
    hourly_usd: float | None
    monthly_usd: float | None
    basis: str
    free: bool = False

    @property
    def known(self) -> bool:
        return self.hourly_usd is not None


def unknown(basis: str) -> Price:
    return Price(None, None, basis)


def hourly(rate: float, basis: str) -> Price:
    return Price(rate, rate * HOURS_PER_MONTH, basis)


def monthly(rate: float, basis: str) -> Price:
    return Price(rate / HOURS_PER_MONTH, rate, basis)


FREE = Price(0.0, 0.0, "free", free=True)


@dataclass(frozen=True)
class PriceTable:
    """The data file, parsed. ``region_table(r)`` follows ``same_as`` links; None for unknown regions."""

    data: Mapping[str, Any]

    @property
    def source(self) -> str:
        return str(self.data.get("source", ""))

    @property
    def date(self) -> str:
        return str(self.data.get("date", ""))

    def region_table(self, region: str) -> Mapping[str, Any] | None:
        regions = self.data.get("regions") or {}
        table = regions.get("us-east-1" if region == GLOBAL else region)
        for _ in range(5):
            if table is None or "same_as" not in table:
                break
            table = regions.get(table["same_as"])
        return table


def load_prices(path: Path | None = None) -> PriceTable:
    if path is None:
        return _default_table()
    return PriceTable(json.loads(path.read_text()))


@lru_cache(maxsize=1)
def _default_table() -> PriceTable:
    return PriceTable(json.loads(PRICES_FILE.read_text()))


def price(resource: Resource, region: str | None = None, *, table: PriceTable | None = None) -> Price:
    """What ``resource`` costs in ``region`` (default: its own) by existing, at list price."""
    rtype = resource.type
    if rtype in FREE_TYPES or rtype.startswith("iam:"):
        return FREE
    if rtype in _FREE_BASIS:
        return Price(0.0, 0.0, _FREE_BASIS[rtype], free=True)
    region = region or resource.region
    prices = (table or load_prices()).region_table(region)
    if prices is None:
        return unknown(f"no price table for region {region}")
    return _priced(resource, prices)


def _priced(res: Resource, p: Mapping[str, Any]) -> Price:
    rtype, attrs = res.type, res.attrs
    hourly_table, monthly_table = p.get("hourly") or {}, p.get("monthly") or {}
    if rtype in hourly_table:
        return hourly(hourly_table[rtype], f"{rtype} ${hourly_table[rtype]}/h")
    if rtype in monthly_table:
        return monthly(monthly_table[rtype], f"${monthly_table[rtype]}/month")
    if rtype == "ec2:elastic-ip" or (rtype == "ec2:network-interface" and attrs.get("public_ip")):
        return _from(hourly_table, "public-ipv4", hourly, "public IPv4 ${}/h")
    if rtype == "ec2:network-interface":
        return FREE
    if rtype.startswith("elasticloadbalancing:loadbalancer"):
        kind = _LB_KIND.get(rtype.rpartition("/")[2], "classic")
        return _from(hourly_table, f"elb:{kind}", hourly, kind + " load balancer ${}/h (+ LCU, public IPs)")
    if rtype == "ec2:instance":
        return _instance(attrs, p.get("ec2") or {})
    if rtype == "ec2:vpc-endpoint":
        return _endpoint(attrs, hourly_table)
    if rtype == "rds:cluster":
        return unknown("Aurora storage and I/O bill by use, which describe calls do not show "
                       "(its instances are priced on their own)")
    if rtype == "rds:db":
        return _rds(attrs, p)
    if rtype == "elasticache:cluster":
        return _nodes([(attrs.get("node_type"), attrs.get("nodes"))], p.get("elasticache") or {}, "cache node")
    if rtype == "es:domain":
        nodes = [(attrs.get("instance_type"), attrs.get("instances"))]
        if attrs.get("master_type"):
            nodes.append((attrs.get("master_type"), attrs.get("masters")))
        return _nodes(nodes, p.get("opensearch") or {}, "search node")
    return _storage(rtype, attrs, p.get("gb_month") or {})


def _nodes(nodes: list[tuple[Any, Any]], rates: Mapping[str, float], what: str) -> Price:
    """Nodes of a type by the hour (a cache cluster's, a search domain's data and master nodes); storage and
    data transfer bill apart. Unknown without a size: a resource the describe call did not reach."""
    if any(kind is None or count is None for kind, count in nodes):
        return unknown(f"{what} type and count unknown")
    missing = sorted({str(kind) for kind, _ in nodes if kind not in rates})
    if missing:
        return unknown(f"no price for {', '.join(missing)}")
    total = sum(rates[kind] * int(count) for kind, count in nodes)
    return hourly(total, " + ".join(f"{int(count)} x {kind} ${rates[kind]}/h" for kind, count in nodes))


def _from(table: Mapping[str, float], key: str, kind: Any, basis: str) -> Price:
    rate = table.get(key)
    return unknown(f"no price for {key}") if rate is None else kind(rate, basis.replace("{}", str(rate)))


def _instance(attrs: Mapping[str, Any], ec2: Mapping[str, float]) -> Price:
    itype = str(attrs.get("instance_type"))
    if attrs.get("state") in ("stopped", "stopping"):
        return Price(0.0, 0.0, f"{itype} stopped (its volumes are priced on their own)")
    if itype not in ec2:
        return unknown(f"no price for instance type {itype}")
    return hourly(ec2[itype], f"{itype} ${ec2[itype]}/h")


def _endpoint(attrs: Mapping[str, Any], table: Mapping[str, float]) -> Price:
    kind = str(attrs.get("endpoint_type") or "").lower()
    if kind == "gateway":
        return Price(0.0, 0.0, "gateway endpoint: free", free=True)
    rate = table.get(f"vpc-endpoint:{kind}")
    if rate is None:
        return unknown(f"no price for {kind or 'unknown'} VPC endpoints")
    azs = int(attrs.get("azs") or 1)
    return hourly(rate * azs, f"{kind} endpoint ${rate}/h x {azs} AZ (+ data processed)")


def _aurora(attrs: Mapping[str, Any], p: Mapping[str, Any]) -> Price:
    """An Aurora instance: its class by the hour (storage bills on the cluster), or Serverless v2's floor."""
    engine = {"aurora": "aurora-mysql"}.get(str(attrs.get("engine")), str(attrs.get("engine")))
    cls = attrs.get("db_class")
    if attrs.get("status") == "stopped":
        return Price(0.0, 0.0, f"{engine} {cls} stopped (storage bills on the cluster)")
    if cls == "db.serverless":
        acu, rate = attrs.get("serverless_min_acu"), (p.get("hourly") or {}).get("aurora-serverless-v2:acu")
        if acu is None or rate is None:
            return unknown("Aurora Serverless v2: " + ("minimum capacity unknown" if rate else "no ACU price"))
        return hourly(float(acu) * rate, f"Serverless v2 at least {float(acu):g} ACU x ${rate}/ACU-hour")
    rate = ((p.get("rds") or {}).get(engine) or {}).get(cls)
    if rate is None:
        return unknown(f"no price for {engine} {cls}")
    return hourly(rate, f"{engine} {cls} ${rate}/h (storage bills on the cluster)")


def _rds(attrs: Mapping[str, Any], p: Mapping[str, Any]) -> Price:
    engine, cls = str(attrs.get("engine", "")), attrs.get("db_class")
    if engine.startswith("aurora"):
        return _aurora(attrs, p)
    size = float(attrs.get("storage_gb") or 0)
    storage_rate = (p.get("gb_month") or {}).get(f"rds-storage:{attrs.get('storage_type') or 'gp2'}")
    if storage_rate is None:
        return unknown(f"no price for RDS storage {attrs.get('storage_type')}")
    storage_hourly = size * storage_rate / HOURS_PER_MONTH
    if attrs.get("status") == "stopped":
        return hourly(storage_hourly, f"stopped: {size:g} GB storage at ${storage_rate}/GB-month")
    rate = ((p.get("rds") or {}).get(engine) or {}).get(cls)
    if rate is None:
        return unknown(f"no price for {engine} {cls}")
    azs = 2 if attrs.get("multi_az") else 1
    return hourly(rate * azs + storage_hourly,
                  f"{engine} {cls} ${rate}/h{' x2 Multi-AZ' if azs == 2 else ''} + {size:g} GB storage")


_STORAGE = {
    "ec2:volume": (lambda a: f"ebs:{a.get('volume_type') or 'standard'}", "size_gb"),
    "ec2:snapshot": (lambda a: f"ebs-snapshot:{a.get('storage_tier') or 'standard'}", "size_gb"),
    "rds:snapshot": (lambda a: "rds-snapshot", "size_gb"),
    "rds:cluster-snapshot": (lambda a: "aurora-snapshot" if str(a.get("engine", "")).startswith("aurora")
                             else "rds-snapshot", "size_gb"),
    "logs:log-group": (lambda a: "logs-storage", "stored_gb"),
    "ecr:repository": (lambda a: "ecr-storage", "size_gb"),
}


def _storage(rtype: str, attrs: Mapping[str, Any], gb_month: Mapping[str, float]) -> Price:
    if rtype not in _STORAGE:
        return unknown(f"no price for {rtype}")
    key_of, size_attr = _STORAGE[rtype]
    key, size = key_of(attrs), attrs.get(size_attr)
    rate = gb_month.get(key)
    if rate is None or size is None:
        return unknown(f"no price for {key}" if rate is None else f"{rtype} size unknown")
    return monthly(float(size) * rate, f"{float(size):.3g} GB x ${rate}/GB-month ({key})")
