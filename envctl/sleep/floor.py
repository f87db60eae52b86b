"""Prices of what keeps billing while asleep that the inventory lists without a size: cache clusters, search
domains, interface VPC endpoints. Each costs by its node type and count (or its subnets), which one describe
call tells; the rates are in ``envctl/data/prices.json`` (``elasticache``, ``opensearch``, ``hourly``).

A type or size without a known price stays unknown (``None``), never free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from envctl.sleep.targets import ClientFactory
from envctl.teardown.report import ReportItem

Priced = tuple[float | None, str]


def _cache_cluster(reads: ClientFactory, region: str, rid: str, table: Mapping[str, Any]) -> Priced:
    cluster = reads("elasticache", region).describe_cache_clusters(CacheClusterId=rid)["CacheClusters"][0]
    node, count = cluster.get("CacheNodeType"), int(cluster.get("NumCacheNodes") or 1)
    rate = (table.get("elasticache") or {}).get(node)
    return (None if rate is None else rate * count), f"{count} x {node}"


def _search_domain(reads: ClientFactory, region: str, rid: str, table: Mapping[str, Any]) -> Priced:
    config = reads("opensearch", region).describe_domain(DomainName=rid)["DomainStatus"]["ClusterConfig"]
    rates = table.get("opensearch") or {}
    parts = [(config.get("InstanceType"), int(config.get("InstanceCount") or 1))]
    if config.get("DedicatedMasterEnabled"):
        parts.append((config.get("DedicatedMasterType"), int(config.get("DedicatedMasterCount") or 0)))
    known = [rates.get(kind) for kind, _ in parts]
    total = None if None in known else sum((rates[kind] * n for kind, n in parts), 0.0)
    return total, " + ".join(f"{n} x {kind}" for kind, n in parts)


def _vpc_endpoint(reads: ClientFactory, region: str, rid: str, table: Mapping[str, Any]) -> Priced:
    found = reads("ec2", region).describe_vpc_endpoints(Filters=[{"Name": "vpc-endpoint-id", "Values": [rid]}])
    endpoint = (found.get("VpcEndpoints") or [{}])[0]
    if endpoint.get("VpcEndpointType") == "Gateway":
        return 0.0, "gateway endpoint (free)"
    azs = max(len(endpoint.get("SubnetIds") or []), 1)
    rate = (table.get("hourly") or {}).get("vpc-endpoint:interface")
    kind = endpoint.get("VpcEndpointType", "Interface")
    return (None if rate is None else rate * azs), f"{kind} endpoint in {azs} AZ(s)"


HANDLERS: dict[str, Callable[[ClientFactory, str, str, Mapping[str, Any]], Priced]] = {
    "elasticache:cluster": _cache_cluster,
    "es:domain": _search_domain,
    "ec2:vpc-endpoint": _vpc_endpoint,
}


def price_unknown(items: Sequence[ReportItem], reads: ClientFactory) -> dict[str, Priced]:
    """``{arn: (hourly, basis)}`` for the inventory's items of unknown price that a describe call can price."""
    from envctl.teardown.pricing import load_prices

    prices = load_prices()
    out: dict[str, Priced] = {}
    for item in items:
        handler = HANDLERS.get(item.resource.type)
        if handler is None or item.price.known:
            continue
        table = prices.region_table(item.resource.region) or {}
        try:
            out[item.resource.arn] = handler(reads, item.resource.region, item.resource.id, table)
        except Exception:  # a look that fails (no access, gone meanwhile) leaves the price unknown, as it was
            continue
    return out
