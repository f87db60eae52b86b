"""The list of collectors and the read actions they declare: the one place verify's IAM policy comes from.

A new family: a module with ``ACTIONS`` and a ``collect(scope, region)``, one ``Collector(...)`` line in
:data:`COLLECTORS` and its module in :data:`ALL_ACTIONS`. A ``recheck`` (which of these resources found
earlier still exist, one get each) keeps what ``down`` asks after a delete small; without one, ``down`` runs
the collector again narrowed to the deleted component.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from envctl.inventory import confirm, ec2, eks, iam, logs, misc, orphans_eks, parents, rds, rds_aurora, tagging, vpc
from envctl.inventory.model import Resource, Scope

Recheck = Callable[[Scope, str, Sequence[Resource]], list[Resource]]


@dataclass(frozen=True)
class Collector:
    """``run(scope, region)`` lists one family of resources; global ones run once (region ``global``)."""

    name: str
    run: Callable[[Scope, str], list[Resource]]
    global_: bool = False
    needs_clusters: bool = False  # runs only when the environment has clusters (orphan scans)
    recheck: Recheck | None = None


COLLECTORS: tuple[Collector, ...] = (
    Collector("tagging", tagging.collect_region, recheck=tagging.recheck),
    Collector("iam-roles", iam.collect_roles, global_=True, recheck=iam.recheck),
    Collector("iam-policies", iam.collect_policies, global_=True, recheck=iam.recheck),
    Collector("iam-instance-profiles", iam.collect_instance_profiles, global_=True, recheck=iam.recheck),
    Collector("iam-oidc-providers", iam.collect_oidc_providers, global_=True, recheck=iam.recheck),
    Collector("eks", eks.collect, recheck=eks.recheck),
    Collector("ec2-addresses", ec2.collect_addresses),
    Collector("ec2-launch-templates", ec2.collect_launch_templates),
    Collector("autoscaling", ec2.collect_autoscaling_groups),
    Collector("ecr", misc.collect_ecr),
    Collector("route53", misc.collect_route53, global_=True),
    Collector("secretsmanager", misc.collect_secrets),
    Collector("rds", rds.collect),
    Collector("eks-log-groups", misc.collect_eks_log_groups, needs_clusters=True),
    Collector("rds-clusters", rds_aurora.collect),
    Collector("vpc-orphans", vpc.collect),
    Collector("recorded-addresses", vpc.collect_addresses),
    Collector("eks-orphan-tags", orphans_eks.collect_tagged, needs_clusters=True),
    Collector("eks-oidc-providers", orphans_eks.collect_oidc, needs_clusters=True),
    Collector("service-log-groups", logs.collect),
)

REGION_ACTIONS: frozenset[str] = frozenset({"ec2:DescribeRegions"})
"""``verify --all-regions``: the regions enabled for the account (asked through the same guarded clients)."""

ALL_ACTIONS: frozenset[str] = frozenset(
    tagging.ACTIONS + confirm.ACTIONS + iam.ACTIONS + eks.ACTIONS + ec2.ACTIONS + misc.ACTIONS + rds.ACTIONS
    + parents.ACTIONS + rds_aurora.ACTIONS + vpc.ACTIONS + orphans_eks.ACTIONS + logs.ACTIONS
) | REGION_ACTIONS

ACCOUNT_ACTIONS: frozenset[str] = frozenset({"sts:GetCallerIdentity"})
"""Checking that the credentials are for the environment's account (``target: account``)."""

SPEND_ACTIONS: frozenset[str] = frozenset({"ce:GetCostAndUsage"})
"""Only ``verify --spend`` needs these."""

AUDIT_ACTIONS: frozenset[str] = frozenset({"cloudtrail:LookupEvents"})
"""What ``envctl audit`` reads besides the inventory: who created each resource."""

POLICY_ACTIONS: frozenset[str] = ALL_ACTIONS | ACCOUNT_ACTIONS | REGION_ACTIONS | SPEND_ACTIONS | AUDIT_ACTIONS
"""Everything ``envctl verify`` and ``envctl audit`` may call: what ``--print-policy`` grants."""
