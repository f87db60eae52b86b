"""``audit --account``: what was created outside envctl's scripts since the environment came up, and its price.

The ClickOps and agent-made list: every successful creating call in the window that no recorded envctl run of
the environment made, whose resource no later call deleted, priced as ``verify`` prices a leftover (from what
the creating call asked for: instance type, database class, size). Unknown prices stay unknown, never $0.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from envctl.aws import cloudtrail_shape as shape
from envctl.provenance.classify import CreatedBy, StepRef, classify

# (service, creating call) -> the inventory's type, so verify's price table applies.
_TYPES = {
    ("ec2", "RunInstances"): "ec2:instance", ("ec2", "CreateSecurityGroup"): "ec2:security-group",
    ("ec2", "CreateNatGateway"): "ec2:natgateway", ("ec2", "AllocateAddress"): "ec2:elastic-ip",
    ("ec2", "CreateVolume"): "ec2:volume", ("ec2", "CreateVpc"): "ec2:vpc", ("ec2", "CreateSubnet"): "ec2:subnet",
    ("ec2", "CreateInternetGateway"): "ec2:internet-gateway", ("ec2", "CreateRouteTable"): "ec2:route-table",
    ("ec2", "CreateLaunchTemplate"): "ec2:launch-template", ("ec2", "CreateSnapshot"): "ec2:snapshot",
    ("rds", "CreateDBInstance"): "rds:db", ("rds", "CreateDBCluster"): "rds:cluster",
    ("rds", "CreateDBSubnetGroup"): "rds:subgrp", ("sqs", "CreateQueue"): "sqs:queue",
    ("iam", "CreateRole"): "iam:role", ("iam", "CreatePolicy"): "iam:policy", ("iam", "CreateUser"): "iam:user",
    ("eks", "CreateCluster"): "eks:cluster", ("eks", "CreateNodegroup"): "eks:nodegroup",
    ("ecr", "CreateRepository"): "ecr:repository", ("logs", "CreateLogGroup"): "logs:log-group",
    ("secretsmanager", "CreateSecret"): "secretsmanager:secret", ("kms", "CreateKey"): "kms:key",
    ("s3", "CreateBucket"): "s3:bucket", ("dynamodb", "CreateTable"): "dynamodb:table",
    ("elasticloadbalancing", "CreateTargetGroup"): "elasticloadbalancing:targetgroup",
}
# requestParameters key -> the inventory attribute pricing reads.
_ATTRS = {"instanceType": "instance_type", "dBInstanceClass": "db_class", "engine": "engine",
          "allocatedStorage": "storage_gb", "storageType": "storage_type", "size": "size_gb",
          "volumeType": "volume_type"}


@dataclass(frozen=True)
class OutsideItem:
    id: str
    arn: str | None
    type: str
    region: str
    created_by: CreatedBy
    hourly_usd: float | None
    monthly_usd: float | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "arn": self.arn, "type": self.type, "region": self.region,
                "created_by": self.created_by.to_json(), "hourly_usd": self.hourly_usd,
                "monthly_usd": self.monthly_usd}


def _time(event: Mapping[str, Any]) -> str:
    return str(event.get("eventTime") or "")


def deletions(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Identifier (and its last segment) -> when a successful call last deleted something so named."""
    gone: dict[str, str] = {}
    for event in events:
        if event.get("errorCode"):
            continue
        for ident in shape.deleted_ids(str(event.get("eventName") or ""), event.get("requestParameters")):
            for key in (ident, shape.tail(ident)):
                gone[key] = max(gone.get(key, ""), _time(event))
    return gone


def inventory_type(service: str, event: Mapping[str, Any]) -> str:
    name = str(event.get("eventName") or "")
    if service == "elasticloadbalancing" and name == "CreateLoadBalancer":
        kind = str((event.get("requestParameters") or {}).get("type") or "application")
        return "elasticloadbalancing:loadbalancer/" + {"network": "net", "gateway": "gwy"}.get(kind, "app")
    noun = shape.creation_noun(name) or name
    return _TYPES.get((service, name), f"{service}:{noun.lower()}")


def priced(rtype: str, ident: str, region: str, request: Any) -> tuple[float | None, float | None]:
    """What the created resource costs by existing, from what its creating call asked for."""
    from envctl.inventory.model import Resource
    from envctl.teardown.pricing import price

    attrs: dict[str, Any] = {}
    if isinstance(request, Mapping):
        for key, attr in _ATTRS.items():
            value = request.get(key)
            if isinstance(value, (str, int, float)) and value != "":
                attrs[attr] = float(value) if attr.endswith("_gb") else value
    resource = Resource(arn=ident, type=rtype, id=ident, region=region, attrs=MappingProxyType(attrs))
    cost = price(resource)
    return cost.hourly_usd, cost.monthly_usd


def outside_items(events: list[Mapping[str, Any]], steps: Mapping[str, StepRef], *,
                  since: _dt.datetime) -> list[OutsideItem]:
    """Resources created since ``since`` by anyone but the envctl runs of ``steps``, and not deleted since."""
    gone = deletions(events)
    floor = f"{since:%Y-%m-%dT%H:%M:%SZ}"
    items: list[OutsideItem] = []
    for event in events:
        if event.get("errorCode") or _time(event) < floor:
            continue
        name = str(event.get("eventName") or "")
        ids = shape.created_ids(name, event.get("requestParameters"), event.get("responseElements"))
        if not ids or any(gone.get(key, "") > _time(event) for i in ids for key in (i, shape.tail(i))):
            continue
        who = classify(event, steps)
        if who.kind == "envctl":
            continue
        service = shape.service_of(str(event.get("eventSource") or ""))
        rtype = inventory_type(service, event)
        arn = next((i for i in ids if i.startswith("arn:")), None)
        ident = next((i for i in ids if not i.startswith("arn:")), arn or ids[0])
        region = "global" if service == "iam" else str(event.get("awsRegion") or "")
        hourly, monthly = priced(rtype, arn or ident, region, event.get("requestParameters"))
        items.append(OutsideItem(ident, arn, rtype, region, who, hourly, monthly))
    return items
