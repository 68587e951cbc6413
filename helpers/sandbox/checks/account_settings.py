"""Checks on account-wide settings: IoT logging."""
from __future__ import annotations

from ..snapshot import Snapshot
from .base import CheckResult, Finding


def logging_enabled(v1: dict | None, v2: dict | None) -> bool:
    """Return True when v2 logging is on (not disableAllLogs, level not DISABLED) or v1 logging is on."""
    # UNCONFIRMED combination rule (reference §1.4): either version enabled makes the account compliant.
    v2_on = v2 is not None and not v2.get("disableAllLogs", False) and v2.get("defaultLogLevel", "DISABLED") != "DISABLED"
    v1_on = v1 is not None and v1.get("logLevel", "DISABLED") != "DISABLED"
    return v2_on or v1_on


def logging_disabled(snap: Snapshot) -> CheckResult:
    """Return one finding on the account when neither v1 nor v2 IoT logging is enabled."""
    if logging_enabled(snap.logging.v1, snap.logging.v2):
        return CheckResult(1)
    return CheckResult(1, [Finding("ACCOUNT_SETTINGS", {"account": snap.account_id}, "LOGGING_DISABLED",
                                   "AWS IoT logging is not enabled in CloudWatch (neither v1 nor v2 logging).")])
