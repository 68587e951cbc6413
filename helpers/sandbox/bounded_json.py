"""JSON parsing with limits, for every body the sandbox reads (AWS API requests and the ``/_sandbox/`` controls): a
bounded size, nesting depth and integer length, and no NaN or Infinity, so no body can exhaust the server or store a
value that cannot be written back as JSON."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MAX_BYTES = 64 * 1024 * 1024  # bulk registration of 10,000 devices with their PEMs is about 15 MB
MAX_DEPTH = 64
MAX_INT_DIGITS = 40


class JsonBodyError(ValueError):
    """A body that is not acceptable JSON; the message names the problem and how to fix it."""


@dataclass(frozen=True)
class Limits:
    """Limits for one kind of body."""

    max_bytes: int = MAX_BYTES
    max_depth: int = MAX_DEPTH
    max_int_digits: int = MAX_INT_DIGITS


DEFAULT = Limits()


def _refuse_constant(name: str) -> Any:
    """Refuse NaN, Infinity and -Infinity, which are not JSON (Python's parser accepts them)."""
    raise JsonBodyError(f"{name} is not a JSON number: send a finite number.")


def _parse_int(limits: Limits) -> Any:
    """Return a parse_int hook refusing integers longer than the limit (before int() sees them)."""
    def parse(text: str) -> int:
        """Return the integer ``text`` spells, or refuse it."""
        if len(text.lstrip("-")) > limits.max_int_digits:
            raise JsonBodyError(f"An integer has {len(text.lstrip('-'))} digits; at most {limits.max_int_digits} "
                                "are accepted.")
        return int(text)

    return parse


def _parse_float(text: str) -> float:
    """Return the float ``text`` spells, or refuse it when it overflows to infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise JsonBodyError(f"The number {text[:40]} is out of range: send a finite number.")
    return value


def _depth(value: Any, limit: int) -> int:
    """Return the nesting depth of ``value`` (iteratively), stopping early once it exceeds ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def loads(data: bytes | str, limits: Limits = DEFAULT) -> Any:
    """Return the JSON value in ``data``, or raise JsonBodyError naming why it is refused."""
    if len(data) > limits.max_bytes:
        raise JsonBodyError(f"The body is {len(data)} bytes; at most {limits.max_bytes} are accepted.")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonBodyError(f"The body is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    try:
        value = json.loads(data, parse_constant=_refuse_constant, parse_int=_parse_int(limits),
                           parse_float=_parse_float)
    except JsonBodyError:
        raise
    except RecursionError:
        raise JsonBodyError(f"The body is nested too deeply; at most {limits.max_depth} levels are accepted.") \
            from None
    except ValueError as exc:
        raise JsonBodyError(f"The body is not valid JSON: {exc}") from None
    if _depth(value, limits.max_depth) > limits.max_depth:
        raise JsonBodyError(f"The body is nested too deeply; at most {limits.max_depth} levels are accepted.")
    return value
