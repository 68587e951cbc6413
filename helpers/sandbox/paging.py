"""Paging that really pages: opaque next tokens over a stable ordering, page size capped by a sandbox setting."""
from __future__ import annotations

import base64
import json
from typing import Any, Sequence, TypeVar

from .exceptions import InvalidRequestException

T = TypeVar("T")

def _encode(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode()


def paginate(items: Sequence[T], max_results: Any, next_token: str | None, *, default: int = 25,
             maximum: int = 250, fingerprint: str = "", cap: int | None = None) -> tuple[list[T], str | None]:
    """Return one page of ``items`` and the token for the next page (None on the last page).

    ``cap`` (the sandbox's ``maxPageSize`` setting) shortens every page so tests can prove that callers page."""
    size = default if max_results in (None, "") else _int(max_results, "maxResults")
    if not 1 <= size <= maximum:
        raise InvalidRequestException(f"maxResults must be between 1 and {maximum}; got {size}.")
    if cap:
        size = min(size, cap)
    offset = 0
    if next_token:
        try:
            data = json.loads(base64.urlsafe_b64decode(next_token.encode()))
            offset, token_fingerprint = data["o"], data.get("f", "")
            if not isinstance(offset, int) or isinstance(offset, bool) or not isinstance(token_fingerprint, str):
                raise TypeError("offset")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise InvalidRequestException("The nextToken is not valid: pass back the token the previous page returned.") from None
        if token_fingerprint != fingerprint or offset < 0:
            raise InvalidRequestException("The nextToken belongs to a different request: keep the same filters while paging.")
    page = list(items[offset:offset + size])
    more = offset + size < len(items)
    return page, (_encode(offset + size, fingerprint) if more else None)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidRequestException(f"{name} must be a whole number; got {value!r}.") from None
