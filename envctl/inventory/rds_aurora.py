"""Aurora (and Multi-AZ) DB clusters, their instances and their manual snapshots.

The RDS instance collector lists tagged instances; an Aurora cluster's instances often carry no tag (tags are
set on the cluster), so they are found through the cluster and attributed to its component. A cluster the
environment recorded (``*DB_CLUSTER_ID`` outputs) is its own even untagged; its final snapshot is found after
the cluster is deleted, by the cluster id it was taken of.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from envctl.inventory import parents
from envctl.inventory.model import ENV_TAG, Resource, Scope, paginate, tag_dict

ACTIONS = ("rds:DescribeDBClusters", "rds:DescribeDBInstances", "rds:DescribeDBClusterSnapshots")

_GONE = {"deleting", "deleted"}


def collect(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("rds", region)
    owners = parents.recorded(scope, parents.DB_CLUSTERS)
    out: list[Resource] = []
    ours: dict[str, Any] = {}
    for cluster in paginate(client, "describe_db_clusters", "DBClusters"):
        cid = cluster["DBClusterIdentifier"]
        tags = tag_dict(cluster.get("TagList"))
        if cluster.get("Status") in _GONE or (tags.get(ENV_TAG) is None and cid not in owners):
            continue
        res = parents.adopt(
            scope, component=owners.get(cid), parent="recorded DB cluster", arn=cluster["DBClusterArn"],
            type="rds:cluster", id=cid, region=region, tags=tags,
            engine=cluster.get("Engine"), engine_mode=cluster.get("EngineMode"), status=cluster.get("Status"),
            instances=len(cluster.get("DBClusterMembers") or []),
            serverless_min_acu=(cluster.get("ServerlessV2ScalingConfiguration") or {}).get("MinCapacity"))
        if res is None:
            continue
        out.append(res)
        ours[cid] = (res.component, cluster)
        owners.setdefault(cid, res.component)
    out += list(_members(scope, region, client, ours))
    out += list(_snapshots(scope, region, client, owners))
    return out


def _members(scope: Scope, region: str, client: Any, ours: Mapping[str, Any]) -> Iterator[Resource]:
    """The untagged instances of the environment's clusters (tagged ones are the instance collector's)."""
    if not ours:
        return
    for db in paginate(client, "describe_db_instances", "DBInstances",
                       Filters=[{"Name": "db-cluster-id", "Values": sorted(ours)}]):
        tags = tag_dict(db.get("TagList"))
        cid = db.get("DBClusterIdentifier")
        if tags.get(ENV_TAG) is not None or cid not in ours or db.get("DBInstanceStatus") in _GONE:
            continue
        component, cluster = ours[cid]
        scaling = cluster.get("ServerlessV2ScalingConfiguration") or {}
        res = parents.adopt(
            scope, component=component, parent=f"DB cluster {cid}", arn=db["DBInstanceArn"], type="rds:db",
            id=db["DBInstanceIdentifier"], region=region, tags=tags, db_class=db.get("DBInstanceClass"),
            engine=db.get("Engine"), storage_type=db.get("StorageType"), status=db.get("DBInstanceStatus"),
            db_cluster=cid, serverless_min_acu=scaling.get("MinCapacity"))
        if res is not None:
            yield res


def _snapshots(scope: Scope, region: str, client: Any, owners: Mapping[str, str | None]) -> Iterator[Resource]:
    for snap in paginate(client, "describe_db_cluster_snapshots", "DBClusterSnapshots", SnapshotType="manual"):
        tags = tag_dict(snap.get("TagList"))
        cid = snap.get("DBClusterIdentifier")
        if tags.get(ENV_TAG) is None and cid not in owners:
            continue
        res = parents.adopt(
            scope, component=owners.get(cid), parent=f"DB cluster {cid}", arn=snap["DBClusterSnapshotArn"],
            type="rds:cluster-snapshot", id=snap["DBClusterSnapshotIdentifier"], region=region, tags=tags,
            engine=snap.get("Engine"), size_gb=snap.get("AllocatedStorage"), db_cluster=cid)
        if res is not None:
            yield res
