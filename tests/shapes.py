"""Validate a parsed boto3 response against the botocore output shape of its operation.

boto3 does not validate responses; moto drops unknown keys silently. This checks required members, member names,
types, enums, lengths/ranges and patterns, recursively, so a response the sandbox shapes wrongly fails a test.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

import botocore.session

_MODEL = None


def iot_model() -> Any:
    """Return the botocore ``iot`` service model."""
    global _MODEL
    if _MODEL is None:
        _MODEL = botocore.session.get_session().get_service_model("iot")
    return _MODEL


def operation_output(operation: str) -> Any:
    """Return the output shape of an IoT operation (CamelCase name)."""
    return iot_model().operation_model(operation).output_shape


def validate(operation: str, response: dict[str, Any]) -> list[str]:
    """Return the problems of ``response`` against the output shape of ``operation`` (empty when valid)."""
    shape = operation_output(operation)
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    problems: list[str] = []
    if shape is None:
        if body:
            problems.append(f"{operation} has no output shape but returned {sorted(body)}")
        return problems
    _check(shape, body, operation, problems)
    return problems


def assert_valid(operation: str, response: dict[str, Any]) -> None:
    """Fail with the list of problems when ``response`` does not match the output shape of ``operation``."""
    problems = validate(operation, response)
    assert not problems, f"{operation} response does not match the botocore shape:\n  " + "\n  ".join(problems)


def _check(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    t = shape.type_name
    meta = shape.metadata
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected object, got {type(value).__name__}")
            return
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}: missing required member {name}")
        for key, sub in value.items():
            if key not in shape.members:
                problems.append(f"{path}: unknown member {key}")
                continue
            _check(shape.members[key], sub, f"{path}.{key}", problems)
        if shape.metadata.get("union") and len(value) != 1:
            problems.append(f"{path}: union must set exactly one member, has {sorted(value)}")
    elif t == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected list, got {type(value).__name__}")
            return
        _bounds(meta, len(value), path, problems, "length")
        for i, item in enumerate(value):
            _check(shape.member, item, f"{path}[{i}]", problems)
    elif t == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected map, got {type(value).__name__}")
            return
        for k, v in value.items():
            _check(shape.key, k, f"{path}<key {k}>", problems)
            _check(shape.value, v, f"{path}.{k}", problems)
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected string, got {type(value).__name__}")
            return
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in enum {shape.enum}")
        _bounds(meta, len(value), path, problems, "length")
        pattern = meta.get("pattern")
        if pattern and not _matches(pattern, value):
            problems.append(f"{path}: {value!r} does not match pattern {pattern}")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected integer, got {type(value).__name__}")
            return
        _bounds(meta, value, path, problems, "value")
    elif t in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected number, got {type(value).__name__}")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected boolean, got {type(value).__name__}")
    elif t == "timestamp":
        if not isinstance(value, dt.datetime):
            problems.append(f"{path}: expected timestamp, got {type(value).__name__}")
    elif t == "blob":
        if not isinstance(value, (bytes, bytearray)):
            problems.append(f"{path}: expected bytes, got {type(value).__name__}")


def _matches(pattern: str, value: str) -> bool:
    """Return True when ``value`` matches the model's pattern (Java-style \\p{...} classes need ``regex``)."""
    try:
        return re.search(pattern, value) is not None
    except re.error:
        import regex  # the third-party module understands Unicode property classes

        return regex.search(pattern, value) is not None


def _bounds(meta: dict[str, Any], n: int, path: str, problems: list[str], what: str) -> None:
    if "min" in meta and n < meta["min"]:
        problems.append(f"{path}: {what} {n} below minimum {meta['min']}")
    if "max" in meta and n > meta["max"]:
        problems.append(f"{path}: {what} {n} above maximum {meta['max']}")
