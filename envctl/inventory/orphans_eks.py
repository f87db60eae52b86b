"""What EKS, its add-ons and eksctl make around a cluster, found by the tags they put on it.

The tagging collector asks for the environment's tag and the Kubernetes/EKS cluster tags; this one asks for
the tags it does not: the in-tree provider's and the EBS CSI driver's ``KubernetesCluster`` (volumes,
snapshots, security groups, classic load balancers), and eksctl's
``alpha.eksctl.io/cluster-name`` (its CloudFormation stacks and everything they made: VPC, subnets, NAT
gateway, addresses, security groups, roles). Values are matched exactly, so ``test`` never takes ``test-2``'s.

The cluster's IAM OIDC provider is found by the cluster's issuer: read from the live cluster, or recorded as an
output (``*OIDC_ISSUER`` / ``*OIDC_PROVIDER_ARN``) for after the cluster is gone; eksctl's is also tagged.
"""

from __future__ import annotations

from typing import Any

from envctl.inventory import confirm, parents
from envctl.inventory.model import GLOBAL, Resource, Scope, make, paginate, tag_dict
from envctl.inventory.tagging import OWNED_ELSEWHERE, parse_arn

ACTIONS = ("tag:GetResources", "cloudformation:DescribeStacks", "ec2:DescribeAddresses", "eks:DescribeCluster",
           "iam:ListOpenIDConnectProviders", "iam:ListOpenIDConnectProviderTags")

EKSCTL_TAG = "alpha.eksctl.io/cluster-name"
# (The CNI's ``cluster.k8s.amazonaws.com/name`` interfaces are the VPC collector's: only detached ones leak.)
EXTRA_TAG_KEYS = ("KubernetesCluster", EKSCTL_TAG)
_STACK_GONE = {"DELETE_COMPLETE"}


def collect_tagged(scope: Scope, region: str) -> list[Resource]:
    names = sorted(scope.clusters)
    if not names:
        return []
    client = scope.client("resourcegroupstaggingapi", region)
    hits: dict[str, tuple[str, str, dict[str, str]]] = {}
    for key in EXTRA_TAG_KEYS:
        for item in paginate(client, "get_resources", "ResourceTagMappingList",
                             TagFilters=[{"Key": key, "Values": names}]):
            rtype, rid = parse_arn(item["ResourceARN"])
            if not rtype.startswith(OWNED_ELSEWHERE):
                hits.setdefault(item["ResourceARN"], (rtype, rid, tag_dict(item.get("Tags"))))
    stacks = {arn: hit for arn, hit in hits.items() if hit[0] == "cloudformation:stack"}
    out = confirm.confirm(scope, region, {arn: hit for arn, hit in hits.items() if arn not in stacks})
    out += _stacks(scope, region, stacks)
    out += _eksctl_addresses(scope, region, names)
    return out


def _stacks(scope: Scope, region: str, hits: dict[str, tuple[str, str, dict[str, str]]]) -> list[Resource]:
    """eksctl's stacks that still exist (a DELETE_FAILED one holds what it could not delete)."""
    client = scope.client("cloudformation", region)
    out = []
    for arn, (_, _, tags) in sorted(hits.items()):
        try:
            stacks = client.describe_stacks(StackName=arn).get("Stacks") or []
        except client.exceptions.ClientError as err:
            if "does not exist" in str(err):
                continue  # gone between the tagging answer and this one
            raise
        for stack in stacks:
            if stack.get("StackStatus") in _STACK_GONE:
                continue
            res = make(scope, arn=stack["StackId"], type="cloudformation:stack", id=stack["StackName"],
                       region=region, tags=tags, status=stack.get("StackStatus"))
            if res is not None:
                out.append(res)
    return out


def _eksctl_addresses(scope: Scope, region: str, names: list[str]) -> list[Resource]:
    """Elastic IPs of eksctl's NAT gateway (the sandbox's tagging API does not return addresses)."""
    client = scope.client("ec2", region)
    out = []
    for addr in paginate(client, "describe_addresses", "Addresses",
                         Filters=[{"Name": f"tag:{EKSCTL_TAG}", "Values": names}]):
        alloc = addr.get("AllocationId", "")
        res = make(scope, arn=f"arn:{parents.partition(region)}:ec2:{region}::elastic-ip/{alloc}",
                   type="ec2:elastic-ip", id=alloc, region=region, tags=tag_dict(addr.get("Tags")),
                   public_ip=addr.get("PublicIp"), associated=bool(addr.get("AssociationId")))
        if res is not None:
            out.append(res)
    return out


def _issuers(scope: Scope, region: str) -> dict[str, tuple[str | None, str | None]]:
    """Issuer (as IAM names it) -> (cluster, component): the live clusters' and the recorded ones."""
    found: dict[str, tuple[str | None, str | None]] = {
        issuer: (None, comp) for issuer, comp in parents.recorded(scope, parents.OIDC_ISSUERS).items()}
    client = scope.client("eks", region)
    for name, comp in sorted(scope.clusters.items()):
        try:
            cluster = client.describe_cluster(name=name)["cluster"]
        except client.exceptions.ResourceNotFoundException:
            continue
        issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer")
        if issuer:
            found[parents.normalise(parents.OIDC_ISSUERS, issuer)] = (name, comp)
    return found


def collect_oidc(scope: Scope, region: str) -> list[Resource]:
    issuers = _issuers(scope, region)
    if not issuers:
        return []
    client = scope.client("iam", "us-east-1")
    out = []
    for provider in client.list_open_id_connect_providers().get("OpenIDConnectProviderList") or []:
        arn = provider["Arn"]
        issuer = arn.partition(":oidc-provider/")[2]
        if issuer not in issuers:
            continue
        cluster, component = issuers[issuer]
        tags = tag_dict(paginate(client, "list_open_id_connect_provider_tags", "Tags", OpenIDConnectProviderArn=arn))
        common: dict[str, Any] = {"arn": arn, "type": "iam:oidc-provider", "id": arn.rsplit("/", 1)[-1],
                                  "region": GLOBAL, "tags": tags, "issuer": issuer}
        res = (make(scope, cluster=cluster, **common) if cluster is not None
               else parents.adopt(scope, component=component, parent="recorded OIDC issuer", **common))
        if res is not None:
            out.append(res)
    return out
