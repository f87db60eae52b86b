"""EKS clusters and managed nodegroups (not in the sandbox's tagging API; tags only through describe).

A cluster the environment recorded is its own even without tags; its nodegroups are attributed to the
component that owns the cluster unless they carry the environment's component tag.
"""

from __future__ import annotations

from collections.abc import Sequence

from envctl.inventory.model import Resource, Scope, make, paginate, parallel_map, tag_dict

ACTIONS = ("eks:ListClusters", "eks:DescribeCluster", "eks:ListNodegroups", "eks:DescribeNodegroup")


def collect(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("eks", region)
    names = list(paginate(client, "list_clusters", "clusters"))

    def one(name: str) -> list[Resource]:
        cluster = client.describe_cluster(name=name)["cluster"]
        tags = tag_dict(cluster.get("tags"))
        out: list[Resource] = []
        res = make(scope, arn=cluster["arn"], type="eks:cluster", id=name, region=region, tags=tags,
                   cluster=name if name in scope.clusters else None,
                   version=cluster.get("version"), status=cluster.get("status"))
        if res is not None:
            out.append(res)
        elif not scope.owner(tags, cluster=name if name in scope.clusters else None)[0]:
            return out  # a cluster of others: its nodegroups are theirs too, no call for them
        for ng_name in paginate(client, "list_nodegroups", "nodegroups", clusterName=name):
            ng = client.describe_nodegroup(clusterName=name, nodegroupName=ng_name)["nodegroup"]
            scaling = ng.get("scalingConfig") or {}
            ng_res = make(scope, arn=ng["nodegroupArn"], type="eks:nodegroup", id=f"{name}/{ng_name}",
                          region=region, tags=tag_dict(ng.get("tags")),
                          cluster=name if name in scope.clusters else None,
                          instance_types=tuple(ng.get("instanceTypes") or ()),
                          desired_size=scaling.get("desiredSize"))
            if ng_res is not None:
                out.append(ng_res)
        return out

    return [r for group in parallel_map(one, names) for r in group]


def recheck(scope: Scope, region: str, resources: Sequence[Resource]) -> list[Resource]:
    """Which of ``resources`` still exist: one describe each (a nodegroup of a cluster that is gone is gone)."""
    client = scope.client("eks", region)
    gone = client.exceptions.ResourceNotFoundException

    def one(res: Resource) -> Resource | None:
        try:
            if res.type == "eks:cluster":
                client.describe_cluster(name=res.id)
            else:
                cluster, _, nodegroup = res.id.partition("/")
                client.describe_cluster(name=cluster)
                client.describe_nodegroup(clusterName=cluster, nodegroupName=nodegroup)
        except gone:
            return None
        return res

    return [r for r in parallel_map(one, list(resources), workers=4) if r is not None]
