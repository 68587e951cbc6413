"""Validation of an operation's input parameters against its botocore input shape, as AWS validates a request
before acting on it: types, required members, string length and pattern, enum values, number range, list and map
sizes. Problems are worded as AWS words them ("1 validation error detected: Value 'x' at 'taskId' failed to satisfy
constraint: Member must ..."), each naming the member."""
from __future__ import annotations

import base64
import binascii
import json
import math
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import regex
from botocore.model import Shape
from botocore.utils import parse_timestamp

from .request_params import Text

MAX_PROBLEMS = 10
PATTERN_TIMEOUT = 1.0  # seconds
INT_TEXT = re.compile(r"-?[0-9]{1,19}", re.ASCII)
FLOAT_TEXT = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?", re.ASCII)
EPOCH_RANGE = (0.0, 253402300799.0)  # 1970-01-01 .. 9999-12-31T23:59:59Z
INT_RANGE = (-(2**63), 2**63 - 1)


@lru_cache(maxsize=2048)
def _pattern(text: str) -> Any:
    """Return the compiled model pattern (Java syntax: the regex module reads \\p{L}, \\p{Graph} and the like)."""
    return regex.compile(text)


def _matches(pattern: str, value: str) -> bool:
    """Return True when ``value`` matches the model ``pattern`` in full (a match that runs over a second counts as
    no match: the model's patterns are simple, so only a hostile value gets there)."""
    try:
        return _pattern(pattern).fullmatch(value, timeout=PATTERN_TIMEOUT) is not None
    except TimeoutError:
        return False


def _shown(value: Any) -> str:
    """Return ``value`` as AWS shows it in a validation message, shortened when long."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:200] + "..."


# Values AWS accepts beyond the botocore model, per (service, operation): member path -> values.
BEYOND_MODEL: dict[tuple[str, str], dict[str, frozenset[str]]] = {
    # CloudFormation's sentinel that clears a day field on update (reference: device-defender-audit.md, 3.3)
    ("iot", "UpdateScheduledAudit"): {"dayOfWeek": frozenset({"UNSET_VALUE"}),
                                      "dayOfMonth": frozenset({"UNSET_VALUE"})},
}


class _Walker:
    """Walks one parameter tree, collecting problems."""

    def __init__(self, beyond_model: dict[str, frozenset[str]]) -> None:
        self.problems: list[str] = []
        self.beyond_model = beyond_model

    def fail(self, value: Any, where: str, constraint: str) -> None:
        """Record that ``value`` at ``where`` breaks ``constraint``."""
        shown = "null" if value is None else f"'{_shown(value)}'"
        self.problems.append(f"Value {shown} at '{where}' failed to satisfy constraint: Member {constraint}")

    def walk(self, shape: Shape, value: Any, where: str) -> None:
        """Check ``value`` against ``shape`` (handlers by type name; types without one are not checked)."""
        if len(self.problems) >= MAX_PROBLEMS:
            return
        handler = getattr(self, f"_{shape.type_name}", None)
        if handler is not None:
            handler(shape, value, where)

    def _structure(self, shape: Any, value: Any, where: str) -> None:
        """Check an object: its type, required members, and each known member."""
        if getattr(shape, "is_document_type", False) or shape.metadata.get("document"):
            return
        if not isinstance(value, dict):
            self.fail(value, where, "must be an object")
            return
        for name in shape.required_members:
            if value.get(name) is None:
                self.fail(None, f"{where}.{name}" if where else name, "must not be null")
        members = shape.members
        for name, item in value.items():
            if name in members and item is not None:
                self.walk(members[name], item, f"{where}.{name}" if where else name)
        if shape.metadata.get("union") and sum(v is not None for v in value.values()) > 1:
            self.fail(value, where, "must set exactly one member")

    def _list(self, shape: Any, value: Any, where: str) -> None:
        """Check a list: its type, length, and each item."""
        if not isinstance(value, list):
            self.fail(value, where, "must be a list")
            return
        self._size(shape, value, where)
        for i, item in enumerate(value):
            if item is None:
                self.fail(None, f"{where}.{i + 1}", "must not be null")
            else:
                self.walk(shape.member, item, f"{where}.{i + 1}")

    def _map(self, shape: Any, value: Any, where: str) -> None:
        """Check a map: its type, size, and each key and value."""
        if not isinstance(value, dict):
            self.fail(value, where, "must be an object (a map)")
            return
        self._size(shape, value, where)
        for key, item in value.items():
            self.walk(shape.key, key, f"{where}.key")
            if item is None:
                self.fail(None, f"{where}.{key}", "must not be null")
            else:
                self.walk(shape.value, item, f"{where}.{key}")

    def _size(self, shape: Any, value: Any, where: str) -> None:
        """Check the min/max length of a string, list or map."""
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and len(value) < low:
            self.fail(value, where, f"must have length greater than or equal to {low}")
        if high is not None and len(value) > high:
            self.fail(value, where, f"must have length less than or equal to {high}")

    def _string(self, shape: Any, value: Any, where: str) -> None:
        """Check a string: type, length, then enum and pattern (values AWS takes beyond the model pass)."""
        if not isinstance(value, str):
            self.fail(value, where, "must be a string")
            return
        if value in self.beyond_model.get(where, ()):
            return
        before = len(self.problems)
        self._size(shape, value, where)
        if len(self.problems) > before:
            return  # a pattern on a string of the wrong length is not worth matching
        enum = shape.metadata.get("enum")
        if enum and value not in enum:
            self.fail(value, where, f"must satisfy enum value set: [{', '.join(enum)}]")
        pattern = shape.metadata.get("pattern")
        if pattern and not _matches(pattern, value):
            self.fail(value, where, f"must satisfy regular expression pattern: {pattern}")

    def _number(self, shape: Any, value: Any, where: str, whole: bool) -> None:
        """Check a number (text from a URI or query is converted first): type, finiteness, range."""
        if isinstance(value, Text):
            text = value.strip()
            if not (INT_TEXT if whole else FLOAT_TEXT).fullmatch(text):
                self.fail(value, where, "must be a whole number" if whole else "must be a number")
                return
            value = int(text) if whole else float(text)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(value, where, "must be a whole number" if whole else "must be a number")
            return
        if whole and isinstance(value, float) and not value.is_integer():
            self.fail(value, where, "must be a whole number")
            return
        if not math.isfinite(value) or not INT_RANGE[0] <= value <= INT_RANGE[1]:
            self.fail(value, where, "must be a number in range")
            return
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and value < low:
            self.fail(value, where, f"must have value greater than or equal to {low}")
        if high is not None and value > high:
            self.fail(value, where, f"must have value less than or equal to {high}")

    def _integer(self, shape: Any, value: Any, where: str) -> None:
        """Check a whole number."""
        self._number(shape, value, where, whole=True)

    _long = _short = _byte = _integer

    def _float(self, shape: Any, value: Any, where: str) -> None:
        """Check a number that may have a fraction."""
        self._number(shape, value, where, whole=False)

    _double = _float

    def _boolean(self, shape: Any, value: Any, where: str) -> None:
        """Check a boolean (true or false as text from a URI or query)."""
        if isinstance(value, Text) and value.lower() in ("true", "false"):
            return
        if not isinstance(value, bool):
            self.fail(value, where, "must be a boolean (true or false)")

    def _timestamp(self, shape: Any, value: Any, where: str) -> None:
        """Check a timestamp: epoch seconds or ISO 8601 within the years 1970 to 9999."""
        if not _is_timestamp(value):
            self.fail(value, where, "must be a timestamp: epoch seconds, or ISO 8601 such as 2024-01-31T12:00:00Z")

    def _blob(self, shape: Any, value: Any, where: str) -> None:
        """Check binary data: base64 text in a JSON body."""
        if isinstance(value, Text):
            return  # a payload or header blob travels as it is
        if not isinstance(value, str):
            self.fail(value, where, "must be base64-encoded binary data")
            return
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            self.fail(value, where, "must be base64-encoded binary data")


def _is_timestamp(value: Any) -> bool:
    """Return True when ``value`` is epoch seconds or ISO 8601 text within the years 1970 to 9999."""
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and FLOAT_TEXT.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, (int, float)):
        return math.isfinite(value) and EPOCH_RANGE[0] <= value <= EPOCH_RANGE[1]
    if not isinstance(value, str) or not value.isascii() or not 10 <= len(value) <= 40:
        return False
    try:
        parsed = parse_timestamp(value)
    except (ValueError, TypeError, OverflowError, OSError):
        return False
    return isinstance(parsed, datetime) and parsed.astimezone(timezone.utc).year >= 1970


def problems(shape: Shape | None, params: dict[str, Any], operation: tuple[str, str] = ("", "")) -> list[str]:
    """Return what is wrong with ``params`` for the input ``shape`` of ``operation`` (service, name), empty when
    valid, in AWS's wording."""
    if shape is None:
        return []
    walker = _Walker(BEYOND_MODEL.get(operation, {}))
    walker.walk(shape, params, "")
    return walker.problems[:MAX_PROBLEMS]


def message(found: list[str]) -> str:
    """Return AWS's validation message for the problems ``found``."""
    count = f"{len(found)} validation error{'s' if len(found) > 1 else ''} detected"
    return f"{count}: {'; '.join(found)}"
