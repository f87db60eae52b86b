"""Log groups AWS services create for the environment's parents, untagged, and keep after the parent is gone.

- ``/aws/lambda/<function>``: Lambda creates it on the first invocation (exact name).
- ``/aws/rds/instance/<db>/<log>`` and ``/aws/rds/cluster/<cluster>/<log>``: RDS log exports.
- ``/aws/ecs/containerinsights/<cluster>/performance``: ECS Container Insights.
(``/aws/eks/<cluster>/...`` and ``/aws/containerinsights/<cluster>/...`` are the EKS collector's.)

Parents come from the state (outputs naming functions, DB instances, DB clusters and clusters) and from the
environment's tag on live functions, DB instances, DB clusters and ECS clusters (one tagging-API query).
Names are matched exactly: ``/aws/lambda/api`` never takes ``/aws/lambda/api-2``.
"""

from __future__ import annotations

from typing import Any

from envctl.inventory import parents
from envctl.inventory.model import Resource, Scope, make, paginate, tag_dict

ACTIONS = ("tag:GetResources", "logs:DescribeLogGroups", "logs:ListTagsForResource")

_LIVE_TYPES = ["lambda:function", "rds:db", "rds:cluster", "ecs:cluster"]
_KINDS = {("lambda", "function"): "function", ("rds", "db"): "db", ("rds", "cluster"): "db-cluster",
          ("ecs", "cluster"): "ecs-cluster"}
# kind -> (log group name or prefix, exact name?)
_GROUPS = {"function": ("/aws/lambda/{}", True), "db": ("/aws/rds/instance/{}/", False),
           "db-cluster": ("/aws/rds/cluster/{}/", False), "ecs-cluster": ("/aws/ecs/containerinsights/{}/", False)}
_WHAT = {"function": "Lambda function", "db": "DB instance", "db-cluster": "DB cluster", "ecs-cluster": "cluster"}


def _live_parent(arn: str) -> tuple[str, str] | None:
    """``arn:aws:lambda:r:a:function:api`` -> (``function``, ``api``); ``...:ecs:r:a:cluster/web`` likewise."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    kind, _, name = parts[5].replace("/", ":", 1).partition(":")
    key = _KINDS.get((parts[2], kind))
    return (key, name.split(":")[0]) if key and name else None


def _parents(scope: Scope, region: str) -> dict[tuple[str, str], str | None]:
    """(kind, name) -> component: the environment's live tagged parents, then the recorded ones."""
    found: dict[tuple[str, str], str | None] = {}
    for arn, comp in parents.tagged_arns(scope, region, _LIVE_TYPES).items():
        key = _live_parent(arn)
        if key is not None:
            found.setdefault(key, comp)
    recorded = [("function", parents.recorded(scope, parents.FUNCTIONS)), ("db", scope.db_instances),
                ("db-cluster", parents.recorded(scope, parents.DB_CLUSTERS)), ("ecs-cluster", scope.clusters)]
    for kind, names in recorded:
        for name, comp in names.items():
            found.setdefault((kind, name), comp)
    return found


def collect(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("logs", region)
    out = []
    for (kind, name), component in sorted(_parents(scope, region).items()):
        pattern, exact = _GROUPS[kind]
        wanted = pattern.format(name)
        for group in paginate(client, "describe_log_groups", "logGroups", logGroupNamePrefix=wanted):
            if exact and group["logGroupName"] != wanted:
                continue
            res = _group(scope, region, client, group, kind, name, component)
            if res is not None:
                out.append(res)
    return out


def _group(scope: Scope, region: str, client: Any, group: Any, kind: str, name: str,
           component: str | None) -> Resource | None:
    arn = str(group["arn"]).removesuffix(":*")
    # A group a script made may carry tags: another environment's tag makes it not ours.
    tags = tag_dict(client.list_tags_for_resource(resourceArn=arn).get("tags"))
    common: dict[str, Any] = {"arn": arn, "type": "logs:log-group", "id": group["logGroupName"], "region": region,
                              "tags": tags, "stored_gb": (group.get("storedBytes") or 0) / 1024**3,
                              "retention_days": group.get("retentionInDays")}
    if kind == "ecs-cluster" and name in scope.clusters:
        return make(scope, cluster=name, **common)
    return parents.adopt(scope, component=component, parent=f"{_WHAT[kind]} {name}", **common)
