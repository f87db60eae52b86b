"""The parents orphans hang on: what the environment created that AWS services make untagged things for.

A parent is known two ways. Recorded: a component's output (or var) names it, by the key's suffix
(``VPC_ID``, ``DB_CLUSTER_ID``, ``FUNCTION_NAME``, ``OIDC_ISSUER``, ``ALLOCATION_ID``...); ``down`` keeps a
deleted component's outputs as ``deleted_outputs``, so a parent that is gone is still known by its id and its
orphans (a function's log group, an Aurora cluster's final snapshot) are still found. Live: it carries the
environment's tag now. An orphan is attributed to the component that created its parent.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from envctl.inventory.model import COMPONENT_TAG, ENV_TAG, Resource, Scope, make, paginate, tag_dict

Parents = Mapping[str, Mapping[str, str | None]]
"""kind -> {parent id -> the component that created it}."""

VPCS, DB_CLUSTERS, FUNCTIONS, OIDC_ISSUERS, ADDRESSES = "vpcs", "db_clusters", "functions", "oidc_issuers", "eips"

# Output/var key suffixes naming a parent of each kind (``ORDERS_DB_CLUSTER_ID`` names a DB cluster).
KEY_SUFFIXES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    VPCS: ("VPC_ID",),
    DB_CLUSTERS: ("DB_CLUSTER_ID", "DB_CLUSTER_IDENTIFIER"),
    FUNCTIONS: ("FUNCTION_NAME",),
    OIDC_ISSUERS: ("OIDC_ISSUER", "OIDC_ISSUER_URL", "OIDC_PROVIDER_ARN"),
    ADDRESSES: ("ALLOCATION_ID",),
})

ACTIONS = ("tag:GetResources", "ec2:DescribeVpcs")


# A var may name something that existed before the environment (a shared VPC, a reserved address): only an
# output makes these the environment's own.
OUTPUT_ONLY = frozenset({VPCS, ADDRESSES})


def _named(values: Mapping[str, str], kinds: Iterable[str]) -> Iterator[tuple[str, str]]:
    """(kind, id) for each value whose key names a parent (a comma-separated value names several)."""
    for key, value in values.items():
        for kind in kinds:
            if value and key.endswith(KEY_SUFFIXES[kind]):
                yield from ((kind, normalise(kind, one.strip())) for one in str(value).split(",") if one.strip())


def parents_from(outputs: Mapping[str, Mapping[str, str]],
                 vars: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, dict[str, str | None]]:
    """The parents named by each component's outputs and vars (both ``{component: {key: value}}``)."""
    found: dict[str, dict[str, str | None]] = {}
    var_kinds = [kind for kind in KEY_SUFFIXES if kind not in OUTPUT_ONLY]
    for by_component, kinds in ((outputs, list(KEY_SUFFIXES)), (vars or {}, var_kinds)):
        for component, values in by_component.items():
            for kind, ident in _named(values, kinds):
                found.setdefault(kind, {}).setdefault(ident, component)
    return found


def normalise(kind: str, value: str) -> str:
    """An OIDC issuer as IAM names its provider (``oidc.eks.<region>.amazonaws.com/id/<ID>``)."""
    if kind == OIDC_ISSUERS:
        return value.partition(":oidc-provider/")[2] or value.removeprefix("https://").rstrip("/")
    return value


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def arn(service: str, region: str, account: str, resource: str) -> str:
    return f"arn:{partition(region)}:{service}:{region}:{account}:{resource}"


def adopt(scope: Scope, *, component: str | None, parent: str, arn: str, type: str, id: str, region: str,
          tags: Mapping[str, str], **attrs: Any) -> Resource | None:
    """A resource that is ours because its parent is: tagged ones still follow their own tags (another
    environment's tag is never ours); untagged ones go to the component that created the parent."""
    if tags.get(ENV_TAG) is not None:
        return make(scope, arn=arn, type=type, id=id, region=region, tags=tags, parent=parent, **attrs)
    if scope.component is not None and component != scope.component:
        return None
    kept = {k: v for k, v in {**attrs, "parent": parent}.items() if v is not None}
    return Resource(arn=arn, type=type, id=id, region=region, component=component,
                    tags=MappingProxyType(dict(tags)), attrs=MappingProxyType(kept))


def recorded(scope: Scope, kind: str) -> dict[str, str | None]:
    """The parents of ``kind`` the state names; after one component's delete, only that component's (the
    others' orphans are not its leftovers, and looking for them would only cost calls)."""
    named = scope.parents.get(kind) or {}
    return {pid: comp for pid, comp in named.items() if scope.component is None or comp == scope.component}


def tagged_arns(scope: Scope, region: str, types: list[str]) -> dict[str, str | None]:
    """ARN -> component of the environment's live resources of ``types`` (one tagging-API query)."""
    client = scope.client("resourcegroupstaggingapi", region)
    out: dict[str, str | None] = {}
    for item in paginate(client, "get_resources", "ResourceTagMappingList",
                         TagFilters=[{"Key": ENV_TAG, "Values": [scope.env]}], ResourceTypeFilters=types):
        out[item["ResourceARN"]] = tag_dict(item.get("Tags")).get(COMPONENT_TAG)
    return out


def environment_vpcs(scope: Scope, region: str) -> dict[str, str | None]:
    """VPC id -> component: the VPCs the environment recorded or tags, that exist in ``region``.

    A default VPC is never the environment's, nor a VPC carrying another environment's tag.
    """
    client = scope.client("ec2", region)
    wanted = recorded(scope, VPCS)
    queries = [[{"Name": f"tag:{ENV_TAG}", "Values": [scope.env]}]]
    if wanted:
        queries.append([{"Name": "vpc-id", "Values": sorted(wanted)}])
    vpcs: dict[str, str | None] = {}
    for filters in queries:
        for vpc in paginate(client, "describe_vpcs", "Vpcs", Filters=filters):
            tags = tag_dict(vpc.get("Tags"))
            if vpc.get("IsDefault") or tags.get(ENV_TAG, scope.env) != scope.env:
                continue
            vpcs.setdefault(vpc["VpcId"], wanted.get(vpc["VpcId"]) or tags.get(COMPONENT_TAG))
    return vpcs
