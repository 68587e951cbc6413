"""The catalogue of the 17 Device Defender audit checks: API name, console title, severity, resource type, what each
detects and why it matters, its documentation page, the mitigation action types it allows, and whether it was among
the module's original 14 — as a DataFrame and as look-ups.

The facts themselves, one :class:`CheckInfo` per check, live in :mod:`helpers.spec.checks` (the same data the
local Device Defender evaluates); this module adds look-ups, name resolution and tables. Use :func:`resolve_check_names` to turn user input into valid API names.
"""
from __future__ import annotations

import difflib
from typing import Iterable

import pandas as pd

from .errors import WorkshopError
from .spec.checks import CHECK_NAMES, CHECKS, DOCS_BASE, ORIGINAL_14, SEVERITIES, CheckInfo
from .tables import StyledTable, as_severity, severity_rank, style_table

__all__ = ["CHECK_NAMES", "ORIGINAL_14", "SEVERITIES", "CheckInfo", "DOCS_BASE", "list_checks", "checks_table",
           "describe_check", "title", "severity", "allowed_actions", "docs_url", "checks_by_severity",
           "resolve_check_name", "resolve_check_names", "suggest_check_names"]

# Spellings seen in older documentation and examples -> the current API name.
_ALIASES: dict[str, str] = {
    "REVOKED_CA_CERT_CHECK": "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK",
    "CA_CERT_APPROACHING_EXPIRATION_CHECK": "CA_CERTIFICATE_EXPIRING_CHECK",
    "DEVICE_CERT_APPROACHING_EXPIRATION_CHECK": "DEVICE_CERTIFICATE_EXPIRING_CHECK",
    "REVOKED_DEVICE_CERT_CHECK": "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK",
    "IOT_POLICY_UNRESTRICTED_CHECK": "IOT_POLICY_OVERLY_PERMISSIVE_CHECK",
    "UNAUTHENTICATED_COGNITO_IDENTITY_UNRESTRICTED_ACCESS_CHECK":
        "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK",
    "AUTHENTICATED_COGNITO_IDENTITY_UNRESTRICTED_ACCESS_CHECK": "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK",
    "IOT_POLICY_POTENTIAL_MIS_CONFIGURATION_CHECK": "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK",
}


_INFO: dict[str, CheckInfo] = CHECKS
_BY_TITLE: dict[str, str] = {info.title.lower(): name for name, info in _INFO.items()}


def suggest_check_names(text: str, n: int = 3) -> list[str]:
    """Return up to ``n`` valid check names closest to ``text`` (matching API names and console titles)."""
    key = str(text).strip()
    by_name = difflib.get_close_matches(key.upper().replace(" ", "_"), CHECK_NAMES, n=n, cutoff=0.4)
    by_title = [_BY_TITLE[t] for t in difflib.get_close_matches(key.lower(), list(_BY_TITLE), n=n, cutoff=0.4)]
    words = [w for w in key.upper().replace("-", "_").replace(" ", "_").split("_") if len(w) > 2 and w != "CHECK"]
    by_words = sorted((n_ for n_ in CHECK_NAMES if words and all(w in n_ for w in words)), key=len)
    out: list[str] = []
    for name in [*by_words, *by_title, *by_name]:  # all the words present beats spelling similarity
        if name not in out:
            out.append(name)
    return out[:n]


def resolve_check_name(name: str) -> str:
    """Return the API name for ``name`` (an API name in any case, a console title, or an old spelling)."""
    if not isinstance(name, str) or not name.strip():
        raise WorkshopError(f"{name!r} is not an audit check name.",
                            "Use one of checks.CHECK_NAMES, e.g. 'LOGGING_DISABLED_CHECK'.")
    key = name.strip()
    upper = key.upper().replace(" ", "_").replace("-", "_")
    if upper in CHECKS:
        return upper
    if f"{upper}_CHECK" in CHECKS:
        return f"{upper}_CHECK"
    if key.lower() in _BY_TITLE:
        return _BY_TITLE[key.lower()]
    if upper in _ALIASES:
        return _ALIASES[upper]
    suggestions = suggest_check_names(key)
    hint = f"Did you mean {' or '.join(suggestions)}?" if suggestions else "See checks.list_checks() for all 17."
    raise WorkshopError(f"{name!r} is not an audit check Device Defender knows.",
                        f"{hint} Use the API name exactly as in checks.CHECK_NAMES.")


def resolve_check_names(names: Iterable[str] | str) -> list[str]:
    """Return the API names for ``names`` in order without duplicates; every unknown name is reported at once."""
    items = [names] if isinstance(names, str) else list(names)
    resolved: list[str] = []
    errors: list[WorkshopError] = []
    problems: list[str] = []
    for name in items:
        try:
            api = resolve_check_name(name)
        except WorkshopError as exc:
            errors.append(exc)
            suggestions = suggest_check_names(str(name))
            problems.append(f"{name!r}" + (f" (did you mean {' or '.join(suggestions)}?)" if suggestions else ""))
            continue
        if api not in resolved:
            resolved.append(api)
    if len(errors) == 1 and len(items) == 1:
        raise errors[0]
    if problems:
        raise WorkshopError(f"Unknown audit check name(s): {', '.join(problems)}.",
                            "Use the API names from checks.CHECK_NAMES (checks.list_checks() shows them all).")
    if not resolved:
        raise WorkshopError("No audit checks were given.", "Pass at least one check name, e.g. checks.ORIGINAL_14.")
    return resolved


def describe_check(name: str) -> CheckInfo:
    """Return everything about one check (accepts API names, console titles and old spellings)."""
    return _INFO[resolve_check_name(name)]


def title(name: str) -> str:
    """Return the console title of a check."""
    return describe_check(name).title


def severity(name: str) -> str:
    """Return the severity of a check's findings (CRITICAL, HIGH, MEDIUM or LOW)."""
    return describe_check(name).severity


def allowed_actions(name: str) -> tuple[str, ...]:
    """Return the mitigation action types AWS allows for a check's findings."""
    return describe_check(name).allowed_actions


def docs_url(name: str) -> str:
    """Return the Device Defender documentation page of a check."""
    return describe_check(name).docs_url


def checks_by_severity(names: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Return check names grouped by severity, CRITICAL first, each group sorted by title."""
    pool = CHECK_NAMES if names is None else resolve_check_names(list(names))
    groups: dict[str, list[str]] = {s: [] for s in SEVERITIES}
    for name in sorted(pool, key=lambda n: _INFO[n].title):
        groups[_INFO[name].severity].append(name)
    return groups


def list_checks(*, original_only: bool = False) -> pd.DataFrame:
    """Return the catalogue as a DataFrame, one row per check, most severe first."""
    rows = [{"check": i.name, "title": i.title, "severity": i.severity, "resource type": i.resource_type,
             "what it detects": i.description, "allowed actions": ", ".join(i.allowed_actions),
             "original 14": "✓" if i.original else "", "docs": i.docs_url}
            for i in _INFO.values() if i.original or not original_only]
    rows.sort(key=lambda r: (severity_rank(r["severity"]), r["title"]))
    frame = pd.DataFrame(rows)
    frame["severity"] = as_severity(frame["severity"])
    return frame.reset_index(drop=True)


def checks_table(*, original_only: bool = False) -> StyledTable:
    """Return :func:`list_checks` styled by severity (reads as plain text too)."""
    return style_table(list_checks(original_only=original_only), caption="Device Defender audit checks")
