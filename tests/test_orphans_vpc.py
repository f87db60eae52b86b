"""Inside the environment's VPC: endpoints, interfaces AWS services leave behind, a recorded Elastic IP."""

from __future__ import annotations

import json

import pytest

from tests.orphans_support import client, down, environment, ids, listed, tag_list, up, verify

pytestmark = pytest.mark.sandbox

NETWORK = {
    "install.sh": """
vpc=$(aws ec2 create-vpc --cidr-block 10.70.0.0/16 --query Vpc.VpcId --output text)
aws ec2 create-tags --resources "$vpc" --tags $ENVCTL_TAGS_CLI
a=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.70.1.0/24 --availability-zone us-east-1a \\
  --query Subnet.SubnetId --output text)
b=$(aws ec2 create-subnet --vpc-id "$vpc" --cidr-block 10.70.2.0/24 --availability-zone us-east-1b \\
  --query Subnet.SubnetId --output text)
echo "VPC_ID=$vpc" >> "$ENVCTL_OUTPUT"
echo "SUBNET_IDS=$a,$b" >> "$ENVCTL_OUTPUT"
""",
}


def other_vpc() -> tuple[str, str]:
    """Another environment's VPC and subnet (what must never be listed lives here)."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.71.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": tag_list({"envctl:env": "prod"})}])["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.71.1.0/24", AvailabilityZone="us-east-1a")
    return vpc, subnet["Subnet"]["SubnetId"]


def outputs(root, component: str) -> dict[str, str]:
    from envctl.state.local import LocalBackend

    return dict(LocalBackend(root).load("test").components[component].outputs)


def test_vpc_endpoints_are_listed_through_ec2_and_priced_per_az(tmp_path, aws):
    environment(tmp_path, {"network": NETWORK})
    up(tmp_path)
    net = outputs(tmp_path, "network")
    ec2 = client("ec2")
    # What a platform module adds without the environment's tags: an interface endpoint in two AZs and
    # the S3 gateway endpoint (free).
    interface = ec2.create_vpc_endpoint(VpcId=net["VPC_ID"], ServiceName="com.amazonaws.us-east-1.ecr.api",
                                        VpcEndpointType="Interface", SubnetIds=net["SUBNET_IDS"].split(","))
    gateway = ec2.create_vpc_endpoint(VpcId=net["VPC_ID"], ServiceName="com.amazonaws.us-east-1.s3",
                                      VpcEndpointType="Gateway")
    # Lookalikes: an endpoint in another environment's VPC, and one in ours carrying another environment's tag.
    vpc, subnet = other_vpc()
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.ecr.api",
                            VpcEndpointType="Interface", SubnetIds=[subnet])
    ec2.create_vpc_endpoint(VpcId=net["VPC_ID"], ServiceName="com.amazonaws.us-east-1.sts",
                            VpcEndpointType="Interface", SubnetIds=net["SUBNET_IDS"].split(",")[:1],
                            TagSpecifications=[{"ResourceType": "vpc-endpoint",
                                                "Tags": tag_list({"envctl:env": "prod"})}])

    data = verify(tmp_path)
    assert data["exit_code"] == 5
    ep = listed(data, "ec2:vpc-endpoint", interface["VpcEndpoint"]["VpcEndpointId"])
    assert (ep["component"], ep["region"], ep["hourly_usd"]) == ("network", "us-east-1", 0.02)  # 2 AZ x $0.01
    assert ep["attrs"]["parent"] == f"VPC {net['VPC_ID']}"
    gw = listed(data, "ec2:vpc-endpoint", gateway["VpcEndpoint"]["VpcEndpointId"])
    assert (gw["component"], gw["hourly_usd"], gw["free"]) == ("network", 0.0, True)
    assert ids(data) == {ep["id"], gw["id"], net["VPC_ID"]}  # the VPC carries the tag; its subnets do not
    assert data["unpriced"] == 0


def test_detached_interfaces_of_the_cni_eks_and_lambda_are_found_after_the_cluster_is_gone(tmp_path, aws):
    cluster = {
        "install.sh": """
aws eks create-cluster --name "$CLUSTER_NAME" --role-arn arn:aws:iam::123456789012:role/eks \\
  --resources-vpc-config "subnetIds=$NETWORK_SUBNET_IDS" --tags "$ENVCTL_TAGS_KV" >/dev/null
echo "CLUSTER_NAME=$CLUSTER_NAME" >> "$ENVCTL_OUTPUT"
""",
        "delete.sh": 'aws eks delete-cluster --name "$CLUSTER_CLUSTER_NAME" >/dev/null\n',
    }
    api = {"install.sh": 'echo "FUNCTION_NAME=api" >> "$ENVCTL_OUTPUT"\n'}
    environment(tmp_path, {"network": NETWORK, "cluster": cluster, "api": api}, vars="CLUSTER_NAME: test",
                depends={"cluster": ["network"], "api": ["network"]})
    up(tmp_path)
    net = outputs(tmp_path, "network")
    ours = net["SUBNET_IDS"].split(",")[0]
    _, theirs = other_vpc()
    ec2 = client("ec2")

    def eni(subnet: str, description: str, cluster_tag: str | None = None) -> str:
        extra = {} if cluster_tag is None else {"TagSpecifications": [{
            "ResourceType": "network-interface", "Tags": tag_list({"cluster.k8s.amazonaws.com/name": cluster_tag})}]}
        return ec2.create_network_interface(SubnetId=subnet, Description=description,
                                            **extra)["NetworkInterface"]["NetworkInterfaceId"]

    uuid = "1f414cf6-49c8-46ef-942c-5e41d9c44741"
    found = {
        eni(theirs, "aws-K8S-i-0a1b2c3d4e5f60001", cluster_tag="test"): "cluster",  # the CNI's tag wins
        eni(ours, "aws-K8S-i-0a1b2c3d4e5f60002"): "cluster",                      # untagged, in our VPC
        eni(ours, "Amazon EKS test"): "cluster",
        eni(ours, f"AWS Lambda VPC ENI-api-{uuid}"): "api",
    }
    never = [eni(theirs, "aws-K8S-i-0a1b2c3d4e5f60003", cluster_tag="test-2"),
             eni(theirs, "aws-K8S-i-0a1b2c3d4e5f60004"), eni(ours, "Amazon EKS test-2"),
             eni(theirs, f"AWS Lambda VPC ENI-api-{uuid}")]

    down(tmp_path)
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    for eni_id, component in found.items():
        item = listed(data, "ec2:network-interface", eni_id)
        assert (item["component"], item["region"], item["hourly_usd"]) == (component, "us-east-1", 0.0)
    assert listed(data, "ec2:network-interface", next(iter(found)))["orphan_of"] == "test"
    assert not ids(data) & set(never)


def test_an_untagged_elastic_ip_recorded_as_an_output_outlives_its_nat_gateway(tmp_path, aws):
    network = {
        "install.sh": """
alloc=$(aws ec2 allocate-address --domain vpc --query AllocationId --output text)
echo "NAT_ALLOCATION_ID=$alloc" >> "$ENVCTL_OUTPUT"
""",
        "delete.sh": "true  # forgets release-address\n",
    }
    environment(tmp_path, {"network": network})
    up(tmp_path)
    alloc = outputs(tmp_path, "network")["NAT_ALLOCATION_ID"]
    stranger = client("ec2").allocate_address(Domain="vpc")["AllocationId"]

    assert "eipalloc" in down(tmp_path)
    data = verify(tmp_path)
    assert data["exit_code"] == 5
    eip = listed(data, "ec2:elastic-ip", alloc)
    assert (eip["component"], eip["region"], eip["hourly_usd"]) == ("network", "us-east-1", 0.005)
    assert stranger not in ids(data)


def test_parents_come_from_outputs_and_vars_but_a_vpc_only_from_an_output(tmp_path):
    from envctl.config.load import load_environment
    from envctl.teardown.verify import targets_from

    environment(tmp_path, {"network": {}, "api": {}, "db": {}})
    env = load_environment(tmp_path, "test")
    outputs = {"network": {"VPC_ID": "vpc-1", "NAT_ALLOCATION_ID": "eipalloc-1"},
               "api": {"FUNCTION_NAME": "api", "ISSUER_OIDC_PROVIDER_ARN":
                       "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"},
               "db": {"ORDERS_DB_CLUSTER_ID": "orders,events"}}
    vars = {"api": {"SHARED_VPC_ID": "vpc-shared", "WORKER_FUNCTION_NAME": "worker"}}
    parents = targets_from(env, outputs).parents
    assert parents["vpcs"] == {"vpc-1": "network"} and parents["eips"] == {"eipalloc-1": "network"}
    assert parents["db_clusters"] == {"orders": "db", "events": "db"}
    assert parents["oidc_issuers"] == {"oidc.eks.us-east-1.amazonaws.com/id/ABC": "api"}

    from envctl.inventory.parents import parents_from

    by_vars = parents_from(outputs, vars)
    assert by_vars["functions"] == {"api": "api", "worker": "api"}
    assert "vpc-shared" not in by_vars["vpcs"]  # a var may name a VPC the environment only uses


def test_print_policy_grants_the_reads_of_the_orphan_families(tmp_path):
    from tests.conftest import run_cli

    res = run_cli("verify", "--print-policy", root=tmp_path)
    assert res.exit_code == 0, res.output
    actions = set(json.loads(res.stdout)["Statement"][0]["Action"])
    assert {"ec2:DescribeVpcEndpoints", "ec2:DescribeNetworkInterfaces", "ec2:DescribeAddresses",
            "rds:DescribeDBClusters", "rds:DescribeDBClusterSnapshots", "cloudformation:DescribeStacks",
            "eks:DescribeCluster", "iam:ListOpenIDConnectProviders", "logs:DescribeLogGroups"} <= actions
