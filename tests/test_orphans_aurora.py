"""Aurora DB clusters, their untagged instances and final snapshots: listed, attributed and priced."""

from __future__ import annotations

import pytest

from tests.orphans_support import client, down, environment, ids, listed, tag_list, up, verify

pytestmark = pytest.mark.sandbox

PASSWORD = "not-a-secret-123"

CLUSTER_DB = {
    # The cluster is tagged by the script; AWS does not copy a cluster's tags to its instances.
    "install.sh": f"""
aws rds create-db-cluster --db-cluster-identifier orders --engine aurora-postgresql --master-username app \\
  --master-user-password {PASSWORD} --tags $ENVCTL_TAGS_CLI >/dev/null
echo "DB_CLUSTER_ID=orders" >> "$ENVCTL_OUTPUT"
""",
    # The classic leak: the delete removes the instance and keeps a final snapshot "to be safe".
    "delete.sh": """
aws rds delete-db-instance --db-instance-identifier orders-1 --skip-final-snapshot >/dev/null
aws rds delete-db-cluster --db-cluster-identifier "$DB_DB_CLUSTER_ID" \\
  --final-db-snapshot-identifier orders-final >/dev/null
""",
}


def strangers() -> None:
    """Lookalikes: another environment's cluster whose name shares the prefix, and an untagged one."""
    rds = client("rds")
    rds.create_db_cluster(DBClusterIdentifier="orders-2", Engine="aurora-postgresql", MasterUsername="app",
                          MasterUserPassword=PASSWORD, Tags=tag_list({"envctl:env": "prod"}))
    rds.create_db_instance(DBInstanceIdentifier="orders-2-1", DBClusterIdentifier="orders-2",
                           Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    rds.create_db_cluster(DBClusterIdentifier="orders-old", Engine="aurora-mysql", MasterUsername="app",
                          MasterUserPassword=PASSWORD)
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="orders-2-final", DBClusterIdentifier="orders-2")


def test_aurora_cluster_and_its_untagged_instance_are_listed_and_priced(tmp_path, aws):
    environment(tmp_path, {"db": CLUSTER_DB})
    up(tmp_path)
    # The instance an operator (or a Terraform module without tags) added to the cluster.
    client("rds").create_db_instance(DBInstanceIdentifier="orders-1", DBClusterIdentifier="orders",
                                     Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    strangers()

    data = verify(tmp_path)
    assert data["exit_code"] == 5
    cluster = listed(data, "rds:cluster", "orders")
    assert (cluster["component"], cluster["region"]) == ("db", "us-east-1")
    assert cluster["hourly_usd"] is None and "bill by use" in cluster["price_basis"]
    instance = listed(data, "rds:db", "orders-1")
    assert (instance["component"], instance["region"], instance["hourly_usd"]) == ("db", "us-east-1", 0.26)
    assert instance["attrs"]["parent"] == "DB cluster orders"
    assert data["unpriced"] == 1 and data["hourly_usd"] == 0.26
    assert ids(data) == {"orders", "orders-1"}


def test_aurora_serverless_v2_instance_is_priced_at_its_minimum_capacity(tmp_path, aws):
    environment(tmp_path, {"db": {"install.sh": 'echo "DB_CLUSTER_ID=events" >> "$ENVCTL_OUTPUT"\n'}})
    up(tmp_path)
    rds = client("rds")
    rds.create_db_cluster(DBClusterIdentifier="events", Engine="aurora-mysql", MasterUsername="app",
                          MasterUserPassword=PASSWORD,
                          ServerlessV2ScalingConfiguration={"MinCapacity": 2, "MaxCapacity": 8})
    rds.create_db_instance(DBInstanceIdentifier="events-1", DBClusterIdentifier="events", Engine="aurora-mysql",
                           DBInstanceClass="db.serverless")

    data = verify(tmp_path)
    assert data["exit_code"] == 5
    instance = listed(data, "rds:db", "events-1")
    assert instance["component"] == "db" and instance["hourly_usd"] == 0.24  # 2 ACU x $0.12
    assert listed(data, "rds:cluster", "events")["component"] == "db"  # recorded, untagged


def test_final_snapshot_of_a_deleted_cluster_is_found_by_the_recorded_id(tmp_path, aws):
    environment(tmp_path, {"db": CLUSTER_DB})
    up(tmp_path)
    client("rds").create_db_instance(DBInstanceIdentifier="orders-1", DBClusterIdentifier="orders",
                                     Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    strangers()

    out = down(tmp_path)
    assert "db: its delete left 1 resource(s) behind" in out and "orders-final" in out
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    snap = listed(data, "rds:cluster-snapshot", "orders-final")
    assert (snap["component"], snap["region"]) == ("db", "us-east-1")
    assert snap["hourly_usd"] == round(1 * 0.021 / 730, 6)  # the sandbox reports 1 GB; $0.021/GB-month
    assert ids(data) == {"orders-final"}
