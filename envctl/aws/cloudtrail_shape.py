"""What a CloudTrail management event means: read or write, and which resource a creating call made.

Shared by the sandbox's recorder (which writes events) and ``envctl audit`` (which reads them, from the sandbox
or a real account), so both name a created resource the same way. Pure functions over CloudTrail's own shapes:
``requestParameters`` and ``responseElements`` as CloudTrail writes them (lower camel case keys for the query
services, the service's own keys for JSON ones).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

# Operation names that only look. CloudTrail marks these readOnly; the recorder does not keep them.
READ_PREFIXES = ("List", "Describe", "Get", "Search", "Lookup", "BatchGet", "BatchDescribe", "Head", "Query",
                 "Scan", "Select", "Check", "Test", "Validate", "Estimate", "Preview", "Simulate", "Decode",
                 "Filter", "Verify", "Decrypt", "Encrypt", "GenerateDataKey", "GenerateRandom", "Sign", "Assume",
                 "Receive", "Download")

# Data events (object, message and item level): not management events, never in CloudTrail's event history.
DATA_EVENTS = {
    "s3": re.compile(r"Object|MultipartUpload|UploadPart"),
    "sqs": re.compile(r"^(SendMessage|DeleteMessage|ChangeMessageVisibility|PurgeQueue)"),
    "dynamodb": re.compile(r"^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems|Execute)"),
    "lambda": re.compile(r"^Invoke"),
    "kinesis": re.compile(r"^PutRecords?$"),
    "sns": re.compile(r"^Publish"),
    "logs": re.compile(r"^PutLogEvents$"),
}

# Verbs of the calls that bring a resource into being; the rest of the name is the resource's noun.
CREATE_VERBS = ("Create", "Run", "Allocate", "Request", "Register", "Put", "Import", "Copy", "Restore")
DELETE_VERBS = ("Delete", "Terminate", "Release", "Deregister", "Remove")

# Where a creating call's response names the resource when the noun alone does not find it.
_ALIASES: dict[str, tuple[str, ...]] = {
    "SecurityGroup": ("groupId",), "Address": ("allocationId", "publicIp"), "Key": ("keyMetadata",),
    "Table": ("tableDescription",), "ServiceLinkedRole": ("role",), "DBInstanceReadReplica": ("dBInstance",),
}
_ID_SUFFIXES = ("id", "arn", "name", "identifier", "url")
_BARE_IDS = ("id", "arn", "name")
_LIST_KEYS = ("items", "item", "member")

_SERVICE_TITLES = {
    "ec2": "EC2", "iam": "IAM", "eks": "EKS", "rds": "RDS", "sqs": "SQS", "ecr": "ECR", "kms": "KMS",
    "sns": "SNS", "s3": "S3", "logs": "Logs", "secretsmanager": "SecretsManager", "dynamodb": "DynamoDB",
    "elasticloadbalancing": "ElasticLoadBalancingV2", "autoscaling": "AutoScaling", "lambda": "Lambda",
    "route53": "Route53", "ssm": "SSM", "acm": "CertificateManager", "cloudformation": "CloudFormation",
}
_NOUN_TYPES = {"Vpc": "VPC", "Address": "EIP", "Instances": "Instance", "Queue": "Queue"}

SENSITIVE_KEYS = ("password", "secretstring", "secretbinary", "secretaccesskey", "privatekey", "keymaterial",
                  "sessiontoken", "userdata", "authtoken")
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def service_of(event_source: str) -> str:
    """``ec2.amazonaws.com`` -> ``ec2``."""
    return event_source.split(".", 1)[0]


def is_read_only(event_name: str) -> bool:
    return event_name.startswith(READ_PREFIXES)


def is_data_event(service: str, event_name: str) -> bool:
    pattern = DATA_EVENTS.get(service)
    return bool(pattern and pattern.search(event_name))


def is_recorded(service: str, event_name: str) -> bool:
    """A write management event: what CloudTrail's event history shows with ``ReadOnly=false``."""
    return not is_read_only(event_name) and not is_data_event(service, event_name)


def _noun(event_name: str, verbs: tuple[str, ...]) -> str | None:
    for verb in verbs:
        rest = event_name[len(verb):]
        if event_name.startswith(verb) and rest[:1].isupper():
            # RestoreDBInstanceFromDBSnapshot, RestoreDBClusterToPointInTime: the noun ends before From/To.
            cut = re.search(r"(?<=.)(From|To)(?=[A-Z])", rest)
            return rest[:cut.start()] if cut else rest
    return None


def creation_noun(event_name: str) -> str | None:
    """``CreateVpc`` -> ``Vpc``, ``RunInstances`` -> ``Instances``; None for calls that create nothing."""
    return _noun(event_name, CREATE_VERBS)


def is_deletion(event_name: str) -> bool:
    return _noun(event_name, DELETE_VERBS) is not None


def _candidates(noun: str) -> set[str]:
    low = noun.lower()
    return {low, low.removesuffix("s"), low.removesuffix("es")}


def _direct_ids(obj: Mapping[str, Any], nouns: set[str]) -> list[str]:
    out = []
    for key, value in obj.items():
        if not isinstance(value, str) or not value:
            continue
        low = key.lower()
        if low in _BARE_IDS or low in nouns or any(low == n + s for n in nouns for s in _ID_SUFFIXES):
            out.append(value)
    return out


def _items(value: Any) -> Iterator[Mapping[str, Any]]:
    """The objects in a container: a dict, a list of dicts, or CloudTrail's ``{"items": [...]}``."""
    if isinstance(value, Mapping):
        inner = next((value[k] for k in _LIST_KEYS if isinstance(value.get(k), list)), None)
        if inner is None:
            yield value
            return
        value = inner
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))


def unwrap(elements: Any) -> Mapping[str, Any]:
    """``responseElements`` without a lone ``...Response`` wrapper (CreateNatGateway's, in real CloudTrail)."""
    if not isinstance(elements, Mapping):
        return {}
    if len(elements) == 1:
        (key, value), = elements.items()
        if key.endswith("Response") and isinstance(value, Mapping):
            return value
    return elements


def created_ids(event_name: str, request: Any, response: Any) -> list[str]:
    """The identifiers (ids, names, ARNs, URLs) of the resource a creating call made; [] for other calls."""
    noun = creation_noun(event_name)
    if noun is None:
        return []
    nouns = _candidates(noun)
    resp = unwrap(response)
    found: list[str] = []
    for alias in _ALIASES.get(noun, ()):
        value = next((v for k, v in resp.items() if k.lower() == alias.lower()), None)
        if isinstance(value, str):
            found.append(value)
        for item in _items(value):
            found.extend(_direct_ids(item, nouns))
    containers = {n + suffix for n in nouns for suffix in ("", "s", "set", "sset")}
    for key, value in resp.items():
        if key.lower() in containers and not isinstance(value, str):
            for item in _items(value):
                found.extend(_direct_ids(item, nouns))
    found.extend(_direct_ids(resp, nouns))
    if not found and isinstance(request, Mapping):
        found.extend(_direct_ids(request, nouns))
    return list(dict.fromkeys(found))


def deleted_ids(event_name: str, request: Any) -> list[str]:
    """Every identifier a deleting call names in its request (shallow): what it took away."""
    if not is_deletion(event_name) or not isinstance(request, Mapping):
        return []
    out: list[str] = []
    for value in request.values():
        if isinstance(value, str):
            out.append(value)
        else:
            for item in _items(value):
                out.extend(v for v in item.values() if isinstance(v, str))
    return out


def tail(identifier: str) -> str:
    """The last segment of an ARN or URL: ``arn:aws:iam::1:role/x`` -> ``x``, ``.../123/queue`` -> ``queue``."""
    return re.split(r"[/:]", identifier.rstrip("/"))[-1]


def resource_type(service: str, event_name: str) -> str:
    """CloudFormation-style type of what a creating call made (``AWS::EC2::VPC``), as LookupEvents shows it."""
    noun = creation_noun(event_name) or event_name
    title = _SERVICE_TITLES.get(service, service[:1].upper() + service[1:])
    return f"AWS::{title}::{_NOUN_TYPES.get(noun, noun)}"


def redact(value: Any) -> Any:
    """``value`` with passwords, secret strings, private keys and user data hidden, as CloudTrail does."""
    if isinstance(value, Mapping):
        return {k: HIDDEN if any(s in k.lower() for s in SENSITIVE_KEYS) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
