"""Prices from the data file, totals of the report, unknown never $0. Pure: no AWS needed."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from envctl.inventory import Inventory, Resource
from envctl.teardown.pricing import PRICES_FILE, load_prices, price
from envctl.teardown.report import build_report, to_json, to_markdown


def res(rtype: str, region: str = "us-east-1", component: str | None = "c", **attrs) -> Resource:
    return Resource(arn=f"arn:aws:x:{region}:1:{rtype}/{len(attrs)}", type=rtype, id=rtype, region=region,
                    component=component, attrs=MappingProxyType(attrs))


@pytest.mark.parametrize(("resource", "hourly", "monthly"), [
    (res("eks:cluster"), 0.10, 73.0),
    (res("ec2:natgateway"), 0.045, 32.85),
    (res("ec2:elastic-ip"), 0.005, 3.65),
    (res("elasticloadbalancing:loadbalancer/app"), 0.0225, 16.425),
    (res("elasticloadbalancing:loadbalancer/net"), 0.0225, 16.425),
    (res("ec2:instance", instance_type="t3.medium", state="running"), 0.0416, 30.368),
    (res("ec2:instance", instance_type="m5.large", state="running"), 0.096, 70.08),
    (res("ec2:instance", instance_type="t3.medium", state="stopped"), 0.0, 0.0),
    (res("ec2:volume", volume_type="gp3", size_gb=40), 3.20 / 730, 3.20),
    (res("ec2:snapshot", size_gb=10), 0.50 / 730, 0.50),
    (res("rds:db", engine="postgres", db_class="db.t4g.micro", storage_gb=20, storage_type="gp2"),
     0.016 + 20 * 0.115 / 730, 0.016 * 730 + 2.30),
    (res("rds:db", engine="postgres", db_class="db.t3.micro", storage_gb=0, multi_az=True), 0.036, 26.28),
    (res("rds:snapshot", size_gb=100), 9.5 / 730, 9.5),
    (res("logs:log-group", stored_gb=10), 0.30 / 730, 0.30),
    (res("kms:key"), 1 / 730, 1.0),
    (res("secretsmanager:secret"), 0.40 / 730, 0.40),
    (res("ecr:repository", size_gb=2), 0.20 / 730, 0.20),
    (res("route53:hostedzone", region="global"), 0.50 / 730, 0.50),
    (res("eks:cluster", region="us-west-2"), 0.10, 73.0),
    (res("ec2:natgateway", region="eu-west-1"), 0.048, 35.04),
])
def test_list_prices(resource, hourly, monthly):
    p = price(resource)
    assert p.hourly_usd == pytest.approx(hourly)
    assert p.monthly_usd == pytest.approx(monthly)
    assert not p.free


@pytest.mark.parametrize("rtype", ["iam:policy", "iam:role", "ec2:security-group", "ec2:subnet", "ec2:vpc",
                                   "ec2:route-table", "ec2:internet-gateway", "ec2:launch-template",
                                   "eks:nodegroup", "autoscaling:autoScalingGroup"])
def test_free_types_are_zero_and_marked_free(rtype):
    p = price(res(rtype, region="global" if rtype.startswith("iam") else "us-east-1"))
    assert (p.hourly_usd, p.monthly_usd, p.free) == (0.0, 0.0, True)


@pytest.mark.parametrize("resource", [
    res("ec2:instance", instance_type="x9.huge", state="running"),
    res("rds:db", engine="oracle-ee", db_class="db.r6g.large", storage_gb=1),
    res("sqs:queue"),
    res("s3:bucket"),
    res("ec2:volume", volume_type="gp3"),              # size not known
    res("eks:cluster", region="ap-south-2"),           # region not in the table
])
def test_unknown_is_none_never_zero(resource):
    p = price(resource)
    assert p.hourly_usd is None and p.monthly_usd is None and not p.free
    assert p.basis


def test_report_totals_sum_priced_and_count_unpriced():
    inv = Inventory(env="test", resources=(
        res("ec2:natgateway", component="network"), res("eks:cluster", component="cluster"),
        res("iam:policy", region="global", component="app"), res("sqs:queue", component="app"),
        res("ec2:instance", component="app", instance_type="t3.medium", state="running"),
    ), pending=(res("kms:key", component="app"),), errors={}, api_calls=3)
    report = build_report("test", inv)
    data = to_json(report)
    assert data["clean"] is False
    assert data["hourly_usd"] == pytest.approx(0.045 + 0.10 + 0.0416)
    assert data["monthly_usd"] == pytest.approx(round((0.045 + 0.10 + 0.0416) * 730, 2))
    assert data["unpriced"] == 1
    queue = next(r for r in data["resources"] if r["type"] == "sqs:queue")
    assert queue["hourly_usd"] is None and queue["monthly_usd"] is None
    assert [p["type"] for p in data["pending_deletion"]] == ["kms:key"]
    assert list(report.by_component) == ["app", "cluster", "network"]
    assert "| app | `sqs:queue` | `sqs:queue` | us-east-1 | unknown | unknown |" in to_markdown(report)


def test_pending_alone_is_clean_but_a_failed_check_is_not():
    pending_only = build_report("t", Inventory("t", (), (res("kms:key"),), {}, 1))
    assert pending_only.clean and to_json(pending_only)["clean"] is True
    failed = build_report("t", Inventory("t", (), (), {"eks@us-east-1": "boom"}, 1))
    assert not failed.clean and failed.verdict.startswith("UNKNOWN")


def test_price_file_records_source_and_date_and_covers_large_regions():
    data = json.loads(PRICES_FILE.read_text())
    assert data["source"] and data["date"] and data["hours_per_month"] == 730
    assert {"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"} <= set(data["regions"])
    table = load_prices()
    assert table.region_table("us-east-2") == table.region_table("us-east-1")


def test_nodes_without_a_known_type_or_count_stay_unknown() -> None:
    assert not price(res("elasticache:cluster", node_type="cache.x99.huge", nodes=2)).known
    assert "cache.x99.huge" in price(res("elasticache:cluster", node_type="cache.x99.huge", nodes=2)).basis
    assert not price(res("elasticache:cluster")).known  # not reached by its describe call: no size
    assert not price(res("es:domain", instance_type="t3.small.search", instances=2, master_type="x.search",
                         masters=3)).known  # one node type without a price makes the whole domain unknown
