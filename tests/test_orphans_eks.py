"""What EKS's add-ons, its controllers and eksctl make around a cluster without the environment's tags."""

from __future__ import annotations

import json

import pytest

from tests.orphans_support import client, down, environment, ids, listed, tag_list, up, verify

pytestmark = pytest.mark.sandbox

CLUSTER = {
    "install.sh": """
aws eks create-cluster --name "$CLUSTER_NAME" --role-arn arn:aws:iam::123456789012:role/eks \\
  --resources-vpc-config subnetIds=[] --tags "$ENVCTL_TAGS_KV" >/dev/null
echo "CLUSTER_NAME=$CLUSTER_NAME" >> "$ENVCTL_OUTPUT"
""",
    "delete.sh": 'aws eks delete-cluster --name "$CLUSTER_CLUSTER_NAME" >/dev/null\n',
}


def cluster_env(root, extra: dict[str, dict[str, str]] | None = None) -> None:
    environment(root, {"cluster": CLUSTER, **(extra or {})}, vars="CLUSTER_NAME: test")
    up(root)


def volume(tags: dict[str, str], size: int = 10) -> str:
    return client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=size, VolumeType="gp3", TagSpecifications=[
        {"ResourceType": "volume", "Tags": tag_list(tags)}])["VolumeId"]


def test_volumes_the_ebs_csi_driver_made_are_found_after_the_cluster_is_gone(tmp_path, aws):
    cluster_env(tmp_path)
    csi = {"ebs.csi.aws.com/cluster": "true", "CSIVolumeName": "pvc-0b1c"}
    found = [volume({**csi, "KubernetesCluster": "test"}),                 # in-tree style cluster id tag
             volume({**csi, "kubernetes.io/cluster/test": "owned"})]       # k8s-tag-cluster-id set
    never = [volume({**csi, "KubernetesCluster": "test-2"}), volume({**csi, "kubernetes.io/cluster/test-2": "owned"}),
             volume(csi),                                                   # no cluster id: cannot be attributed
             volume({**csi, "KubernetesCluster": "test", "envctl:env": "prod"})]
    # A VolumeSnapshot the driver took: the snapshot carries the same tags and outlives the volume.
    snapshot = client("ec2").create_snapshot(VolumeId=found[0], TagSpecifications=[{
        "ResourceType": "snapshot", "Tags": tag_list({**csi, "KubernetesCluster": "test"})}])["SnapshotId"]

    down(tmp_path)
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    for vol in found:
        item = listed(data, "ec2:volume", vol)
        assert (item["component"], item["orphan_of"], item["region"]) == ("cluster", "test", "us-east-1")
        assert item["hourly_usd"] == round(10 * 0.08 / 730, 6)  # 10 GB gp3 at $0.08/GB-month
    snap = listed(data, "ec2:snapshot", snapshot)
    assert (snap["component"], snap["orphan_of"]) == ("cluster", "test")
    assert snap["hourly_usd"] == round(10 * 0.05 / 730, 6)  # $0.05/GB-month of the volume's size
    assert not ids(data) & set(never)


def test_load_balancers_target_groups_and_security_groups_of_the_controllers(tmp_path, aws):
    cluster_env(tmp_path)
    ec2, elbv2 = client("ec2"), client("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.80.{i}.0/24", AvailabilityZone=f"us-east-1{az}")
               ["Subnet"]["SubnetId"] for i, az in ((1, "a"), (2, "b"))]

    def sg(name: str, tags: dict[str, str]) -> str:
        return ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc, TagSpecifications=[
            {"ResourceType": "security-group", "Tags": tag_list(tags)}])["GroupId"]

    def alb(name: str, tags: dict[str, str], kind: str = "application") -> str:
        return elbv2.create_load_balancer(Name=name, Subnets=subnets, Type=kind, Tags=tag_list(tags))[
            "LoadBalancers"][0]["LoadBalancerName"]

    lbc = {"elbv2.k8s.aws/cluster": "test", "ingress.k8s.aws/stack": "shop/web"}
    in_tree = {"kubernetes.io/cluster/test": "owned", "kubernetes.io/service-name": "shop/web"}
    found_alb = alb("k8s-shop-web-1a2b3c", lbc)
    found_nlb = alb("k8s-shop-api-4d5e6f", {**lbc, "service.k8s.aws/stack": "shop/api"}, kind="network")
    tg = elbv2.create_target_group(Name="k8s-shop-web-7a8b9c", Protocol="HTTP", Port=80, VpcId=vpc,
                                   Tags=tag_list(lbc))["TargetGroups"][0]["TargetGroupName"]
    found_sgs = [sg("k8s-traffic-test-1a2b3c", lbc), sg("k8s-elb-a1b2c3", in_tree)]
    client("elb").create_load_balancer(LoadBalancerName="a1b2c3", Subnets=subnets, Listeners=[
        {"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 30080}], Tags=tag_list(in_tree))
    never = {alb("k8s-shop-web-other", {"elbv2.k8s.aws/cluster": "test-2"}),
             sg("k8s-traffic-test-2-xyz", {"elbv2.k8s.aws/cluster": "test-2"}),
             sg("k8s-elb-other", {"kubernetes.io/cluster/test-2": "owned"}),
             sg("shared-nodes", {"kubernetes.io/cluster/test": "shared"})}  # used by the cluster, not made by it

    down(tmp_path)
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    lb = listed(data, "elasticloadbalancing:loadbalancer/app", found_alb)
    assert (lb["component"], lb["orphan_of"], lb["hourly_usd"]) == ("cluster", "test", 0.0225)
    nlb = listed(data, "elasticloadbalancing:loadbalancer/net", found_nlb)
    assert (nlb["component"], nlb["hourly_usd"]) == ("cluster", 0.0225)
    classic = listed(data, "elasticloadbalancing:loadbalancer", "a1b2c3")
    assert (classic["component"], classic["hourly_usd"]) == ("cluster", 0.025)
    assert listed(data, "elasticloadbalancing:targetgroup", tg)["free"] is True
    for group in found_sgs:
        assert listed(data, "ec2:security-group", group)["component"] == "cluster"
    names = {r["id"] for r in data["resources"]} | {r["arn"].rsplit("/", 1)[-1] for r in data["resources"]}
    assert not names & never


def test_what_eksctl_made_is_found_by_its_cluster_tag(tmp_path, aws):
    # The sandbox cannot make a stack fail its delete (DELETE_FAILED, eksctl's usual leak): the stacks here
    # simply outlive the cluster, which is what verify sees either way.
    cluster_env(tmp_path)
    eksctl = {"alpha.eksctl.io/cluster-name": "test", "eksctl.cluster.k8s.io/v1alpha1/cluster-name": "test"}
    cfn, ec2 = client("cloudformation"), client("ec2")
    template = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
    stack = cfn.create_stack(StackName="eksctl-test-cluster", TemplateBody=template, Tags=tag_list(eksctl))
    addon = cfn.create_stack(StackName="eksctl-test-addon-iamserviceaccount-kube-system-ebs-csi",
                             TemplateBody=template, Tags=tag_list(eksctl))
    other = cfn.create_stack(StackName="eksctl-test-2-cluster", TemplateBody=template,
                             Tags=tag_list({"alpha.eksctl.io/cluster-name": "test-2"}))
    vpc = ec2.create_vpc(CidrBlock="10.90.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": tag_list({**eksctl, "Name": "eksctl-test-cluster/VPC"})}])["Vpc"]["VpcId"]
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=[
        {"ResourceType": "elastic-ip", "Tags": tag_list(eksctl)}])["AllocationId"]
    provider = client("iam").create_open_id_connect_provider(
        Url="https://oidc.eks.us-east-1.amazonaws.com/id/EKSCTLMADE", ThumbprintList=["a" * 40],
        Tags=tag_list(eksctl))["OpenIDConnectProviderArn"]

    down(tmp_path)
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    for stack_id in (stack["StackId"], addon["StackId"]):
        item = listed(data, "cloudformation:stack", stack_id)
        assert (item["component"], item["orphan_of"], item["hourly_usd"]) == ("cluster", "test", 0.0)
    assert listed(data, "ec2:vpc", vpc)["component"] == "cluster"
    ip = listed(data, "ec2:elastic-ip", eip)
    assert (ip["component"], ip["hourly_usd"]) == ("cluster", 0.005)
    oidc = listed(data, "iam:oidc-provider", provider)
    assert (oidc["component"], oidc["region"]) == ("cluster", "global")
    assert other["StackId"] not in {r["arn"] for r in data["resources"]}


def test_the_clusters_oidc_provider_is_found_by_its_issuer_then_by_the_recorded_issuer(tmp_path, aws):
    cluster = {**CLUSTER, "install.sh": CLUSTER["install.sh"] + """
issuer=$(aws eks describe-cluster --name "$CLUSTER_NAME" --query cluster.identity.oidc.issuer --output text)
echo "OIDC_ISSUER=$issuer" >> "$ENVCTL_OUTPUT"
"""}
    environment(tmp_path, {"cluster": cluster}, vars="CLUSTER_NAME: test")
    up(tmp_path)
    issuer = client("eks").describe_cluster(name="test")["cluster"]["identity"]["oidc"]["issuer"]
    iam = client("iam")
    # IRSA's provider as a script or module makes it: untagged, named by the cluster's issuer.
    provider = iam.create_open_id_connect_provider(Url=issuer, ThumbprintList=["a" * 40],
                                                   ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"]
    stranger = iam.create_open_id_connect_provider(Url="https://oidc.eks.us-east-1.amazonaws.com/id/SOMEONEELSE",
                                                   ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]

    alive = verify(tmp_path)
    item = listed(alive, "iam:oidc-provider", provider)
    assert (item["component"], item["orphan_of"], item["region"], item["hourly_usd"]) == \
        ("cluster", "test", "global", 0.0)

    down(tmp_path)
    gone = verify(tmp_path)
    assert gone["exit_code"] == 5
    item = listed(gone, "iam:oidc-provider", provider)
    assert (item["component"], item["region"]) == ("cluster", "global")
    assert stranger not in {r["arn"] for r in alive["resources"] + gone["resources"]}
