"""Reading an AWS API call off the wire inside the sandbox's server: who, where, which operation, what it said.

The four protocols the SDKs speak are told apart the way AWS front ends do: ``X-Amz-Target`` (JSON),
``/service/<s>/operation/<op>`` (RPC v2 CBOR), an ``Action`` form field (query) and the HTTP method and path
matched against botocore's service model (REST-JSON, REST-XML). The service, region and access key come from the
SigV4 credential scope. Parameters and responses come out as CloudTrail writes them: lower camel case keys for
query and XML services, the service's own keys for JSON ones.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

_CREDENTIAL = re.compile(r"Credential=([^/,\s&]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_RPC_V2 = re.compile(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$")
# Signing names that differ from botocore's service name (REST services only matter here).
_SERVICE_NAMES = {"elasticfilesystem": "efs", "es": "opensearch", "mobiletargeting": "pinpoint",
                  "aoss": "opensearchserverless"}
_MODEL_LOCK = threading.Lock()


@dataclass(frozen=True)
class Call:
    """One identified request. ``params`` is filled by :func:`request_parameters`."""

    service: str
    region: str
    access_key: str
    action: str
    protocol: str                       # json, rpcv2, query, rest
    uri_params: dict[str, str] = field(default_factory=dict)


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def credential_scope(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(access key, region, service) from the SigV4 Authorization header or a presigned URL's query."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        match = _CREDENTIAL.search(unquote(environ.get("QUERY_STRING", "")))
    return (match.group(1), match.group(2), match.group(3)) if match else None


def identify(environ: dict[str, Any], body: Callable[[], bytes]) -> Call | None:
    """The call a request makes, or None when it is not an AWS API call envctl can name (or a REST read).

    ``body`` reads (once) the request body; it is only called for form-encoded requests.
    """
    scope = credential_scope(environ)
    if scope is None:
        return None
    key, region, service = scope
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return Call(service, region, key, target.rsplit(".", 1)[-1], "json")
    path = environ.get("PATH_INFO", "")
    rpc = _RPC_V2.match(path)
    if rpc:
        return Call(service, region, key, rpc.group(1), "rpcv2")
    query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
    action = query.get("Action")
    if action is None and environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        action = dict(parse_qsl(body().decode("utf-8", "replace"))).get("Action")
    if action:
        return Call(service, region, key, action, "query")
    method = environ.get("REQUEST_METHOD", "GET")
    if method in ("GET", "HEAD", "OPTIONS"):
        return None  # REST reads: nothing to record, and no model to load
    matched = match_rest(service, method, path, query)
    if matched is None:
        return None
    name, uri_params = matched
    return Call(service, region, key, name, "rest", uri_params)


# ---------------------------------------------------------------- REST routes from botocore's models


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    labels: tuple[str, ...]
    query: tuple[tuple[str, str | None], ...]
    name: str
    weight: tuple[int, int]


def _compile(uri: str) -> tuple[re.Pattern[str], tuple[str, ...], tuple[tuple[str, str | None], ...], int]:
    path, _, query = uri.partition("?")
    parts = re.split(r"(\{[^}]+\})", path)
    last_label = max((i for i, p in enumerate(parts) if p.startswith("{")), default=-1)
    regex, labels, literal = "", [], 0
    for i, part in enumerate(parts):
        if part.startswith("{"):
            label = part[1:-1]
            greedy = label.endswith("+") or i == last_label  # clients leave slashes in ARNs unencoded
            labels.append(label.rstrip("+"))
            regex += "(.+)" if greedy else "([^/]+)"
        else:
            regex += re.escape(part)
            literal += len(part)
    keys = tuple((k, v if sep else None) for k, sep, v in (q.partition("=") for q in query.split("&") if q))
    return re.compile("^" + regex.rstrip("/") + "/?$"), tuple(labels), keys, literal


@functools.cache
def _routes(service: str) -> tuple[_Route, ...]:
    from botocore.exceptions import UnknownServiceError

    with _MODEL_LOCK:
        try:
            model = _session().get_service_model(_SERVICE_NAMES.get(service, service))
        except UnknownServiceError:
            return ()
        if model.protocol not in ("rest-json", "rest-xml"):
            return ()
        routes = []
        for name in model.operation_names:
            http = model.operation_model(name).http
            pattern, labels, keys, literal = _compile(http.get("requestUri", "/"))
            routes.append(_Route(http.get("method", "POST"), pattern, labels, keys, name, (len(keys), literal)))
    return tuple(routes)


@functools.lru_cache(maxsize=1)
def _session() -> Any:
    import botocore.session

    return botocore.session.get_session()


def match_rest(service: str, method: str, path: str, query: dict[str, str]) -> tuple[str, dict[str, str]] | None:
    """The REST operation (and its URI labels) a method and path call, the most specific match winning."""
    best: tuple[_Route, re.Match[str]] | None = None
    for route in _routes(service):
        if route.method != method or not all(k in query and (v is None or query[k] == v) for k, v in route.query):
            continue
        found = route.pattern.match(path)
        if found and (best is None or route.weight > best[0].weight):
            best = (route, found)
    if best is None:
        return None
    route, found = best
    return route.name, dict(zip(route.labels, found.groups(), strict=True))


# ---------------------------------------------------------------- parameters and responses


def form_to_dict(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``TagSpecification.1.Tag.1.Key=k`` form fields as nested lower camel case objects and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        if key in ("Action", "Version"):
            continue
        node = root
        parts = [p if p.isdigit() else lower_camel(p) for p in key.split(".")]
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[parts[-1]] = value
    return _listify(root)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if value and all(k.isdigit() for k in value):
        return [_listify(value[k]) for k in sorted(value, key=int)]
    if set(value) == {"member"}:
        return _listify(value["member"])
    return {k: _listify(v) for k, v in value.items()}


def xml_to_dict(body: bytes) -> Any:
    """An XML response as CloudTrail shows it: no namespaces, lower camel keys, ``member``/``item`` lists, and
    without the ``...Result`` wrapper and ``ResponseMetadata`` of the query protocol."""
    try:
        value = _convert(ET.fromstring(body))
    except ET.ParseError:
        return None
    if isinstance(value, dict):
        value.pop("responseMetadata", None)
        results = [k for k in value if k.endswith("Result")]
        if len(value) == 1 and results:
            value = value[results[0]]
    return value


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _convert(elem: ET.Element) -> Any:
    children = list(elem)
    if not children:
        return (elem.text or "").strip()
    tags = [_local(c.tag) for c in children]
    if all(t in ("member", "item") for t in tags):
        return [_convert(c) for c in children]
    out: dict[str, Any] = {}
    for tag, child in zip(tags, children, strict=True):
        key, value = lower_camel(tag), _convert(child)
        if key in out:
            out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [value]
        else:
            out[key] = value
    return out


def parse_body(body: bytes, content_type: str) -> Any:
    """A JSON or XML body as data; None for anything else (or nothing)."""
    if not body:
        return None
    if "json" in content_type or body[:1] in (b"{", b"["):
        try:
            return json.loads(body)
        except ValueError:
            return None
    if "xml" in content_type or body.lstrip()[:1] == b"<":
        return xml_to_dict(body)
    return None


def request_parameters(call: Call, environ: dict[str, Any], body: bytes) -> Any:
    """The call's parameters as CloudTrail's ``requestParameters``."""
    if call.protocol == "query":
        fields = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        fields += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return form_to_dict(fields)
    if call.protocol == "json":
        return parse_body(body, "json")
    if call.protocol == "rest":
        params: dict[str, Any] = {lower_camel(k): v for k, v in call.uri_params.items()}
        params.update({lower_camel(k): v for k, v in parse_qsl(environ.get("QUERY_STRING", ""))
                       if k != "x-id"})
        parsed = parse_body(body, environ.get("CONTENT_TYPE", ""))
        if isinstance(parsed, dict):
            params.update(parsed)
        return params or None
    return None


def error_of(status: int, parsed: Any) -> tuple[str, str] | None:
    """(errorCode, errorMessage) of a failed call, from a JSON ``__type`` or an XML ``Code``."""
    if status < 400:
        return None
    if isinstance(parsed, dict):
        found = _find_error(parsed)
        if found:
            return found
    return f"HTTP{status}", ""


def _find_error(data: dict[str, Any]) -> tuple[str, str] | None:
    if "__type" in data:
        return str(data["__type"]).rsplit("#", 1)[-1], _text(data.get("message") or data.get("Message"))
    if "code" in data:
        return _text(data["code"]), _text(data.get("message"))
    for value in data.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                found = _find_error(item)
                if found:
                    return found
    return None


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    return "" if value is None else str(value)
