"""Prices of what keeps billing while asleep that the inventory lists without a size: interface VPC endpoints,
which cost by the subnets they are in, which one describe call tells; the rate is in ``envctl/data/prices.json``
(``hourly``). (Cache clusters and search domains come with their node types and counts from the inventory, and
are priced with everything else.)

A type or size without a known price stays unknown (``None``), never free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from envctl.sleep.targets import ClientFactory
from envctl.teardown.report import ReportItem

Priced = tuple[float | None, str]


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
