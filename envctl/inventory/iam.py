"""IAM (global, not in the tagging API): roles, customer-managed policies, instance profiles, OIDC providers.

What verify costs must not grow with what other teams own. Roles, policies and instance profiles are listed
in pages of 1,000, but those lists carry no tags: only the ones created since the environment first came up
(``scope.since``) can be its own, and only those get a tag call. Where that is many roles (or no first
bring-up is known), roles come with their tags in the bulk ``GetAccountAuthorizationDetails`` pages instead,
no call per role; without a known first bring-up, every policy and profile is read. OIDC providers (at most
100 an account) get one call each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envctl.inventory.model import GLOBAL, Resource, Scope, make, paginate, parallel_map, tag_dict

ACTIONS = (
    "iam:ListRoles", "iam:GetRole", "iam:GetAccountAuthorizationDetails", "iam:ListPolicies", "iam:ListPolicyTags",
    "iam:ListInstanceProfiles", "iam:GetInstanceProfile",
    "iam:ListOpenIDConnectProviders", "iam:ListOpenIDConnectProviderTags",
    # down's re-check of what a delete should have removed: one call per resource of that component
    "iam:GetPolicy", "iam:GetOpenIDConnectProvider",
)

PAGE = {"PageSize": 1000}


def _client(scope: Scope) -> Any:
    return scope.client("iam", scope.global_region)


# Up to this many roles created since the first bring-up get a GetRole each; more, and one bulk read of every
# role with its tags costs less (and spares IAM's low rate limit).
ROLE_LOOKUPS = 50


def _made_by_a_script(role: Any) -> bool:
    # Service-linked roles are made and removed by AWS services, never by a script.
    return not str(role.get("Path", "")).startswith("/aws-service-role/")


def collect_roles(scope: Scope, region: str) -> list[Resource]:
    client = _client(scope)
    roles: list[Any] | None = None
    if scope.since is not None:
        fresh = [r for r in paginate(client, "list_roles", "Roles", PaginationConfig=PAGE)
                 if _made_by_a_script(r) and scope.created_since(r.get("CreateDate"))]
        if len(fresh) <= ROLE_LOOKUPS:
            roles = parallel_map(lambda r: r if "Tags" in r else client.get_role(RoleName=r["RoleName"])["Role"],
                                 fresh, workers=4)  # AWS leaves tags out of the list (the sandbox fills them in)
    if roles is None:
        roles = [r for r in paginate(client, "get_account_authorization_details", "RoleDetailList", Filter=["Role"],
                                     PaginationConfig=PAGE) if _made_by_a_script(r)]
    found = (make(scope, arn=r["Arn"], type="iam:role", id=r["RoleName"], region=GLOBAL, tags=tag_dict(r.get("Tags")))
             for r in roles)
    return [res for res in found if res is not None]


def collect_policies(scope: Scope, region: str) -> list[Resource]:
    client = _client(scope)
    policies = [p for p in paginate(client, "list_policies", "Policies", Scope="Local", PaginationConfig=PAGE)
                if scope.created_since(p.get("CreateDate"))]

    def one(policy: Any) -> Resource | None:
        tags = tag_dict(paginate(client, "list_policy_tags", "Tags", PolicyArn=policy["Arn"]))
        return make(scope, arn=policy["Arn"], type="iam:policy", id=policy["PolicyName"], region=GLOBAL,
                    tags=tags, attachments=policy.get("AttachmentCount"))

    return [r for r in parallel_map(one, policies, workers=4) if r is not None]


def collect_instance_profiles(scope: Scope, region: str) -> list[Resource]:
    client = _client(scope)
    profiles = list(paginate(client, "list_instance_profiles", "InstanceProfiles", PaginationConfig=PAGE))

    def one(profile: Any) -> Resource | None:
        tags = profile.get("Tags")
        if tags is None:  # AWS leaves tags out of the list (the sandbox fills them in)
            if not scope.created_since(profile.get("CreateDate")):
                return None
            name = profile["InstanceProfileName"]
            tags = client.get_instance_profile(InstanceProfileName=name)["InstanceProfile"].get("Tags")
        return make(scope, arn=profile["Arn"], type="iam:instance-profile", id=profile["InstanceProfileName"],
                    region=GLOBAL, tags=tag_dict(tags))

    return [r for r in parallel_map(one, profiles, workers=4) if r is not None]


def collect_oidc_providers(scope: Scope, region: str) -> list[Resource]:
    client = _client(scope)
    arns = [p["Arn"] for p in client.list_open_id_connect_providers().get("OpenIDConnectProviderList") or []]

    def one(arn: str) -> Resource | None:
        tags = tag_dict(paginate(client, "list_open_id_connect_provider_tags", "Tags",
                                 OpenIDConnectProviderArn=arn))
        return make(scope, arn=arn, type="iam:oidc-provider", id=arn.rsplit("/", 1)[-1], region=GLOBAL,
                    tags=tags)

    return [r for r in parallel_map(one, arns, workers=4) if r is not None]


_GET = {
    "iam:role": ("get_role", "RoleName", lambda r: r.id),
    "iam:policy": ("get_policy", "PolicyArn", lambda r: r.arn),
    "iam:instance-profile": ("get_instance_profile", "InstanceProfileName", lambda r: r.id),
    "iam:oidc-provider": ("get_open_id_connect_provider", "OpenIDConnectProviderArn", lambda r: r.arn),
}


def recheck(scope: Scope, region: str, resources: Sequence[Resource]) -> list[Resource]:
    """Which of ``resources`` (found earlier) still exist: one get per resource, never a listing."""
    client = _client(scope)

    def one(res: Resource) -> Resource | None:
        op, param, value = _GET[res.type]
        try:
            getattr(client, op)(**{param: value(res)})
        except client.exceptions.NoSuchEntityException:
            return None
        return res

    return [r for r in parallel_map(one, [r for r in resources if r.type in _GET], workers=4) if r is not None]
