"""EC2 types the tagging API misses on the sandbox: Elastic IPs, launch templates, autoscaling groups."""

from __future__ import annotations

from typing import Any

from envctl.inventory.model import ENV_TAG, Resource, Scope, make, paginate, tag_dict

ACTIONS = ("ec2:DescribeAddresses", "ec2:DescribeLaunchTemplates", "autoscaling:DescribeAutoScalingGroups")


def tag_filters(scope: Scope) -> list[list[dict[str, Any]]]:
    """Server-side EC2 filters: the environment's tag, then each cluster's orphan tags (far fewer pages than
    listing everything, and the sandbox's launch-template pages stop at 200 without a NextToken)."""
    queries = [[{"Name": f"tag:{ENV_TAG}", "Values": [scope.env]}]]
    for name in scope.clusters:
        queries.append([{"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{name}"]}])
        queries.append([{"Name": "tag:eks:cluster-name", "Values": [name]}])
    return queries


def collect_addresses(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("ec2", region)
    out = []
    seen: set[str] = set()
    addresses = [a for filters in tag_filters(scope)
                 for a in client.describe_addresses(Filters=filters).get("Addresses") or []]
    for addr in addresses:
        if addr.get("AllocationId") in seen:
            continue
        seen.add(addr.get("AllocationId"))
        alloc = addr.get("AllocationId") or addr.get("PublicIp", "")
        res = make(scope, arn=f"arn:aws:ec2:{region}::elastic-ip/{alloc}", type="ec2:elastic-ip", id=alloc,
                   region=region, tags=tag_dict(addr.get("Tags")), public_ip=addr.get("PublicIp"),
                   associated=bool(addr.get("AssociationId")))
        if res is not None:
            out.append(res)
    return out


def collect_launch_templates(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("ec2", region)
    out = []
    seen: set[str] = set()
    # An explicit page size: the sandbox's default page (15) comes without a NextToken.
    templates = [lt for filters in tag_filters(scope)
                 for lt in paginate(client, "describe_launch_templates", "LaunchTemplates", Filters=filters,
                                    PaginationConfig={"PageSize": 200})]
    for lt in templates:
        lt_id = lt["LaunchTemplateId"]
        if lt_id in seen:
            continue
        seen.add(lt_id)
        res = make(scope, arn=f"arn:aws:ec2:{region}::launch-template/{lt_id}", type="ec2:launch-template",
                   id=lt_id, region=region, tags=tag_dict(lt.get("Tags")), name=lt.get("LaunchTemplateName"))
        if res is not None:
            out.append(res)
    return out


def collect_autoscaling_groups(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("autoscaling", region)
    out = []
    seen: set[str] = set()
    groups = [g for filters in tag_filters(scope)
              for g in paginate(client, "describe_auto_scaling_groups", "AutoScalingGroups", Filters=filters)]
    for group in groups:
        if group["AutoScalingGroupARN"] in seen:
            continue
        seen.add(group["AutoScalingGroupARN"])
        res = make(scope, arn=group["AutoScalingGroupARN"], type="autoscaling:autoScalingGroup",
                   id=group["AutoScalingGroupName"], region=region, tags=tag_dict(group.get("Tags")),
                   desired_capacity=group.get("DesiredCapacity"))
        if res is not None:
            out.append(res)
    return out
