"""Truth over tags: confirm tagging-API hits with the service's describe call; read what pricing needs.

A confirmer takes ``{arn: id}`` for one type in one region and returns ``{arn: attrs}`` for what really
exists (absent = gone: terminated, deleted, never a leftover). ``attrs`` may set ``_type`` to correct the
type (NLB ARNs say ``app`` on the sandbox), ``_pending`` for a scheduled deletion, and ``_skip`` for things
never reported (the default VPC, its subnets, a VPC's default security group).
Describe calls use ID *filters*, not ID lists: a list with one deleted ID fails the whole call on AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from envctl.inventory.model import (
    Resource,
    Scope,
    chunks,
    describe_ecs_services,
    ecs_service_cluster,
    make,
    paginate,
    parallel_map,
)

ACTIONS = (
    "ec2:DescribeInstances", "ec2:DescribeNatGateways", "ec2:DescribeVolumes", "ec2:DescribeSnapshots",
    "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces",
    "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTargetGroups",
    "kms:DescribeKey", "logs:DescribeLogGroups", "ecs:DescribeClusters", "ecs:DescribeServices",
    "elasticache:DescribeCacheClusters", "es:DescribeDomains",
)

Attrs = dict[str, Any]
Confirmer = Callable[[Scope, str, Mapping[str, str]], dict[str, Attrs]]

_GONE_INSTANCE = {"terminated", "shutting-down"}
_GONE_NAT = {"deleted", "deleting", "failed"}


def _ec2_filtered(op: str, key: str, id_field: str, filter_name: str, fields: Callable[[Any], Attrs],
                  **extra: Any) -> Confirmer:
    def run(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
        client = scope.client("ec2", region)
        by_id = {rid: arn for arn, rid in ids.items()}
        found: dict[str, Attrs] = {}
        filter_param = "Filter" if op == "describe_nat_gateways" else "Filters"
        for batch in chunks(sorted(by_id), 200):
            params = {filter_param: [{"Name": filter_name, "Values": list(batch)}], **extra}
            for item in _flatten(paginate(client, op, key, **params), op):
                rid = item.get(id_field)
                if rid in by_id:
                    found[by_id[rid]] = fields(item)
        return found

    return run


def _flatten(items: Any, op: str) -> Any:
    if op != "describe_instances":
        yield from items
        return
    for reservation in items:
        yield from reservation.get("Instances") or []


def _instance(item: Any) -> Attrs:
    state = item.get("State", {}).get("Name")
    return {"_skip": state in _GONE_INSTANCE, "instance_type": item.get("InstanceType"), "state": state}


def _nat(item: Any) -> Attrs:
    return {"_skip": item.get("State") in _GONE_NAT, "state": item.get("State")}


def _volume(item: Any) -> Attrs:
    return {"volume_type": item.get("VolumeType"), "size_gb": item.get("Size"), "iops": item.get("Iops"),
            "throughput": item.get("Throughput"), "state": item.get("State")}


def _snapshot(item: Any) -> Attrs:
    return {"size_gb": item.get("VolumeSize"), "storage_tier": item.get("StorageTier")}


def _eni(item: Any) -> Attrs:
    return {"status": item.get("Status"), "public_ip": bool((item.get("Association") or {}).get("PublicIp"))}


CONFIRMERS: dict[str, Confirmer] = {
    "ec2:instance": _ec2_filtered("describe_instances", "Reservations", "InstanceId", "instance-id",
                                  _instance),
    "ec2:natgateway": _ec2_filtered("describe_nat_gateways", "NatGateways", "NatGatewayId", "nat-gateway-id",
                                    _nat),
    "ec2:volume": _ec2_filtered("describe_volumes", "Volumes", "VolumeId", "volume-id", _volume),
    "ec2:snapshot": _ec2_filtered("describe_snapshots", "Snapshots", "SnapshotId", "snapshot-id", _snapshot,
                                  OwnerIds=["self"]),
    "ec2:vpc": _ec2_filtered("describe_vpcs", "Vpcs", "VpcId", "vpc-id",
                             lambda v: {"_skip": bool(v.get("IsDefault"))}),
    "ec2:subnet": _ec2_filtered("describe_subnets", "Subnets", "SubnetId", "subnet-id",
                                lambda s: {"_skip": bool(s.get("DefaultForAz"))}),
    "ec2:security-group": _ec2_filtered("describe_security_groups", "SecurityGroups", "GroupId", "group-id",
                                        lambda g: {"_skip": g.get("GroupName") == "default"}),
    "ec2:network-interface": _ec2_filtered("describe_network_interfaces", "NetworkInterfaces",
                                           "NetworkInterfaceId", "network-interface-id", _eni),
}


def _load_balancers(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
    client = scope.client("elbv2", region)
    found: dict[str, Attrs] = {}
    for lb in paginate(client, "describe_load_balancers", "LoadBalancers"):
        arn = lb["LoadBalancerArn"]
        if arn in ids:
            kind = {"application": "app", "network": "net", "gateway": "gwy"}.get(lb.get("Type", ""), "app")
            found[arn] = {"_type": f"elasticloadbalancing:loadbalancer/{kind}", "lb_type": lb.get("Type"),
                          "scheme": lb.get("Scheme"), "azs": len(lb.get("AvailabilityZones") or [])}
    return found


def _target_groups(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
    client = scope.client("elbv2", region)
    return {tg["TargetGroupArn"]: {} for tg in paginate(client, "describe_target_groups", "TargetGroups")
            if tg["TargetGroupArn"] in ids}


def _kms_keys(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
    client = scope.client("kms", region)

    def one(arn: str) -> tuple[str, Attrs | None]:
        try:
            meta = client.describe_key(KeyId=arn)["KeyMetadata"]
        except client.exceptions.NotFoundException:
            return arn, None
        state = meta.get("KeyState")
        if meta.get("KeyManager") == "AWS":
            return arn, {"_skip": True}
        return arn, {"_pending": state in ("PendingDeletion", "PendingReplicaDeletion"), "state": state}

    return {arn: attrs for arn, attrs in parallel_map(one, sorted(ids)) if attrs is not None}


def _log_groups(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
    client = scope.client("logs", region)
    # One prefix query per hit: a listing of the region would cost a call per 50 groups of everybody's.
    groups = [g for name in sorted(set(ids.values()))
              for g in paginate(client, "describe_log_groups", "logGroups", logGroupNamePrefix=name)]
    found: dict[str, Attrs] = {}
    for group in groups:
        arn = str(group.get("arn", "")).removesuffix(":*")
        if arn in ids:
            found[arn] = {"stored_gb": (group.get("storedBytes") or 0) / 1024**3,
                          "retention_days": group.get("retentionInDays")}
    return found


def _ecs_clusters(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
    """A deleted cluster is INACTIVE (and the tagging API keeps listing it for a while): gone."""
    client = scope.client("ecs", region)
    found: dict[str, Attrs] = {}
    for batch in chunks(sorted(ids), 100):
        for cluster in client.describe_clusters(clusters=list(batch)).get("clusters") or []:
            if cluster.get("clusterArn") in ids and cluster.get("status") != "INACTIVE":
                found[cluster["clusterArn"]] = {"status": cluster.get("status")}
    return found


def _ecs_services(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
    """A deleted service is INACTIVE (then DRAINING tasks are gone): gone. Described per cluster."""
    client = scope.client("ecs", region)
    by_cluster: dict[str, list[str]] = {}
    for arn in sorted(ids):
        by_cluster.setdefault(ecs_service_cluster(arn) or "default", []).append(arn)
    found: dict[str, Attrs] = {}
    for cluster, arns in by_cluster.items():
        for svc in describe_ecs_services(client, cluster, arns):
            if svc.get("serviceArn") in ids and svc.get("status") != "INACTIVE":
                found[svc["serviceArn"]] = {"desired_count": svc.get("desiredCount"),
                                            "launch_type": svc.get("launchType"), "status": svc.get("status")}
    return found


def _cache_clusters(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
    """One call per cluster of ours (a listing would read every team's); its node type and count price it."""
    client = scope.client("elasticache", region)

    def one(arn: str) -> tuple[str, Attrs | None]:
        try:
            cluster = client.describe_cache_clusters(CacheClusterId=ids[arn])["CacheClusters"][0]
        except client.exceptions.CacheClusterNotFoundFault:
            return arn, None
        return arn, {"node_type": cluster.get("CacheNodeType"), "nodes": int(cluster.get("NumCacheNodes") or 1),
                     "status": cluster.get("CacheClusterStatus")}

    return {arn: attrs for arn, attrs in parallel_map(one, sorted(ids)) if attrs is not None}


def _search_domains(scope: Scope, region: str, ids: Mapping[str, str]) -> dict[str, Attrs]:
    """Five domains a call (the API's most); a deleted domain is gone. Data and dedicated master nodes price it."""
    client = scope.client("opensearch", region)
    by_name = {rid: arn for arn, rid in ids.items()}
    found: dict[str, Attrs] = {}
    for batch in chunks(sorted(by_name), 5):
        for domain in client.describe_domains(DomainNames=list(batch)).get("DomainStatusList") or []:
            arn = by_name.get(domain.get("DomainName"))
            if arn is None or domain.get("Deleted"):
                continue
            config = domain.get("ClusterConfig") or {}
            attrs: Attrs = {"instance_type": config.get("InstanceType"),
                            "instances": int(config.get("InstanceCount") or 1)}
            if config.get("DedicatedMasterEnabled"):
                attrs.update(master_type=config.get("DedicatedMasterType"),
                             masters=int(config.get("DedicatedMasterCount") or 0))
            found[arn] = attrs
    return found


CONFIRMERS.update({
    "elasticache:cluster": _cache_clusters,
    "es:domain": _search_domains,
    "ecs:cluster": _ecs_clusters,
    "ecs:service": _ecs_services,
    "elasticloadbalancing:loadbalancer/app": _load_balancers,
    "elasticloadbalancing:loadbalancer/net": _load_balancers,
    "elasticloadbalancing:loadbalancer/gwy": _load_balancers,
    "elasticloadbalancing:targetgroup": _target_groups,
    "kms:key": _kms_keys,
    "logs:log-group": _log_groups,
})


def confirm(scope: Scope, region: str, hits: Mapping[str, tuple[str, str, dict[str, str]]]) -> list[Resource]:
    """The tagging-API ``hits`` (arn -> (type, id, tags)) that really exist, as resources of the scope."""
    by_type: dict[str, dict[str, str]] = {}
    for arn, (rtype, rid, _) in hits.items():
        by_type.setdefault(rtype, {})[arn] = rid
    out: list[Resource] = []
    for rtype, ids in sorted(by_type.items()):
        checker = CONFIRMERS.get(rtype)
        found: Mapping[str, Attrs] = checker(scope, region, ids) if checker else {arn: {} for arn in ids}
        for arn, attrs in found.items():
            if attrs.get("_skip"):
                continue
            _, rid, tags = hits[arn]
            extra = {k: v for k, v in attrs.items() if not k.startswith("_")}
            res = make(scope, arn=arn, type=attrs.get("_type", rtype), id=rid, region=region, tags=tags,
                       pending=bool(attrs.get("_pending")), **extra)
            if res is not None:
                out.append(res)
    return out
