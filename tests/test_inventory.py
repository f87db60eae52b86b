"""The read-only inventory against the sandbox: what is found, whose it is, what is never reported."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest

from envctl.inventory import Collector, Inventory, ReadOnlyViolation, Resource, collect
from envctl.inventory.core import GuardedClients

pytestmark = pytest.mark.sandbox

REGION = "us-east-1"


def factory(service: str, region: str):
    return boto3.client(service, region_name=region)


def tags(component: str | None = None, env: str = "test", **extra: str) -> list[dict[str, str]]:
    out = [{"Key": "envctl:env", "Value": env}]
    if component:
        out.append({"Key": "envctl:component", "Value": component})
    out += [{"Key": k, "Value": v} for k, v in extra.items()]
    return out


def spec(kind: str, tag_list: list[dict[str, str]]) -> list[dict]:
    return [{"ResourceType": kind, "Tags": tag_list}]


def run(**kw) -> Inventory:
    kw.setdefault("regions", [REGION])
    return collect("test", client_factory=factory, **kw)


def by_id(inv: Inventory) -> dict[str, Resource]:
    return {r.id: r for r in (*inv.resources, *inv.pending)}


def test_forgotten_iam_policy_is_found_with_its_arn_and_component(aws):
    iam = boto3.client("iam")
    doc = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="orders-writer", PolicyDocument=json.dumps(doc),
                            Tags=tags("app"))["Policy"]["Arn"]
    iam.create_role(RoleName="app-role", AssumeRolePolicyDocument="{}", Tags=tags("app"))
    iam.create_role(RoleName="stranger", AssumeRolePolicyDocument="{}")

    inv = run()
    assert inv.errors == {}
    found = by_id(inv)
    assert found["orders-writer"].arn == arn
    assert found["orders-writer"].component == "app"
    assert found["orders-writer"].region == "global"
    assert found["app-role"].type == "iam:role"
    assert "stranger" not in found
    # Narrowed to the component, as `down` asks after each delete.
    assert {r.id for r in run(component="app").resources} == {"orders-writer", "app-role"}
    assert run(component="network").resources == ()


def test_untagged_eks_orphans_are_attributed_to_the_cluster_component(aws):
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/aws/eks/demo/cluster")
    logs.create_log_group(logGroupName="/aws/eks/other-cluster/cluster")
    ec2 = boto3.client("ec2")
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=20, VolumeType="gp3", TagSpecifications=[
        {"ResourceType": "volume", "Tags": [{"Key": "kubernetes.io/cluster/demo", "Value": "owned"}]}])
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
               ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
    elb = boto3.client("elbv2")
    lb = elb.create_load_balancer(Name="k8s-web", Subnets=subnets, Type="application",
                                  Tags=[{"Key": "elbv2.k8s.aws/cluster", "Value": "demo"}])
    lb = lb["LoadBalancers"][0]
    # A stranger: same kind of tags, another cluster.
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=5, TagSpecifications=spec(
        "volume", [{"Key": "kubernetes.io/cluster/other-cluster", "Value": "owned"}]))

    inv = run(clusters={"demo": "cluster"})
    assert inv.errors == {}
    found = by_id(inv)
    assert found["/aws/eks/demo/cluster"].component == "cluster"
    assert found["/aws/eks/demo/cluster"].orphan_of == "demo"
    assert found[vol["VolumeId"]].component == "cluster"
    assert found[vol["VolumeId"]].attrs["size_gb"] == 20
    lb_res = next(r for r in inv.resources if r.arn == lb["LoadBalancerArn"])
    assert lb_res.type == "elasticloadbalancing:loadbalancer/app"
    assert lb_res.component == "cluster"
    assert len(inv.resources) == 3, [r.id for r in inv.resources]
    # Without the cluster name nothing of it is reported: the inventory never guesses.
    assert run().resources == ()


def test_other_env_and_strangers_and_lingering_deleted_things_are_not_reported(aws):
    ec2 = boto3.client("ec2")
    ec2.create_vpc(CidrBlock="10.2.0.0/16", TagSpecifications=spec("vpc", tags("network", env="prod")))
    ec2.create_vpc(CidrBlock="10.3.0.0/16")
    # prod's volume, even if it names our cluster, is prod's.
    ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, TagSpecifications=spec(
        "volume", tags("cluster", env="prod", **{"kubernetes.io/cluster/demo": "owned"})))
    vpc = ec2.create_vpc(CidrBlock="10.4.0.0/16",
                         TagSpecifications=spec("vpc", tags("network")))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.4.1.0/24", AvailabilityZone="us-east-1a",
                               TagSpecifications=spec("subnet", tags("network")))["Subnet"]["SubnetId"]
    subnet_b = ec2.create_subnet(VpcId=vpc, CidrBlock="10.4.2.0/24", AvailabilityZone="us-east-1b")[
        "Subnet"]["SubnetId"]
    inst = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="t3.medium",
                             SubnetId=subnet, TagSpecifications=spec("instance", tags("app")))
    ec2.terminate_instances(InstanceIds=[inst["Instances"][0]["InstanceId"]])
    eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=eip,
                                 TagSpecifications=spec("natgateway", tags("network")))["NatGateway"]
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    ec2.release_address(AllocationId=eip)
    elb = boto3.client("elbv2")
    lb = elb.create_load_balancer(Name="gone", Subnets=[subnet, subnet_b], Tags=tags("app"))
    lb = lb["LoadBalancers"][0]
    elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])

    inv = run(clusters={"demo": "cluster"})
    assert inv.errors == {}
    ids = set(by_id(inv))
    # What is really left: our VPC and our subnet. Never the default VPC, its subnets or its security group.
    assert ids == {vpc, subnet}
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    assert default_vpc not in ids


def test_pending_deletions_are_apart(aws):
    kms = boto3.client("kms")
    key = kms.create_key(Tags=[{"TagKey": "envctl:env", "TagValue": "test"},
                               {"TagKey": "envctl:component", "TagValue": "app"}])["KeyMetadata"]["KeyId"]
    live = kms.create_key(Tags=[{"TagKey": "envctl:env", "TagValue": "test"}])["KeyMetadata"]["KeyId"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name="db-pass", SecretString="x", Tags=tags("app"))
    sm.delete_secret(SecretId="db-pass", RecoveryWindowInDays=7)

    inv = run()
    assert inv.errors == {}
    assert {r.id for r in inv.pending} == {key, "db-pass"}
    assert all(r.pending_deletion for r in inv.pending)
    assert {r.id for r in inv.resources} == {live}


def test_services_outside_the_tagging_api_are_listed(aws):
    ec2 = boto3.client("ec2")
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip", tags("network")))
    ec2.allocate_address(Domain="vpc")
    ec2.create_launch_template(LaunchTemplateName="nodes", LaunchTemplateData={"InstanceType": "t3.small"},
                               TagSpecifications=spec("launch-template", tags("cluster")))
    eks = boto3.client("eks")
    eks.create_cluster(name="demo", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": []},
                       tags={"envctl:env": "test", "envctl:component": "cluster"})
    eks.create_nodegroup(clusterName="demo", nodegroupName="ng", nodeRole="arn:aws:iam::123456789012:role/n",
                         subnets=["subnet-1"], instanceTypes=["t3.medium"])
    eks.create_cluster(name="stranger", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": []})
    boto3.client("ecr").create_repository(repositoryName="web", tags=tags("app"))
    boto3.client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="workers", MinSize=0, MaxSize=1, DesiredCapacity=0,
        LaunchTemplate={"LaunchTemplateName": "nodes"}, AvailabilityZones=["us-east-1a"],
        Tags=[{"Key": k["Key"], "Value": k["Value"], "PropagateAtLaunch": True} for k in tags("cluster")])
    r53 = boto3.client("route53")
    zone = r53.create_hosted_zone(Name="test.example.com", CallerReference="x")["HostedZone"]["Id"]
    zone = zone.split("/")[-1]
    r53.change_tags_for_resource(ResourceType="hostedzone", ResourceId=zone,
                                 AddTags=[{"Key": "envctl:env", "Value": "test"}])
    iam = boto3.client("iam")
    iam.create_instance_profile(InstanceProfileName="nodes", Tags=tags("cluster"))
    iam.create_open_id_connect_provider(Url="https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
                                        ThumbprintList=["a" * 40], Tags=tags("cluster"))

    inv = run(clusters={"demo": "cluster"})
    assert inv.errors == {}
    types = {r.type: r for r in inv.resources}
    assert types["ec2:elastic-ip"].id == eip["AllocationId"]
    assert set(types) == {"ec2:elastic-ip", "ec2:launch-template", "eks:cluster", "eks:nodegroup",
                          "ecr:repository", "autoscaling:autoScalingGroup", "route53:hostedzone",
                          "iam:instance-profile", "iam:oidc-provider"}
    assert types["eks:nodegroup"].component == "cluster"
    assert types["route53:hostedzone"].region == "global"
    assert inv.api_calls > 10


def test_rds_final_snapshot_of_an_env_instance_is_found(aws):
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="orders", DBInstanceClass="db.t4g.micro", Engine="postgres",
                           AllocatedStorage=20, MasterUsername="u", MasterUserPassword="password1",
                           Tags=tags("rds-orders"))
    rds.delete_db_instance(DBInstanceIdentifier="orders", FinalDBSnapshotIdentifier="orders-final")
    rds.create_db_instance(DBInstanceIdentifier="theirs", DBInstanceClass="db.t3.micro", Engine="mysql",
                           AllocatedStorage=5, MasterUsername="u", MasterUserPassword="password1")
    rds.create_db_snapshot(DBInstanceIdentifier="theirs", DBSnapshotIdentifier="theirs-snap")

    inv = run(db_instances={"orders": "rds-orders"})
    assert inv.errors == {}
    assert [(r.id, r.component) for r in inv.resources] == [("orders-final", "rds-orders")]


def test_the_guard_refuses_a_write_and_nothing_changes(aws):
    ec2 = boto3.client("ec2")
    before = len(ec2.describe_vpcs()["Vpcs"])

    def sneaky(scope, region):
        scope.client("ec2", region).create_vpc(CidrBlock="10.9.0.0/16")
        return []

    def undeclared(scope, region):
        scope.client("ec2", region).describe_key_pairs()  # a read no collector declares
        return []

    inv = collect("test", regions=[REGION], client_factory=factory,
                  collectors=[Collector("sneaky", sneaky), Collector("undeclared", undeclared)])
    assert "refused ec2:CreateVpc" in inv.errors["sneaky@us-east-1"]
    assert "not in the declared read actions" in inv.errors["undeclared@us-east-1"]
    assert len(ec2.describe_vpcs()["Vpcs"]) == before
    assert inv.api_calls == 0

    guarded = GuardedClients(factory)("iam", REGION)
    with pytest.raises(ReadOnlyViolation):
        guarded.create_role(RoleName="x", AssumeRolePolicyDocument="{}")
    assert boto3.client("iam").list_roles()["Roles"] == []


def test_a_failing_collector_is_reported_not_dropped(aws, monkeypatch):
    def broken(service, region):
        if service == "eks":
            return boto3.client(service, region_name=region, endpoint_url="http://127.0.0.1:9")
        return factory(service, region)

    from botocore.config import Config  # noqa: F401  (kept close: the broken endpoint fails fast)

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    inv = collect("test", regions=[REGION], client_factory=broken)
    assert "eks@us-east-1" in inv.errors
    assert not inv.complete


def _post(url: str, body: dict) -> None:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def test_tagged_log_groups_and_volumes_carry_what_pricing_needs(aws):
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/app/web", tags={"envctl:env": "test", "envctl:component": "app"})
    logs.create_log_group(logGroupName="/app/gone", tags={"envctl:env": "test", "envctl:component": "app"})
    logs.delete_log_group(logGroupName="/app/gone")
    ec2 = boto3.client("ec2")
    vol = ec2.create_volume(AvailabilityZone="us-east-1a", Size=50, VolumeType="gp2",
                            TagSpecifications=spec("volume", tags("app")))["VolumeId"]
    ec2.create_snapshot(VolumeId=vol, TagSpecifications=spec("snapshot", tags("app")))

    inv = run()
    assert inv.errors == {}
    found = {r.type: r for r in inv.resources}
    assert set(found) == {"logs:log-group", "ec2:volume", "ec2:snapshot"}
    assert found["logs:log-group"].id == "/app/web"
    assert found["logs:log-group"].attrs["stored_gb"] == 0
    assert (found["ec2:volume"].attrs["volume_type"], found["ec2:volume"].attrs["size_gb"]) == ("gp2", 50)
    assert found["ec2:snapshot"].attrs["size_gb"] == 50
