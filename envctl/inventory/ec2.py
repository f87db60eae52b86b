"""EC2 types the tagging API misses on the sandbox: Elastic IPs, launch templates, autoscaling groups."""

from __future__ import annotations

from envctl.inventory.model import Resource, Scope, make, paginate, tag_dict

ACTIONS = ("ec2:DescribeAddresses", "ec2:DescribeLaunchTemplates", "autoscaling:DescribeAutoScalingGroups")


def collect_addresses(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("ec2", region)
    out = []
    for addr in client.describe_addresses().get("Addresses") or []:
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
    for lt in paginate(client, "describe_launch_templates", "LaunchTemplates"):
        lt_id = lt["LaunchTemplateId"]
        res = make(scope, arn=f"arn:aws:ec2:{region}::launch-template/{lt_id}", type="ec2:launch-template",
                   id=lt_id, region=region, tags=tag_dict(lt.get("Tags")), name=lt.get("LaunchTemplateName"))
        if res is not None:
            out.append(res)
    return out


def collect_autoscaling_groups(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("autoscaling", region)
    out = []
    for group in paginate(client, "describe_auto_scaling_groups", "AutoScalingGroups"):
        res = make(scope, arn=group["AutoScalingGroupARN"], type="autoscaling:autoScalingGroup",
                   id=group["AutoScalingGroupName"], region=region, tags=tag_dict(group.get("Tags")),
                   desired_capacity=group.get("DesiredCapacity"))
        if res is not None:
            out.append(res)
    return out
