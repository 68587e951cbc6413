"""The input parameters of an AWS API request, read from the raw HTTP request as its protocol places them, before
any handler runs: URI labels, query string, headers and JSON body (rest-json), the JSON body (json), the form
fields (query). Scalars that travel as text are kept as :class:`Text`, so validation coerces them by their shape;
JSON values stay as the client sent them, so a list where a string belongs is seen, not silently converted."""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import botocore.loaders
from moto.core.model import OperationModel, ServiceModel
from moto.core.parse import UNDEFINED, QueryParser

from . import bounded_json

MAX_FORM_FIELDS = 10_000


class Text(str):
    """A scalar that arrived as text (URI label, query string, header or form field)."""


class ParamsError(ValueError):
    """A request whose parameters cannot be read; the message names the problem."""


@dataclass(frozen=True)
class RawRequest:
    """What the parameters are read from: method, raw (still percent-encoded) path, query, headers, body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes
    form: bool  # the body is application/x-www-form-urlencoded


def raw_request(environ: dict[str, Any], body: bytes) -> RawRequest:
    """Return the parts of the WSGI request ``environ`` (whose body was read already as ``body``)."""
    path = (environ.get("RAW_URI") or environ.get("REQUEST_URI") or "").split("?", 1)[0]
    if not path:
        path = urllib.parse.quote(environ.get("PATH_INFO", ""))
    headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True,
                                  max_num_fields=MAX_FORM_FIELDS)
    return RawRequest(environ.get("REQUEST_METHOD", "GET"), path, query, headers, body,
                      "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""))


@lru_cache(maxsize=16)
def service_model(model_name: str) -> ServiceModel:
    """Return moto's flavour of the botocore service model ``model_name`` (shapes moto's parsers understand)."""
    loader = botocore.loaders.create_loader()
    return ServiceModel(loader.load_service_model(model_name, "service-2"), model_name)


class _TextQueryParser(QueryParser):
    """moto's query-protocol parser, keeping scalars as Text instead of converting them (int("x") would raise)."""

    def _as_text(self, shape: Any, node: Any, prefix: str = "") -> Any:
        """Return the raw text at ``prefix`` (UNDEFINED when absent), marked as Text."""
        value = self._default_handle(shape, node, prefix)
        return value if value is UNDEFINED or not isinstance(value, str) else Text(value)

    _parse_integer = _parse_long = _parse_float = _parse_double = _as_text
    _parse_boolean = _parse_timestamp = _parse_blob = _parse_string = _as_text


def _json_object(body: bytes) -> dict[str, Any]:
    """Return the JSON object in ``body`` (empty for no body), or raise ParamsError."""
    if not body.strip():
        return {}
    try:
        data = bounded_json.loads(body)
    except bounded_json.JsonBodyError as exc:
        raise ParamsError(f"The request body is refused: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError("The request body must be a JSON object.")
    return data


def _decoded_text(body: bytes) -> str:
    """Return ``body`` as text, or raise ParamsError when it is not UTF-8."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParamsError(f"The request body is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


@lru_cache(maxsize=1024)
def _label_regex(request_uri: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """Return (regex of the path with one group per label, label names) of a REST request URI."""
    path = request_uri.split("?", 1)[0]
    pattern, names = "", []
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            greedy = part.endswith("+}")
            names.append(part[1:-2] if greedy else part[1:-1])
            pattern += "(.*)" if greedy else "([^/]*)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}/?$"), tuple(names)


def _labels(operation: OperationModel, path: str) -> dict[str, str]:
    """Return the URI labels of ``path`` by name, percent-decoded (empty when the path does not fit)."""
    match, names = _label_regex(operation.http["requestUri"])
    found = match.match(path)
    if found is None:
        return {}
    return {name: urllib.parse.unquote(value) for name, value in zip(names, found.groups())}


def _rest_json(operation: OperationModel, raw: RawRequest) -> dict[str, Any]:
    """Return the parameters of a rest-json request: labels, query string, headers, then the body."""
    shape = operation.input_shape
    params: dict[str, Any] = {}
    if shape is None:
        return params
    labels = _labels(operation, raw.path)
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():
        location, wire = member.serialization.get("location"), member.serialization.get("name", name)
        if location == "uri" and wire in labels:
            params[name] = Text(labels[wire])
        elif location == "querystring" and member.type_name == "map":
            params[name] = {k: [Text(x) for x in v] if member.value.type_name == "list" else Text(v[0])
                            for k, v in raw.query.items()}
        elif location == "querystring" and wire in raw.query:
            values = raw.query[wire]
            params[name] = [Text(v) for v in values] if member.type_name == "list" else Text(values[0])
        elif location == "header" and wire.lower() in raw.headers:
            params[name] = Text(raw.headers[wire.lower()])
        elif location == "headers":
            prefix = wire.lower()
            params[name] = {k[len(prefix):]: Text(v) for k, v in raw.headers.items() if k.startswith(prefix)}
    if payload is not None and shape.members[payload].type_name in ("string", "blob"):
        if raw.body:
            params[payload] = Text(_decoded_text(raw.body))
        return params
    body = _json_object(raw.body)
    if payload is not None:
        if raw.body.strip():
            params[payload] = body
        return params
    for name, member in shape.members.items():
        wire = member.serialization.get("name", name)
        if member.serialization.get("location") is None and wire in body:
            params[name] = body[wire]
    return params


def _json(operation: OperationModel, raw: RawRequest) -> dict[str, Any]:
    """Return the parameters of a json-protocol request: the members of its JSON body."""
    shape = operation.input_shape
    body = _json_object(raw.body)
    if shape is None:
        return {}
    return {name: body[member.serialization.get("name", name)] for name, member in shape.members.items()
            if member.serialization.get("name", name) in body}


def _query(operation: OperationModel, raw: RawRequest) -> dict[str, Any]:
    """Return the parameters of a query-protocol request: its form fields and query string, as Text."""
    values = {k: v[0] for k, v in raw.query.items()}
    if raw.form and raw.body:
        try:
            form = urllib.parse.parse_qs(_decoded_text(raw.body), keep_blank_values=True,
                                         max_num_fields=MAX_FORM_FIELDS, errors="strict")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParamsError(f"The form body cannot be read: {exc}") from None
        values.update({k: v[0] for k, v in form.items()})
    if operation.input_shape is None:
        return {}
    try:
        parsed = _TextQueryParser(operation)._parse_shape(operation.input_shape, values)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ParamsError(f"The request parameters cannot be read: {exc}") from None
    return {} if parsed is UNDEFINED else dict(parsed)


READERS: dict[str, Callable[[OperationModel, RawRequest], dict[str, Any]]] = {
    "rest-json": _rest_json, "json": _json, "query": _query}


def read_params(model_name: str, protocol: str, operation_name: str, raw: RawRequest) -> dict[str, Any] | None:
    """Return the input parameters of ``operation_name`` in ``raw`` (None for a protocol not read here), or raise
    ParamsError when they cannot be read (a body that is not a JSON object, not UTF-8, ...)."""
    reader = READERS.get(protocol)
    if reader is None:
        return None
    if raw.body and protocol != "query":
        _decoded_text(raw.body)
    return reader(service_model(model_name).operation_model(operation_name), raw)
