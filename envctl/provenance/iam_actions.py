"""What IAM allows an ``aws <service> <operation> ...`` call needs: its own action, and the ones it needs beside.

The names come from botocore's service models (the AWS CLI is built on them): the CLI operation is the model's
operation name in kebab case, the IAM prefix is the model's signing name, both with the few exceptions AWS
documents (an S3 ``list-objects-v2`` is ``s3:ListBucket``, API Gateway authorises by HTTP method, ...).
A call also needs actions its name does not say: passing a role to a service is ``iam:PassRole``, tagging on
create is the service's tagging action, a first cluster or database makes a service-linked role.

botocore is imported here only, when a policy is asked for: ``envctl --help`` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

# The CLI names three services differently from botocore.
CLI_SERVICES = {"s3api": "s3", "configservice": "config", "deploy": "codedeploy"}

# botocore's signing name is the IAM prefix except for these.
IAM_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag", "iotdata": "iot", "cloudcontrolapi": "cloudformation",
              "mturk-requester": "mechanicalturk", "IoTSecuredTunneling": "iot"}

# API operations whose IAM action has another name (AWS's Service Authorization Reference).
RENAMED: dict[str, tuple[str, ...]] = {
    "s3:ListObjects": ("ListBucket",), "s3:ListObjectsV2": ("ListBucket",), "s3:HeadBucket": ("ListBucket",),
    "s3:ListObjectVersions": ("ListBucketVersions",), "s3:ListBuckets": ("ListAllMyBuckets",),
    "s3:HeadObject": ("GetObject",), "s3:CopyObject": ("GetObject", "PutObject"),
    "s3:SelectObjectContent": ("GetObject",), "s3:GetObjectAttributes": ("GetObject",),
    "s3:CreateMultipartUpload": ("PutObject",), "s3:UploadPart": ("PutObject",),
    "s3:UploadPartCopy": ("GetObject", "PutObject"), "s3:CompleteMultipartUpload": ("PutObject",),
    "s3:ListMultipartUploads": ("ListBucketMultipartUploads",), "s3:ListParts": ("ListMultipartUploadParts",),
    "s3:DeleteObjects": ("DeleteObject",),
    "s3:PutBucketEncryption": ("PutEncryptionConfiguration",),
    "s3:GetBucketEncryption": ("GetEncryptionConfiguration",),
    "s3:DeleteBucketEncryption": ("PutEncryptionConfiguration",),
    "s3:PutPublicAccessBlock": ("PutBucketPublicAccessBlock",),
    "s3:GetPublicAccessBlock": ("GetBucketPublicAccessBlock",),
    "s3:DeletePublicAccessBlock": ("PutBucketPublicAccessBlock",),
    "s3:PutBucketLifecycleConfiguration": ("PutLifecycleConfiguration",),
    "s3:PutBucketLifecycle": ("PutLifecycleConfiguration",),
    "s3:GetBucketLifecycleConfiguration": ("GetLifecycleConfiguration",),
    "s3:DeleteBucketLifecycle": ("PutLifecycleConfiguration",),
    "s3:DeleteBucketTagging": ("PutBucketTagging",),
    "s3:DeleteBucketOwnershipControls": ("PutBucketOwnershipControls",),
    "s3:PutBucketCors": ("PutBucketCORS",), "s3:GetBucketCors": ("GetBucketCORS",),
    "s3:DeleteBucketCors": ("PutBucketCORS",),
    "s3:PutBucketNotificationConfiguration": ("PutBucketNotification",),
    "s3:GetBucketNotificationConfiguration": ("GetBucketNotification",),
    "s3:PutBucketReplication": ("PutReplicationConfiguration",),
    "s3:GetBucketReplication": ("GetReplicationConfiguration",),
    "s3:DeleteBucketReplication": ("PutReplicationConfiguration",),
    "lambda:Invoke": ("InvokeFunction",), "lambda:InvokeWithResponseStream": ("InvokeFunction",),
    "lambda:GetLayerVersionByArn": ("GetLayerVersion",),
}
IAM_ONLY_NAMES = frozenset({f"{a.split(':')[0]}:{n}" for a, names in RENAMED.items() for n in names}
                           | {"iam:PassRole"})
"""Actions IAM knows under a name that is no operation of botocore's models."""

# The AWS CLI's own commands (not model operations) and what they call.
CUSTOM: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ls"): ("s3:ListAllMyBuckets", "s3:ListBucket"),
    ("s3", "mb"): ("s3:CreateBucket",), ("s3", "rb"): ("s3:DeleteBucket", "s3:ListBucket", "s3:DeleteObject"),
    ("s3", "rm"): ("s3:DeleteObject", "s3:ListBucket"), ("s3", "presign"): ("s3:GetObject",),
    ("s3", "website"): ("s3:PutBucketWebsite",),
    ("ecr", "get-login-password"): ("ecr:GetAuthorizationToken",),
    ("eks", "update-kubeconfig"): ("eks:DescribeCluster",), ("eks", "get-token"): (),
    ("cloudformation", "deploy"): ("cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
                                   "cloudformation:ExecuteChangeSet", "cloudformation:DescribeStacks"),
    ("cloudformation", "package"): ("s3:PutObject", "s3:GetObject"),
    ("logs", "tail"): ("logs:FilterLogEvents",), ("rds", "generate-db-auth-token"): (),
}
_S3_TRANSFERS = ("cp", "mv", "sync")
_NO_AWS_CALL = frozenset({"configure", "help", "history"})

# Service-linked roles a first call creates (the caller needs iam:CreateServiceLinkedRole for that service).
SERVICE_LINKED = {
    ("eks", "CreateCluster"): "eks.amazonaws.com", ("eks", "CreateNodegroup"): "eks-nodegroup.amazonaws.com",
    ("eks", "CreateFargateProfile"): "eks-fargate.amazonaws.com",
    ("rds", "CreateDBInstance"): "rds.amazonaws.com", ("rds", "CreateDBCluster"): "rds.amazonaws.com",
    ("elasticloadbalancing", "CreateLoadBalancer"): "elasticloadbalancing.amazonaws.com",
    ("autoscaling", "CreateAutoScalingGroup"): "autoscaling.amazonaws.com",
    ("ecs", "CreateCluster"): "ecs.amazonaws.com", ("ecs", "CreateService"): "ecs.amazonaws.com",
    ("elasticache", "CreateCacheCluster"): "elasticache.amazonaws.com",
    ("elasticache", "CreateReplicationGroup"): "elasticache.amazonaws.com",
    ("es", "CreateDomain"): "opensearchservice.amazonaws.com",
}

# Tagging on create: the action a create with tags needs besides its own.
TAG_ON_CREATE = {"ec2": "CreateTags", "rds": "AddTagsToResource", "ecr": "TagResource", "eks": "TagResource",
                 "secretsmanager": "TagResource", "logs": "TagResource", "sqs": "TagQueue", "sns": "TagResource",
                 "dynamodb": "TagResource", "lambda": "TagResource", "kms": "TagResource", "ecs": "TagResource",
                 "elasticloadbalancing": "AddTags", "ssm": "AddTagsToResource", "elasticache": "AddTagsToResource",
                 "autoscaling": "CreateOrUpdateTags", "acm": "AddTagsToCertificate", "cloudformation": "TagResource"}
_IAM_TAGGING = {"Role": "TagRole", "Policy": "TagPolicy", "InstanceProfile": "TagInstanceProfile", "User": "TagUser",
                "OpenIDConnectProvider": "TagOpenIDConnectProvider"}

# Options that hand a role to a service (iam:PassRole). IAM's and STS's own role options only name a role.
_PASS_ROLE_OPTION = re.compile(r"^(?:.*-)?role(?:-arn)?$|^iam-instance-profile$|^service-role$")
_PASS_ROLE_CALLS = frozenset({("iam", "AddRoleToInstanceProfile")})
_READS = ("Describe", "Get", "List")
_GLOBAL_WITH_VALUE = frozenset({"region", "profile", "output", "endpoint-url", "query", "color", "ca-bundle",
                                "cli-read-timeout", "cli-connect-timeout", "cli-binary-format"})
_OPTION = re.compile(r"(?<![\w$-])--([a-z0-9][a-z0-9-]*)")
_WORD = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class CliCall:
    """One ``aws`` call as written in a script: its service and operation words and its option names."""

    service: str
    operation: str
    options: frozenset[str]
    words: tuple[str, ...] = ()   # the positional words after the operation (s3 paths)
    text: str = ""


@dataclass
class CallActions:
    actions: set[str] = field(default_factory=set)
    service_linked: set[str] = field(default_factory=set)   # service principals
    unknown: str | None = None   # why the call could not be mapped


def parse_call(command: str) -> CliCall | None:
    """``aws --region x ec2 create-vpc --cidr-block ...`` -> CliCall('ec2', 'create-vpc', ...); None when the
    words after ``aws`` are not a service and an operation (a variable, a flag only)."""
    tokens = command.split()
    if not tokens or tokens[0] != "aws":
        return None
    words: list[str] = []
    i = 1
    while i < len(tokens) and len(words) < 2:
        token = tokens[i]
        if token.startswith("--"):
            i += 2 if token[2:] in _GLOBAL_WITH_VALUE and "=" not in token else 1
            continue
        words.append(token.strip("\"'"))
        i += 1
    if len(words) < 2 or not all(_WORD.match(w) for w in words):
        return None
    rest = tokens[i:]
    positional = tuple(t.strip("\"'") for t in rest if not t.startswith("-"))
    return CliCall(words[0], words[1], frozenset(_OPTION.findall(" ".join(rest))), positional, command)


@cache
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


@cache
def service_model(service: str) -> Any | None:
    """botocore's model of a CLI service name, None when there is no such service."""
    name = CLI_SERVICES.get(service, service)
    session = _session()
    if name not in session.get_available_services():
        return None
    return session.get_service_model(name)


@cache
def _cli_operations(service: str) -> dict[str, str]:
    from botocore import xform_name

    model = service_model(service)
    return {} if model is None else {xform_name(op, "-"): op for op in model.operation_names}


@cache
def _waiters(service: str) -> dict[str, str]:
    from botocore import xform_name
    from botocore.exceptions import DataNotFoundError

    model = service_model(service)
    if model is None:
        return {}
    try:
        waiters = _session().get_waiter_model(model.service_name)
    except DataNotFoundError:  # a service without waiters
        return {}
    return {xform_name(name, "-"): waiters.get_waiter(name).operation for name in waiters.waiter_names}


def has_operation(service: str, operation: str) -> bool:
    """Whether ``operation`` (kebab case) is an operation of the service."""
    return operation in _cli_operations(service)


def iam_prefix(model: Any) -> str:
    signing = model.signing_name or model.endpoint_prefix
    return str(IAM_PREFIX.get(signing, signing))


def operation_actions(model: Any, operation: str) -> tuple[str, ...]:
    """The IAM actions of one botocore operation (``CreateVpc`` -> ``ec2:CreateVpc``)."""
    prefix = iam_prefix(model)
    if model.service_name in ("apigateway", "apigatewayv2"):
        return (f"apigateway:{model.operation_model(operation).http['method']}",)
    names = RENAMED.get(f"{prefix}:{operation}", (operation,))
    return tuple(f"{prefix}:{name}" for name in names)


def actions_for(call: CliCall) -> CallActions:
    """Every action ``call`` needs, or why it could not be mapped."""
    out = CallActions()
    if call.service in _NO_AWS_CALL:
        return out
    if (call.service, call.operation) in CUSTOM:
        out.actions.update(CUSTOM[(call.service, call.operation)])
        return out
    if call.service == "s3" and call.operation in _S3_TRANSFERS:
        out.actions.update(_s3_transfer(call))
        return out
    model = service_model(call.service)
    if model is None:
        out.unknown = f"'{call.service}' is not an AWS CLI service"
        return out
    if call.operation == "wait" and call.words:
        operation = _waiters(call.service).get(call.words[0])
        if operation is None:
            out.unknown = f"'{call.service} wait {call.words[0]}' is not a waiter of {call.service}"
            return out
    else:
        found = _cli_operations(call.service).get(call.operation)
        if found is None:
            out.unknown = f"'{call.operation}' is not an operation of '{call.service}'"
            return out
        operation = found
    out.actions.update(operation_actions(model, operation))
    _add_implied(out, call, iam_prefix(model), operation)
    return out


def _add_implied(out: CallActions, call: CliCall, prefix: str, operation: str) -> None:
    """The actions a call needs beyond its own: PassRole, tagging on create, KMS, service-linked roles."""
    if operation.startswith(_READS):
        return  # a describe that filters or queries on a role hands nothing over
    if (prefix, operation) in _PASS_ROLE_CALLS or (prefix not in ("iam", "sts") and (
            any(_PASS_ROLE_OPTION.match(o) for o in call.options) or "IamInstanceProfile" in call.text)):
        out.actions.add("iam:PassRole")
    tagged = call.options & {"tags", "tag-specifications"}
    if tagged and operation.startswith(("Create", "Allocate", "Run", "Register", "Request", "Put", "Import")):
        if prefix == "iam":
            resource = operation.removeprefix("Create")
            if resource in _IAM_TAGGING:
                out.actions.add(f"iam:{_IAM_TAGGING[resource]}")
        elif prefix in TAG_ON_CREATE:
            out.actions.add(f"{prefix}:{TAG_ON_CREATE[prefix]}")
    if any(o in ("kms-key-id", "kms-key-arn", "kms-key") for o in call.options):
        out.actions.update(("kms:GenerateDataKey", "kms:Decrypt") if prefix == "secretsmanager"
                           else ("kms:DescribeKey", "kms:CreateGrant"))
    if (prefix, operation) in SERVICE_LINKED:
        out.service_linked.add(SERVICE_LINKED[(prefix, operation)])


def _s3_transfer(call: CliCall) -> set[str]:
    paths = [w for w in call.words if not w.startswith("$") or w.startswith("s3://")]
    source_s3 = bool(paths) and paths[0].startswith("s3://")
    dest_s3 = len(paths) > 1 and paths[1].startswith("s3://")
    actions = {"s3:ListBucket"}
    if source_s3:
        actions.add("s3:GetObject")
    if dest_s3 or not paths:
        actions.add("s3:PutObject")
    if call.operation == "mv" or "delete" in call.options:
        actions.add("s3:DeleteObject")
    return actions


def is_known_action(action: str) -> bool:
    """True when ``action`` is an operation of a botocore model under its IAM prefix, or one of the IAM-only
    names above (``s3:ListBucket``)."""
    if action in IAM_ONLY_NAMES or action.startswith("apigateway:"):
        return True
    prefix, _, name = action.partition(":")
    return name in _operations_by_prefix().get(prefix, frozenset())


@lru_cache(maxsize=1)
def _operations_by_prefix() -> dict[str, frozenset[str]]:
    session = _session()
    found: dict[str, set[str]] = {}
    for name in session.get_available_services():
        model = session.get_service_model(name)
        found.setdefault(iam_prefix(model), set()).update(model.operation_names)
    return {k: frozenset(v) for k, v in found.items()}


def sorted_actions(actions: Iterable[str]) -> list[str]:
    return sorted(set(actions), key=lambda a: (a.split(":")[0], a))


def services_of(actions: Sequence[str]) -> list[str]:
    return sorted({a.split(":")[0] for a in actions})
