"""AWS regions and partitions: which partition a region is in, where its global services answer.

ARNs and the clients of global services (IAM, Route 53) follow the partition of the environment's region:
``arn:aws-cn:...`` and ``cn-north-1`` in China, ``arn:aws-us-gov:...`` and ``us-gov-west-1`` in GovCloud.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")

# Longest prefix first: us-isob- before us-iso-, us-gov- before the standard us- regions.
_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
)

_GLOBAL_REGION = {
    "aws": "us-east-1",
    "aws-cn": "cn-north-1",
    "aws-us-gov": "us-gov-west-1",
    "aws-iso": "us-iso-east-1",
    "aws-iso-b": "us-isob-east-1",
    "aws-iso-e": "eu-isoe-west-1",
    "aws-iso-f": "us-isof-south-1",
}


def is_region_name(name: str) -> bool:
    """``us-east-1``, ``us-gov-west-1``, ``cn-north-1``: shaped like an AWS region (not checked against a list,
    so a region AWS opens tomorrow works today)."""
    return bool(REGION_RE.match(name))


def partition_of(region: str) -> str:
    """``us-east-1`` -> ``aws``; ``cn-north-1`` -> ``aws-cn``; ``us-gov-west-1`` -> ``aws-us-gov``."""
    for prefix, partition in _PARTITIONS:
        if region.startswith(prefix):
            return partition
    return "aws"


def global_region_of(partition: str) -> str:
    """The region whose endpoint answers for the partition's global services (IAM, Route 53)."""
    return _GLOBAL_REGION.get(partition, "us-east-1")


def verify_regions(value: Any, region: str, fail: Callable[..., Exception]) -> tuple[str, ...]:
    """``verify.regions`` of env.yaml, checked: a list of region names of the same partition as ``region``.

    ``fail(key, message, hint)`` makes the error that names the file and the key.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail("verify.regions", f"must be a list of regions, not {type(value).__name__}",
                   "for example: verify: {regions: [us-west-2, eu-west-1]}")
    own = partition_of(region)
    out: list[str] = []
    for i, item in enumerate(value):
        key = f"verify.regions[{i}]"
        if not isinstance(item, str) or not is_region_name(item):
            raise fail(key, f"{item!r} is not an AWS region name (like us-west-2)", None)
        if partition_of(item) != own:
            raise fail(key, f"{item} is in partition {partition_of(item)}, but region {region} is in {own}",
                       "one set of credentials reaches one partition: verify the other one from an environment "
                       "of its own")
        if item not in out:
            out.append(item)
    return tuple(out)
