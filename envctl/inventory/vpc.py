"""Inside the environment's VPCs: endpoints, network interfaces AWS services leave behind, recorded addresses.

- VPC endpoints: an interface endpoint bills per AZ-hour and blocks the VPC's delete. The sandbox's tagging API
  does not return endpoints, so they are listed with ``DescribeVpcEndpoints``: those in the environment's VPCs
  (attributed to the VPC's component unless they carry their own tags) and those tagged with the environment.
- Detached network interfaces AWS made for the environment's parents: the VPC CNI's (``aws-K8S-<instance>``,
  tagged ``cluster.k8s.amazonaws.com/name`` by current CNI versions), the EKS control plane's
  (``Amazon EKS <cluster>``) and Lambda's (``AWS Lambda VPC ENI-<function>-<uuid>``). They block the deletes
  of subnets and security groups; a public IP on one bills. Only these families are listed: any detached
  interface in the VPC would also take the sandbox's interface-endpoint and NAT interfaces, which it shows as
  plain detached ones (AWS shows them in use, of type ``vpc_endpoint`` / ``nat_gateway``).
- Elastic IPs an output recorded (``*ALLOCATION_ID``): a NAT gateway's address allocated without tags outlives
  the NAT gateway and bills by the hour.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from envctl.inventory import parents
from envctl.inventory.model import ENV_TAG, Resource, Scope, make, paginate, tag_dict

ACTIONS = ("ec2:DescribeVpcEndpoints", "ec2:DescribeNetworkInterfaces", "ec2:DescribeAddresses")

_GONE_ENDPOINT = {"deleted", "rejected", "failed", "expired"}
_LAMBDA_ENI = re.compile(r"AWS Lambda VPC ENI-(?P<rest>.+)-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")


def _endpoints(scope: Scope, region: str, vpcs: Mapping[str, str | None]) -> list[Any]:
    client = scope.client("ec2", region)
    queries = [[{"Name": f"tag:{ENV_TAG}", "Values": [scope.env]}]]
    if vpcs:
        queries.append([{"Name": "vpc-id", "Values": sorted(vpcs)}])
    seen: dict[str, Any] = {}
    for filters in queries:
        for ep in paginate(client, "describe_vpc_endpoints", "VpcEndpoints", Filters=filters):
            seen.setdefault(ep["VpcEndpointId"], ep)
    return list(seen.values())


def collect(scope: Scope, region: str) -> list[Resource]:
    """Endpoints and detached interfaces of the environment's VPCs (one look-up of which VPCs are its own)."""
    vpcs = parents.environment_vpcs(scope, region)
    return _endpoint_resources(scope, region, vpcs) + _eni_resources(scope, region, vpcs)


def _endpoint_resources(scope: Scope, region: str, vpcs: Mapping[str, str | None]) -> list[Resource]:
    out = []
    for ep in _endpoints(scope, region, vpcs):
        state = str(ep.get("State", "")).lower()
        if state in _GONE_ENDPOINT:
            continue
        ep_id, vpc_id = ep["VpcEndpointId"], ep.get("VpcId")
        res = parents.adopt(
            scope, component=vpcs.get(vpc_id), parent=f"VPC {vpc_id}",
            arn=parents.arn("ec2", region, ep.get("OwnerId", ""), f"vpc-endpoint/{ep_id}"),
            type="ec2:vpc-endpoint", id=ep_id, region=region, tags=tag_dict(ep.get("Tags")),
            endpoint_type=ep.get("VpcEndpointType"), service=ep.get("ServiceName"), state=state,
            azs=len(ep.get("SubnetIds") or []) or None)
        if res is not None:
            out.append(res)
    return out


CNI_TAG = "cluster.k8s.amazonaws.com/name"


def _enis(scope: Scope, region: str, vpcs: Mapping[str, str | None]) -> list[Any]:
    """Detached interfaces: the environment's clusters' CNI-tagged ones anywhere, and the family-described
    ones in the environment's VPCs."""
    client = scope.client("ec2", region)
    available = {"Name": "status", "Values": ["available"]}
    queries = []
    if scope.clusters:
        queries.append([available, {"Name": f"tag:{CNI_TAG}", "Values": sorted(scope.clusters)}])
    if vpcs:
        described = ["aws-K8S-*", "Amazon EKS *", "AWS Lambda VPC ENI-*"]
        queries.append([available, {"Name": "vpc-id", "Values": sorted(vpcs)},
                        {"Name": "description", "Values": described}])
    seen: dict[str, Any] = {}
    for filters in queries:
        for eni in paginate(client, "describe_network_interfaces", "NetworkInterfaces", Filters=filters):
            seen.setdefault(eni["NetworkInterfaceId"], eni)
    return list(seen.values())


def _eni_parent(scope: Scope, eni: Any, tags: Mapping[str, str],
                vpcs: Mapping[str, str | None]) -> tuple[str | None, str | None, str]:
    """(cluster, component, parent) of a detached interface, or cluster None when it is not a cluster's."""
    desc = str(eni.get("Description") or "")
    cluster = tags.get(CNI_TAG)
    if cluster is None and desc.startswith("Amazon EKS "):
        cluster = desc.removeprefix("Amazon EKS ")
    if cluster is None and desc.startswith("aws-K8S-") and len(scope.clusters) == 1:
        cluster = next(iter(scope.clusters))  # an untagged CNI interface: the environment's one cluster
    if cluster is not None:
        return (cluster, scope.clusters[cluster], f"EKS cluster {cluster}") if cluster in scope.clusters \
            else (None, None, "")
    functions = parents.recorded(scope, parents.FUNCTIONS)
    match = _LAMBDA_ENI.match(desc)
    if match and match["rest"] in functions:
        return None, functions[match["rest"]], f"Lambda function {match['rest']}"
    vpc_id = eni.get("VpcId")
    return None, vpcs.get(vpc_id), f"VPC {vpc_id}"


def _eni_resources(scope: Scope, region: str, vpcs: Mapping[str, str | None]) -> list[Resource]:
    out = []
    for eni in _enis(scope, region, vpcs):
        tags = tag_dict(eni.get("TagSet"))
        cluster, component, parent = _eni_parent(scope, eni, tags, vpcs)
        if not parent or (cluster is None and eni.get("VpcId") not in vpcs):
            continue  # another cluster's interface, or a family description outside the environment's VPCs
        eni_id = eni["NetworkInterfaceId"]
        common = {"arn": parents.arn("ec2", region, eni.get("OwnerId", ""), f"network-interface/{eni_id}"),
                  "type": "ec2:network-interface", "id": eni_id, "region": region, "tags": tags,
                  "status": eni.get("Status"), "description": eni.get("Description"),
                  "public_ip": bool((eni.get("Association") or {}).get("PublicIp"))}
        res = (make(scope, cluster=cluster, **common) if cluster is not None
               else parents.adopt(scope, component=component, parent=parent, **common))
        if res is not None:
            out.append(res)
    return out


def collect_addresses(scope: Scope, region: str) -> list[Resource]:
    """Elastic IPs an output recorded, tagged or not (tagged ones are also found by their tags)."""
    wanted = parents.recorded(scope, parents.ADDRESSES)
    if not wanted:
        return []
    client = scope.client("ec2", region)
    out = []
    for addr in paginate(client, "describe_addresses", "Addresses",
                         Filters=[{"Name": "allocation-id", "Values": sorted(wanted)}]):
        alloc = addr.get("AllocationId", "")
        res = parents.adopt(scope, component=wanted.get(alloc), parent="recorded address",
                            arn=f"arn:{parents.partition(region)}:ec2:{region}::elastic-ip/{alloc}",
                            type="ec2:elastic-ip", id=alloc, region=region, tags=tag_dict(addr.get("Tags")),
                            public_ip=addr.get("PublicIp"), associated=bool(addr.get("AssociationId")))
        if res is not None:
            out.append(res)
    return out
