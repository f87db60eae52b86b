"""What the sandbox adds to moto so it answers as AWS does where envctl depends on it.

EKS tags a managed nodegroup by its ARN (``TagResource``, ``UntagResource``, ``ListTagsForResource``); moto
tags clusters only and answers ``ResourceNotFoundException`` for a nodegroup. envctl keeps a sleeping
nodegroup's sizes on the nodegroup itself, so the sandbox teaches moto the nodegroup half. Runs inside the
sandbox's server process only.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Patch moto's EKS backend in this process: tag calls on a nodegroup ARN act on the nodegroup."""
    from moto.eks.models import EKSBackend

    if getattr(EKSBackend, "_envctl_nodegroup_tags", False):
        return
    originals = {name: getattr(EKSBackend, name)
                 for name in ("tag_resource", "untag_resource", "list_tags_for_resource")}

    def nodegroup(backend: Any, arn: str) -> Any:
        for cluster in backend.clusters.values():
            for group in cluster.nodegroups.values():
                if group.arn == arn:
                    return group
        return None

    def tag_resource(self: Any, resource_arn: str, tags: dict[str, str]) -> None:
        group = nodegroup(self, resource_arn)
        if group is None:
            return originals["tag_resource"](self, resource_arn, tags)
        group.tags.update(tags)
        return None

    def untag_resource(self: Any, resource_arn: str, tag_keys: list[str]) -> None:
        group = nodegroup(self, resource_arn)
        if group is None:
            return originals["untag_resource"](self, resource_arn, tag_keys)
        for key in tag_keys if isinstance(tag_keys, list) else [tag_keys]:
            group.tags.pop(key, None)
        return None

    def list_tags_for_resource(self: Any, resource_arn: str) -> dict[str, str]:
        group = nodegroup(self, resource_arn)
        if group is None:
            return originals["list_tags_for_resource"](self, resource_arn)
        return dict(group.tags)

    EKSBackend.tag_resource = tag_resource  # type: ignore[method-assign]
    EKSBackend.untag_resource = untag_resource  # type: ignore[method-assign]
    EKSBackend.list_tags_for_resource = list_tags_for_resource  # type: ignore[method-assign]
    EKSBackend._envctl_nodegroup_tags = True  # type: ignore[attr-defined]
