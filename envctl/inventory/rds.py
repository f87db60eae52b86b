"""RDS: DB instances (class, engine and storage for pricing) and manual snapshots of the environment's DBs.

A final snapshot taken by ``delete-db-instance`` carries no tag unless the instance copied its tags; it is
found by the instance it was taken of (an id the environment recorded, or a DB instance found here).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from envctl.inventory.model import Resource, Scope, make, paginate, tag_dict

ACTIONS = ("rds:DescribeDBInstances", "rds:DescribeDBSnapshots")

_GONE = {"deleting", "deleted"}


def collect(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("rds", region)
    out: list[Resource] = []
    owners: dict[str, str | None] = dict(scope.db_instances)
    for db in paginate(client, "describe_db_instances", "DBInstances"):
        if db.get("DBInstanceStatus") in _GONE:
            continue
        tags = tag_dict(db.get("TagList"))
        res = make(scope, arn=db["DBInstanceArn"], type="rds:db", id=db["DBInstanceIdentifier"],
                   region=region, tags=tags, db_class=db.get("DBInstanceClass"), engine=db.get("Engine"),
                   storage_gb=db.get("AllocatedStorage"), storage_type=db.get("StorageType"),
                   multi_az=bool(db.get("MultiAZ")), status=db.get("DBInstanceStatus"))
        if res is not None:
            out.append(res)
            owners.setdefault(res.id, res.component)
    for snap in paginate(client, "describe_db_snapshots", "DBSnapshots", SnapshotType="manual"):
        res = _snapshot(scope, region, snap, owners)
        if res is not None:
            out.append(res)
    return out


def _snapshot(scope: Scope, region: str, snap: Any, owners: dict[str, str | None]) -> Resource | None:
    tags = tag_dict(snap.get("TagList"))
    common = {"arn": snap["DBSnapshotArn"], "type": "rds:snapshot", "id": snap["DBSnapshotIdentifier"],
              "region": region, "size_gb": snap.get("AllocatedStorage"),
              "db_instance": snap.get("DBInstanceIdentifier")}
    if tags.get("envctl:env") is not None or snap.get("DBInstanceIdentifier") not in owners:
        return make(scope, tags=tags, **common)
    # Not tagged (or not ours by tag): ours because it was taken of one of the environment's instances.
    component = owners[snap["DBInstanceIdentifier"]]
    if scope.component is not None and component != scope.component:
        return None
    attrs = {k: v for k, v in common.items() if k in ("size_gb", "db_instance") and v is not None}
    return Resource(arn=common["arn"], type="rds:snapshot", id=common["id"], region=region,
                    component=component, tags=MappingProxyType(tags), attrs=MappingProxyType(attrs))
