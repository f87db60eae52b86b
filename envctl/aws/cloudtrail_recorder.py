"""The sandbox's CloudTrail: every write call the sandbox serves, kept as a management event and looked up.

A WSGI middleware in front of moto's server (which has no event history). For each request it names the call
(:mod:`envctl.aws.cloudtrail_wire`); reads and data events pass straight through untouched, so the recorder
costs a read-heavy sandbox nearly nothing. A write is passed to moto, then kept as the event CloudTrail would
write: time, name and source, region, user agent, the caller from its access key, request parameters (secrets
hidden), response elements, and the resources it created (:mod:`envctl.aws.cloudtrail_shape`).

``cloudtrail:LookupEvents`` is answered here, in CloudTrail's own shape: newest first, one lookup attribute,
``StartTime``/``EndTime``, at most 50 events a page with a ``NextToken``. Events live in memory, as the
sandbox's resources do, and are wiped with them by ``POST /moto-api/reset``; the newest
:data:`MAX_EVENTS` are kept.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from envctl.aws import cloudtrail_shape as shape
from envctl.aws.cloudtrail_wire import Call, error_of, identify, parse_body, request_parameters

MAX_EVENTS = 20_000
MAX_BODY = 1 << 20          # bodies larger than this are passed on unread (their parameters are not recorded)
PAGE_MAX = 50
DEFAULT_ACCOUNT = "123456789012"
LOOKUP_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource",
               "AccessKeyId")
_LOG = logging.getLogger("envctl.cloudtrail")

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Recorded:
    """One kept event, with what the lookup attributes filter on."""

    seq: int
    time: float
    region: str
    event: dict[str, Any]
    resources: tuple[tuple[str, str], ...]
    username: str

    def value_of(self, key: str) -> set[str]:
        ev = self.event
        values = {"EventId": {ev["eventID"]}, "EventName": {ev["eventName"]}, "ReadOnly": {"false"},
                  "Username": {self.username}, "EventSource": {ev["eventSource"]},
                  "AccessKeyId": {ev["userIdentity"].get("accessKeyId", "")},
                  "ResourceType": {t for t, _ in self.resources}, "ResourceName": {n for _, n in self.resources}}
        return values.get(key, set())

    def summary(self) -> dict[str, Any]:
        """The item of ``LookupEvents``' ``Events`` list."""
        ev = self.event
        return {"EventId": ev["eventID"], "EventName": ev["eventName"], "ReadOnly": "false",
                "AccessKeyId": ev["userIdentity"].get("accessKeyId", ""), "EventTime": self.time,
                "EventSource": ev["eventSource"], "Username": self.username,
                "Resources": [{"ResourceType": t, "ResourceName": n} for t, n in self.resources],
                "CloudTrailEvent": json.dumps(ev, separators=(",", ":"))}


class EventStore:
    """The newest :data:`MAX_EVENTS` events, thread-safe."""

    def __init__(self, limit: int = MAX_EVENTS) -> None:
        self._events: deque[Recorded] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._seq = 0

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def add(self, record: Recorded) -> None:
        with self._lock:
            self._events.append(record)

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def lookup(self, region: str, query: LookupQuery) -> tuple[list[Recorded], str | None]:
        """One page, newest first, and the token for the next one (None when this is the last page)."""
        with self._lock:
            snapshot = list(self._events)
        page: list[Recorded] = []
        for record in reversed(snapshot):
            if record.region != region or (query.before is not None and record.seq >= query.before):
                continue
            if not query.start <= record.time <= query.end:
                continue
            if query.attribute and query.attribute[1] not in record.value_of(query.attribute[0]):
                continue
            if len(page) == query.max_results:
                return page, _token(page[-1].seq)
            page.append(record)
        return page, None


@dataclass(frozen=True)
class LookupQuery:
    attribute: tuple[str, str] | None
    start: float
    end: float
    max_results: int
    before: int | None  # from NextToken: only events recorded before this sequence number


class LookupInputError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"envctl-ct:{seq}".encode()).decode()


def _when(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise LookupInputError("InvalidTimeRangeException", f"not a time: {value!r}") from None


def parse_lookup(request: dict[str, Any], now: float) -> LookupQuery:
    """A ``LookupEvents`` request checked as CloudTrail checks it."""
    attrs = request.get("LookupAttributes") or []
    if len(attrs) > 1:
        raise LookupInputError("InvalidLookupAttributesException", "only one lookup attribute is allowed")
    attribute = None
    if attrs:
        key, value = attrs[0].get("AttributeKey"), attrs[0].get("AttributeValue")
        if key not in LOOKUP_KEYS or not isinstance(value, str):
            raise LookupInputError("InvalidLookupAttributesException", f"unknown lookup attribute {key!r}")
        attribute = (key, value)
    max_results = request.get("MaxResults", PAGE_MAX)
    if not isinstance(max_results, int) or not 1 <= max_results <= PAGE_MAX:
        raise LookupInputError("InvalidMaxResultsException", f"MaxResults must be 1 to {PAGE_MAX}")
    start, end = _when(request.get("StartTime"), 0.0), _when(request.get("EndTime"), now)
    if start > end:
        raise LookupInputError("InvalidTimeRangeException", "StartTime is after EndTime")
    before = None
    if request.get("NextToken"):
        try:
            text = base64.urlsafe_b64decode(str(request["NextToken"]).encode()).decode()
            before = int(text.removeprefix("envctl-ct:")) if text.startswith("envctl-ct:") else None
        except ValueError:
            before = None
        if before is None:
            raise LookupInputError("InvalidNextTokenException", "invalid NextToken")
    return LookupQuery(attribute, start, end, max_results, before)


class _Body:
    """The request body read once (when small enough), and put back for moto to read again."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self._environ = environ
        self._data: bytes | None = None

    def read(self) -> bytes:
        if self._data is None:
            raw = self._environ.get("CONTENT_LENGTH") or ""
            if not raw.isdigit() or int(raw) > MAX_BODY:
                self._data = b""
                return self._data
            self._data = self._environ["wsgi.input"].read(int(raw)) if int(raw) else b""
            self._environ["wsgi.input"] = io.BytesIO(self._data)
        return self._data


class CloudTrailRecorder:
    """WSGI middleware: answers ``cloudtrail:LookupEvents`` and records the writes ``inner`` serves."""

    def __init__(self, inner: WsgiApp, *, store: EventStore | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self._inner = inner
        self.store = store or EventStore()
        self._clock = clock

    def clear(self) -> None:
        self.store.clear()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith("/moto-api"):
            return self._inner(environ, start_response)
        body = _Body(environ)
        call = identify(environ, body.read)
        if call is None:
            return self._inner(environ, start_response)
        if call.service == "cloudtrail" and call.action == "LookupEvents":
            return self._lookup(call, body.read(), start_response)
        if not shape.is_recorded(call.service, call.action):
            return self._inner(environ, start_response)
        started, request = self._clock(), body.read()
        captured: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            captured.append((status, headers))
            return written.append

        chunks = self._inner(environ, capture)
        try:
            payload = b"".join([*written, *chunks])
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        status, headers = captured[-1]
        start_response(status, headers)
        try:
            self.store.add(self._record(call, environ, request, started, int(status.split()[0]), headers, payload))
        except Exception:  # a call must never fail because it could not be recorded
            _LOG.exception("could not record %s:%s", call.service, call.action)
        return [payload]

    def _record(self, call: Call, environ: dict[str, Any], request: bytes, started: float, status: int,
                headers: list[tuple[str, str]], payload: bytes) -> Recorded:
        head = {k.lower(): v for k, v in headers}
        params = request_parameters(call, environ, request)
        response = parse_body(payload, head.get("content-type", ""))
        error = error_of(status, response)
        identity, username, account = caller_identity(call.access_key, call.region, environ)
        source = f"{call.service}.amazonaws.com"
        event: dict[str, Any] = {
            "eventVersion": "1.09", "userIdentity": identity,
            "eventTime": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": source, "eventName": call.action, "awsRegion": call.region,
            "sourceIPAddress": environ.get("REMOTE_ADDR", "127.0.0.1"), "userAgent": environ.get("HTTP_USER_AGENT", ""),
            "requestParameters": shape.redact(params), "responseElements": None if error else shape.redact(response),
            "requestID": head.get("x-amzn-requestid") or head.get("x-amz-request-id") or str(uuid.uuid4()),
            "eventID": str(uuid.uuid4()), "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True,
            "recipientAccountId": account, "eventCategory": "Management",
        }
        resources: tuple[tuple[str, str], ...] = ()
        if error:
            event["errorCode"], event["errorMessage"] = error
        else:
            rtype = shape.resource_type(call.service, call.action)
            resources = tuple((rtype, name) for name in shape.created_ids(call.action, params, response))
        return Recorded(self.store.next_seq(), started, call.region, event, resources, username)

    def _lookup(self, call: Call, body: bytes, start_response: StartResponse) -> Iterable[bytes]:
        try:
            request = json.loads(body or b"{}")
            if not isinstance(request, dict):
                raise LookupInputError("ValidationException", "the request body is not a JSON object")
            query = parse_lookup(request, self._clock())
        except ValueError:
            return _json(start_response, 400, {"__type": "SerializationException", "message": "invalid JSON"})
        except LookupInputError as err:
            return _json(start_response, 400, {"__type": err.code, "message": str(err)})
        events, token = self.store.lookup(call.region, query)
        answer: dict[str, Any] = {"Events": [e.summary() for e in events]}
        if token:
            answer["NextToken"] = token
        return _json(start_response, 200, answer)


def _json(start_response: StartResponse, status: int, data: dict[str, Any]) -> list[bytes]:
    body = json.dumps(data, separators=(",", ":")).encode()
    reason = "OK" if status == 200 else "Bad Request"
    start_response(f"{status} {reason}", [("Content-Type", "application/x-amz-json-1.1"),
                                          ("Content-Length", str(len(body))),
                                          ("x-amzn-RequestId", str(uuid.uuid4()))])
    return [body]


def caller_identity(access_key: str, region: str, environ: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    """(userIdentity, user name, account) for an access key, as moto's STS answers GetCallerIdentity for it."""
    account = os.environ.get("MOTO_ACCOUNT_ID") or environ.get("HTTP_X_MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT
    user_id, arn = "AIDAENVCTLSANDBOXUSER", f"arn:aws:iam::{account}:user/moto"
    if access_key.startswith(("AKIA", "ASIA")):  # keys moto itself issued (IAM users, assumed roles)
        try:
            from moto.iam.models import get_account_id_from
            from moto.sts.models import sts_backends

            account = get_account_id_from(access_key)
            user_id, arn, account = sts_backends[account]["aws"].get_caller_identity(access_key, region)
        except Exception:  # moto's internals moved: the default identity is still a truthful "someone"
            _LOG.debug("no moto identity for %s", access_key, exc_info=True)
    identity: dict[str, Any] = {"principalId": user_id, "arn": arn, "accountId": account, "accessKeyId": access_key}
    if ":assumed-role/" in arn:
        role, _, session = arn.split(":assumed-role/", 1)[1].partition("/")
        identity["type"] = "AssumedRole"
        identity["sessionContext"] = {"sessionIssuer": {"type": "Role", "userName": role, "accountId": account,
                                                        "arn": f"arn:aws:iam::{account}:role/{role}"}}
        return identity, session, account
    name = arn.rsplit("/", 1)[-1]
    identity.update({"type": "IAMUser", "userName": name})
    return identity, name, account
