"""IAM (global, not in the tagging API): roles, customer-managed policies, instance profiles, OIDC providers.

What verify costs must not grow with what other teams own. Roles come with their tags in the bulk
``GetAccountAuthorizationDetails`` pages (up to 1,000 roles a page, no call per role). Policies and instance
profiles are listed in pages of 1,000 too, but those lists carry no tags: only the ones created since the
environment first came up (``scope.since``) can be its own, and only those get a tag call. Without a known
first bring-up (no history), every one is read. OIDC providers (at most 100 an account) get one call each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from envctl.inventory.model import GLOBAL, Resource, Scope, make, paginate, parallel_map, tag_dict

ACTIONS = (
    "iam:GetAccountAuthorizationDetails", "iam:ListPolicies", "iam:ListPolicyTags",
    "iam:ListInstanceProfiles", "iam:GetInstanceProfile",
    "iam:ListOpenIDConnectProviders", "iam:ListOpenIDConnectProviderTags",
    # down's re-check of what a delete should have removed: one call per resource of that component
    "iam:GetRole", "iam:GetPolicy", "iam:GetOpenIDConnectProvider",
)

PAGE = {"PageSize": 1000}


def _client(scope: Scope) -> Any:
    return scope.client("iam", scope.global_region)


def collect_roles(scope: Scope, region: str) -> list[Resource]:
    client = _client(scope)
    out = []
    for role in paginate(client, "get_account_authorization_details", "RoleDetailList", Filter=["Role"],
                         PaginationConfig=PAGE):
        # Service-linked roles are made and removed by AWS services, never by a script.
        if str(role.get("Path", "")).startswith("/aws-service-role/"):
            continue
        res = make(scope, arn=role["Arn"], type="iam:role", id=role["RoleName"], region=GLOBAL,
                   tags=tag_dict(role.get("Tags")))
        if res is not None:
            out.append(res)
    return out


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
