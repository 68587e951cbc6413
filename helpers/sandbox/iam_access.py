"""Does an IAM role let a service assume it, and does it allow an action? What the service checks before acting."""
from __future__ import annotations

import fnmatch
import json
from functools import lru_cache
from typing import Any, Iterable

from .snapshot import RoleInfo


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


@lru_cache(maxsize=4096)
def _statements(document: str) -> tuple[dict[str, Any], ...]:
    """Return the statements of a policy document (JSON text, possibly URL-encoded); () if it does not parse."""
    from urllib.parse import unquote

    for text in (document, unquote(document)):
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(data, dict):
            return tuple(s for s in _as_list(data.get("Statement")) if isinstance(s, dict))
    return ()


def _action_matches(patterns: Iterable[Any], action: str) -> bool:
    return any(isinstance(p, str) and fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def trusts_service(assume_role_policy: str, service: str = "iot.amazonaws.com") -> bool:
    """Return True when the trust policy lets ``service`` call sts:AssumeRole (conditions are not evaluated)."""
    for st in _statements(assume_role_policy):
        if st.get("Effect") != "Allow" or not _action_matches(_as_list(st.get("Action")), "sts:AssumeRole"):
            continue
        principal = st.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if principal == "*" or service in services:
            return True
    return False


def allows(role: RoleInfo, action: str) -> bool:
    """Return True when some statement of the role allows ``action`` and none denies it (resources not narrowed)."""
    allowed = False
    for doc in role.policy_documents:
        for st in _statements(doc):
            if "NotAction" in st:
                matched = not _action_matches(_as_list(st["NotAction"]), action)
            else:
                matched = _action_matches(_as_list(st.get("Action")), action)
            if not matched:
                continue
            if st.get("Effect") == "Deny" and "*" in _as_list(st.get("Resource")):
                return False
            if st.get("Effect") == "Allow":
                allowed = True
    return allowed


def missing_actions(role: RoleInfo, actions: Iterable[str]) -> list[str]:
    """Return the actions of ``actions`` that the role does not allow."""
    return [a for a in actions if not allows(role, a)]
