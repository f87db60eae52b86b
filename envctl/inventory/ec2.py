"""EC2 types the tagging API misses on the sandbox: Elastic IPs, launch templates, autoscaling groups."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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


def _each_tagged(scope: Scope, client: Any, operation: str, key: str, identity: Callable[[Any], str],
                 **params: Any) -> Iterator[Any]:
    """The items of ``operation`` under each of the scope's tag filters, each item once."""
    seen: set[str] = set()
    for filters in tag_filters(scope):
        for item in paginate(client, operation, key, Filters=filters, **params):
            if identity(item) not in seen:
                seen.add(identity(item))
                yield item


def _kept(resources: Iterable[Resource | None]) -> list[Resource]:
    return [r for r in resources if r is not None]


def collect_addresses(scope: Scope, region: str) -> list[Resource]:
    def alloc(addr: Any) -> str:
        return str(addr.get("AllocationId") or addr.get("PublicIp", ""))

    return _kept(
        make(scope, arn=scope.arn("ec2", region, f"elastic-ip/{alloc(addr)}"), type="ec2:elastic-ip",
             id=alloc(addr), region=region, tags=tag_dict(addr.get("Tags")), public_ip=addr.get("PublicIp"),
             associated=bool(addr.get("AssociationId")))
        for addr in _each_tagged(scope, scope.client("ec2", region), "describe_addresses", "Addresses", alloc))


def collect_launch_templates(scope: Scope, region: str) -> list[Resource]:
    # An explicit page size: the sandbox's default page (15) comes without a NextToken.
    templates = _each_tagged(scope, scope.client("ec2", region), "describe_launch_templates", "LaunchTemplates",
                             lambda lt: lt["LaunchTemplateId"], PaginationConfig={"PageSize": 200})
    return _kept(
        make(scope, arn=scope.arn("ec2", region, f"launch-template/{lt['LaunchTemplateId']}"),
             type="ec2:launch-template", id=lt["LaunchTemplateId"], region=region, tags=tag_dict(lt.get("Tags")),
             name=lt.get("LaunchTemplateName"))
        for lt in templates)


def collect_autoscaling_groups(scope: Scope, region: str) -> list[Resource]:
    groups = _each_tagged(scope, scope.client("autoscaling", region), "describe_auto_scaling_groups",
                          "AutoScalingGroups", lambda g: g["AutoScalingGroupARN"])
    return _kept(
        make(scope, arn=group["AutoScalingGroupARN"], type="autoscaling:autoScalingGroup",
             id=group["AutoScalingGroupName"], region=region, tags=tag_dict(group.get("Tags")),
             desired_capacity=group.get("DesiredCapacity"))
        for group in groups)
