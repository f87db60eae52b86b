"""IAM (global, not in the tagging API): roles, customer-managed policies, instance profiles, OIDC providers.

The list calls carry no tags, so each candidate's tags are read with its own call (on a few threads).
"""

from __future__ import annotations

from typing import Any

from envctl.inventory.model import GLOBAL, Resource, Scope, make, paginate, parallel_map, tag_dict

ACTIONS = (
    "iam:ListRoles", "iam:ListRoleTags", "iam:ListPolicies", "iam:ListPolicyTags",
    "iam:ListInstanceProfiles", "iam:GetInstanceProfile",
    "iam:ListOpenIDConnectProviders", "iam:ListOpenIDConnectProviderTags",
)


def collect_roles(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("iam", "us-east-1")
    # Service-linked roles are made and removed by AWS services, never by a script.
    roles = [r for r in paginate(client, "list_roles", "Roles")
             if not str(r.get("Path", "")).startswith("/aws-service-role/")]

    def one(role: Any) -> Resource | None:
        tags = tag_dict(paginate(client, "list_role_tags", "Tags", RoleName=role["RoleName"]))
        return make(scope, arn=role["Arn"], type="iam:role", id=role["RoleName"], region=GLOBAL, tags=tags)

    return [r for r in parallel_map(one, roles) if r is not None]


def collect_policies(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("iam", "us-east-1")
    policies = list(paginate(client, "list_policies", "Policies", Scope="Local"))

    def one(policy: Any) -> Resource | None:
        tags = tag_dict(paginate(client, "list_policy_tags", "Tags", PolicyArn=policy["Arn"]))
        return make(scope, arn=policy["Arn"], type="iam:policy", id=policy["PolicyName"], region=GLOBAL,
                    tags=tags, attachments=policy.get("AttachmentCount"))

    return [r for r in parallel_map(one, policies) if r is not None]


def collect_instance_profiles(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("iam", "us-east-1")
    profiles = list(paginate(client, "list_instance_profiles", "InstanceProfiles"))

    def one(profile: Any) -> Resource | None:
        tags = profile.get("Tags")
        if tags is None:  # AWS leaves tags out of the list; the sandbox cannot answer ListInstanceProfileTags
            name = profile["InstanceProfileName"]
            tags = client.get_instance_profile(InstanceProfileName=name)["InstanceProfile"].get("Tags")
        return make(scope, arn=profile["Arn"], type="iam:instance-profile", id=profile["InstanceProfileName"],
                    region=GLOBAL, tags=tag_dict(tags))

    return [r for r in parallel_map(one, profiles) if r is not None]


def collect_oidc_providers(scope: Scope, region: str) -> list[Resource]:
    client = scope.client("iam", "us-east-1")
    arns = [p["Arn"] for p in client.list_open_id_connect_providers().get("OpenIDConnectProviderList") or []]

    def one(arn: str) -> Resource | None:
        tags = tag_dict(paginate(client, "list_open_id_connect_provider_tags", "Tags",
                                 OpenIDConnectProviderArn=arn))
        return make(scope, arn=arn, type="iam:oidc-provider", id=arn.rsplit("/", 1)[-1], region=GLOBAL,
                    tags=tags)

    return [r for r in parallel_map(one, arns) if r is not None]
