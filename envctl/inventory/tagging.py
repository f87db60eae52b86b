"""The Resource Groups Tagging API, per region: the environment's tag and the cluster tags of its orphans.

The tagging API returns resources that are tagged *or were once tagged*: terminated instances, deleted NAT
gateways and load balancers linger in it. Every hit of a type that can linger is confirmed with the service's
own describe call (see :mod:`envctl.inventory.confirm`); types a dedicated collector owns are skipped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envctl.inventory import confirm
from envctl.inventory.model import COMPONENT_TAG, ENV_TAG, Resource, Scope, chunks, make, paginate, tag_dict

ACTIONS = ("tag:GetResources",)

# Types a dedicated collector lists with more truth (state, size) than the tagging API has.
OWNED_ELSEWHERE = ("rds:", "secretsmanager:", "eks:", "ecr:", "autoscaling:", "route53:", "iam:",
                   "ec2:elastic-ip", "ec2:launch-template")


def tag_queries(scope: Scope) -> list[list[dict[str, Any]]]:
    """The TagFilters to run: the environment's own tag, then each cluster's orphan tags."""
    own: list[dict[str, Any]] = [{"Key": ENV_TAG, "Values": [scope.env]}]
    if scope.component is not None:
        own.append({"Key": COMPONENT_TAG, "Values": [scope.component]})
    queries = [own]
    for name in scope.clusters:
        queries.append([{"Key": f"kubernetes.io/cluster/{name}"}])
        queries.extend([{"Key": key, "Values": [name]}]
                       for key in ("elbv2.k8s.aws/cluster", "eks:cluster-name", "aws:eks:cluster-name"))
    return queries


def parse_arn(arn: str) -> tuple[str, str]:
    """(type, id) from an ARN: ``arn:aws:ec2:r:a:natgateway/nat-1`` -> (``ec2:natgateway``, ``nat-1``)."""
    parts = arn.split(":", 5)
    service, rest = parts[2], parts[5] if len(parts) > 5 else ""
    if service == "s3":
        return "s3:bucket", rest
    if service == "sqs":
        return "sqs:queue", rest
    if service == "logs":
        return "logs:log-group", rest.removeprefix("log-group:").removesuffix(":*")
    if service == "elasticloadbalancing" and rest.startswith("loadbalancer/"):
        segs = rest.split("/")
        if len(segs) >= 3 and segs[1] in ("app", "net", "gwy"):
            return f"elasticloadbalancing:loadbalancer/{segs[1]}", segs[2]
        return "elasticloadbalancing:loadbalancer", segs[-1]
    if service == "elasticloadbalancing" and rest.startswith("targetgroup/"):
        return "elasticloadbalancing:targetgroup", rest.split("/")[1]
    for sep in ("/", ":"):
        if sep in rest:
            kind, _, ident = rest.partition(sep)
            return f"{service}:{kind}", ident
    return f"{service}:{rest}", rest


def collect_region(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("resourcegroupstaggingapi", region)
    hits: dict[str, tuple[str, str, dict[str, str]]] = {}
    for filters in tag_queries(scope):
        for item in paginate(client, "get_resources", "ResourceTagMappingList", TagFilters=filters):
            arn = item["ResourceARN"]
            if arn in hits:
                continue
            rtype, rid = parse_arn(arn)
            if rtype.startswith(OWNED_ELSEWHERE):
                continue
            hits[arn] = (rtype, rid, tag_dict(item.get("Tags")))
    return confirm.confirm(scope, region, hits)


def recheck(scope: Scope, region: str, resources: Sequence[Resource]) -> list[Resource]:
    """Which of ``resources`` (found earlier by this collector) still exist: the service's describe by ID
    for the types that have one, the tagging API by ARN (100 a call) for the others."""
    hits = {r.arn: (r.type, r.id, dict(r.tags)) for r in resources}
    described = {arn: hit for arn, hit in hits.items() if hit[0] in confirm.CONFIRMERS}
    out = confirm.confirm(scope, region, described)
    rest = sorted(set(hits) - set(described))
    client = scope.client("resourcegroupstaggingapi", region)
    for batch in chunks(rest, 100):
        for item in paginate(client, "get_resources", "ResourceTagMappingList", ResourceARNList=list(batch)):
            rtype, rid, tags = hits[item["ResourceARN"]]
            res = make(scope, arn=item["ResourceARN"], type=rtype, id=rid, region=region, tags=tags)
            if res is not None:
                out.append(res)
    return out
