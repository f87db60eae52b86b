"""Smaller families: ECR repositories, Route 53 hosted zones, Secrets Manager, EKS log groups."""

from __future__ import annotations

from typing import Any

from envctl.inventory.model import ENV_TAG, GLOBAL, Resource, Scope, chunks, make, paginate, parallel_map, tag_dict

ACTIONS = (
    "ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:DescribeImages",
    "route53:ListHostedZones", "route53:ListTagsForResources",
    "secretsmanager:ListSecrets",
    "logs:DescribeLogGroups", "logs:ListTagsForResource",
)


def collect_ecr(scope: Scope, region: str) -> list[Resource]:
    # The list carries no tags: only repositories created since the environment first came up get a tag call.
    client = scope.client("ecr", region)
    repos = [r for r in paginate(client, "describe_repositories", "repositories",
                                 PaginationConfig={"PageSize": 1000})
             if scope.created_since(r.get("createdAt"))]

    def one(repo: Any) -> Resource | None:
        tags = tag_dict(client.list_tags_for_resource(resourceArn=repo["repositoryArn"]).get("tags"))
        res = make(scope, arn=repo["repositoryArn"], type="ecr:repository", id=repo["repositoryName"],
                   region=region, tags=tags)
        if res is None:
            return None
        size = sum(int(img.get("imageSizeInBytes") or 0) for img in
                   paginate(client, "describe_images", "imageDetails", repositoryName=repo["repositoryName"]))
        return make(scope, arn=res.arn, type=res.type, id=res.id, region=region, tags=tags,
                    size_gb=size / 1024**3)

    return [r for r in parallel_map(one, repos) if r is not None]


def collect_route53(scope: Scope, region: str) -> list[Resource]:
    # Tags of 10 zones a call; hosted zones are few (500 an account by default).
    client = scope.client("route53", scope.global_region)
    zones = {z["Id"].rsplit("/", 1)[-1]: z for z in paginate(client, "list_hosted_zones", "HostedZones")}
    out = []
    for batch in chunks(sorted(zones), 10):
        answer = client.list_tags_for_resources(ResourceType="hostedzone", ResourceIds=list(batch))
        for item in answer.get("ResourceTagSets") or []:
            zone_id = item["ResourceId"]
            zone = zones.get(zone_id)
            if zone is None:  # tags answer for deleted zones too: existence comes from the list
                continue
            res = make(scope, arn=scope.arn("route53", GLOBAL, f"hostedzone/{zone_id}", account=False),
                       type="route53:hostedzone",
                       id=zone_id, region=GLOBAL, tags=tag_dict(item.get("Tags")), name=zone.get("Name"),
                       private=bool((zone.get("Config") or {}).get("PrivateZone")))
            if res is not None:
                out.append(res)
    return out


def collect_secrets(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("secretsmanager", region)
    out = []
    # Filtered by the service: tag-value matches by prefix (test2 for test), so ownership is still checked.
    own = [{"Key": "tag-key", "Values": [ENV_TAG]}, {"Key": "tag-value", "Values": [scope.env]}]
    for secret in paginate(client, "list_secrets", "SecretList", IncludePlannedDeletion=True, Filters=own):
        res = make(scope, arn=secret["ARN"], type="secretsmanager:secret", id=secret["Name"], region=region,
                   tags=tag_dict(secret.get("Tags")), pending=secret.get("DeletedDate") is not None,
                   deleted_date=str(secret["DeletedDate"]) if secret.get("DeletedDate") else None)
        if res is not None:
            out.append(res)
    return out


def collect_eks_log_groups(scope: Scope, region: str) -> list[Resource]:
    """``/aws/eks/<cluster>/...`` and Container Insights groups: EKS makes (and re-makes) them untagged."""
    client = scope.client("logs", region)
    out = []
    for cluster in scope.clusters:
        for prefix in (f"/aws/eks/{cluster}/", f"/aws/containerinsights/{cluster}/"):
            for group in paginate(client, "describe_log_groups", "logGroups", logGroupNamePrefix=prefix):
                arn = str(group["arn"]).removesuffix(":*")
                # A group pre-created by a script may carry tags: another environment's tag makes it not ours.
                tags = tag_dict(client.list_tags_for_resource(resourceArn=arn).get("tags"))
                res = make(scope, arn=arn, type="logs:log-group", id=group["logGroupName"], region=region,
                           tags=tags, cluster=cluster,
                           stored_gb=(group.get("storedBytes") or 0) / 1024**3,
                           retention_days=group.get("retentionInDays"))
                if res is not None:
                    out.append(res)
    return out
