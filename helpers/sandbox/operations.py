"""Which AWS operation an HTTP request to the sandbox is: service from the SigV4 scope, operation from the botocore
model (``X-Amz-Target``, the query ``Action``, or the REST method and path), for fault injection and the operation log.
"""
from __future__ import annotations

import io
import re
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import botocore.session

SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
# The signing name of a service is not always its model name.
MODEL_NAMES = {"cognito-identity": "cognito-identity", "iot": "iot", "iam": "iam", "sts": "sts", "sns": "sns",
               "sqs": "sqs"}


# Unsigned requests: the X-Amz-Target prefix of the services with operations AWS answers unsigned, and the region
# moto's dispatcher serves them in.
UNSIGNED_TARGETS = {"AWSCognitoIdentityService": "cognito-identity"}
UNSIGNED_REGION = "us-east-1"


@dataclass(frozen=True)
class ApiRequest:
    """An identified AWS API request: signing service, region and operation name (None when no operation fits)."""

    service: str
    region: str
    operation: str | None
    protocol: str


@lru_cache(maxsize=16)
def model_of(service: str) -> Any:
    """Return the botocore service model of the signing name ``service``, or None for a service botocore lacks."""
    try:
        return botocore.session.get_session().get_service_model(MODEL_NAMES.get(service, service))
    except Exception:  # an unknown service: moto answers as it will
        return None


def _uri_regex(request_uri: str) -> tuple[re.Pattern[str], int, frozenset[str]]:
    """Return (regex of the path, number of literal characters, query keys the URI requires)."""
    path, _, query = request_uri.partition("?")
    pattern, literal = "", 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            pattern += "(.+)" if part.endswith("+}") else "([^/]+)"
        else:
            pattern += re.escape(part)
            literal += len(part)
    keys = frozenset(k.split("=")[0] for k in query.split("&") if k)
    return re.compile(f"^{pattern}/?$"), literal, keys


@lru_cache(maxsize=16)
def _rest_routes(service: str) -> tuple[tuple[str, re.Pattern[str], int, frozenset[str], str], ...]:
    """Return (method, path regex, literal length, required query keys, operation) for a REST service's model."""
    model = model_of(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        regex, literal, keys = _uri_regex(http["requestUri"])
        routes.append((http["method"], regex, literal, keys, name))
    return tuple(sorted(routes, key=lambda r: -r[2]))


def rest_operation(service: str, method: str, path: str, query: dict[str, Any] | None = None) -> str | None:
    """Return the operation of a REST request (the most specific route that fits), or None. ``path`` is the raw,
    still percent-encoded path: a label such as a certificate ARN carries an encoded "/"."""
    query = query or {}
    for route_method, regex, _, keys, name in _rest_routes(service):
        if route_method == method and keys <= set(query) and regex.match(path):
            return name
    return None


def _form_action(environ: dict[str, Any]) -> str | None:
    """Return the ``Action`` of a query-protocol request, reading (and putting back) a form body."""
    action = urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).get("Action")
    if action:
        return action[0]
    if "x-www-form-urlencoded" not in environ.get("CONTENT_TYPE", ""):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return urllib.parse.parse_qs(body.decode("utf-8", "replace")).get("Action", [None])[0]


@lru_cache(maxsize=16)
def unsigned_operations(service: str) -> frozenset[str]:
    """Return the operations of ``service`` that AWS answers unsigned (Cognito's GetId, STS's
    AssumeRoleWithWebIdentity, ...: the model marks them authtype none)."""
    model = model_of(service)
    if model is None:
        return frozenset()
    return frozenset(name for name in model.operation_names
                     if model.operation_model(name)._operation_model.get("authtype") == "none"
                     or model.operation_model(name)._operation_model.get("auth") == ["smithy.api#noAuth"])


def signing_scope(environ: dict[str, Any]) -> tuple[str, str] | None:
    """Return (region, service) of a request: from its SigV4 credential scope, or, for an operation AWS answers
    unsigned, the service it belongs to (in UNSIGNED_REGION, where moto answers those); None otherwise."""
    match = SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is not None:
        return match.group(1), match.group(2)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        prefix, _, operation = target.rpartition(".")
        service = UNSIGNED_TARGETS.get(prefix)
        return (UNSIGNED_REGION, service) if service and operation in unsigned_operations(service) else None
    form = "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", "")
    if form and _form_action(environ) in unsigned_operations("sts"):
        return UNSIGNED_REGION, "sts"
    return None


def identify(environ: dict[str, Any]) -> ApiRequest | None:
    """Return the AWS API request ``environ`` carries, or None when it is neither signed nor an operation AWS
    answers unsigned."""
    scope = signing_scope(environ)
    if scope is None:
        return None
    region, service = scope
    model = model_of(service)
    protocol = model.metadata.get("protocol", "") if model is not None else ""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        operation: str | None = target.rsplit(".", 1)[-1]
    elif protocol in ("query", "ec2"):
        operation = _form_action(environ)
    elif protocol.startswith("rest"):
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        raw = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or "").split("?", 1)[0]
        path = raw or urllib.parse.quote(environ.get("PATH_INFO", ""))
        operation = rest_operation(service, environ.get("REQUEST_METHOD", "GET"), path, query)
    else:
        operation = None
    return ApiRequest(service, region, operation, protocol)


class OperationLog:
    """A count of the AWS operations the sandbox answered, per service, since the last clear (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def record(self, request: ApiRequest) -> None:
        """Count one request."""
        with self._lock:
            self._counts[(request.service, request.operation or "?")] += 1

    def clear(self) -> None:
        """Forget every count."""
        with self._lock:
            self._counts.clear()

    def to_list(self) -> list[dict[str, Any]]:
        """Return the counts as ``[{"service", "operation", "count"}]``, sorted by service and operation."""
        with self._lock:
            return [{"service": s, "operation": o, "count": n} for (s, o), n in sorted(self._counts.items())]
