"""The audit checks: each a pure function from a :class:`~helpers.sandbox.snapshot.Snapshot` to a CheckResult."""
from __future__ import annotations

import importlib

from .base import CheckFunction, CheckResult, Finding

__all__ = ["CHECK_FUNCTIONS", "CheckFunction", "CheckResult", "Finding", "get_check"]

# check name -> "module:function" in this package (imported on first use)
CHECK_FUNCTIONS: dict[str, str] = {
    "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK": "identities:authenticated_cognito_role_overly_permissive",
    "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK": "identities:unauthenticated_cognito_role_overly_permissive",
    "IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK": "identities:iot_role_alias_overly_permissive",
    "IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK": "identities:iot_role_alias_allows_access_to_unused_services",
    "IOT_POLICY_OVERLY_PERMISSIVE_CHECK": "policies:iot_policy_overly_permissive",
    "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK": "policies:iot_policy_potential_misconfiguration",
    "CA_CERTIFICATE_EXPIRING_CHECK": "certificates:ca_certificate_expiring",
    "CA_CERTIFICATE_KEY_QUALITY_CHECK": "certificates:ca_certificate_key_quality",
    "DEVICE_CERTIFICATE_AGE_CHECK": "certificates:device_certificate_age",
    "DEVICE_CERTIFICATE_EXPIRING_CHECK": "certificates:device_certificate_expiring",
    "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK": "certificates:device_certificate_key_quality",
    "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK": "certificates:revoked_ca_certificate_still_active",
    "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK": "certificates:revoked_device_certificate_still_active",
    "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK":
        "certificates:intermediate_ca_revoked_for_active_device_certificates",
    "DEVICE_CERTIFICATE_SHARED_CHECK": "connections:device_certificate_shared",
    "CONFLICTING_CLIENT_IDS_CHECK": "connections:conflicting_client_ids",
    "LOGGING_DISABLED_CHECK": "account_settings:logging_disabled",
}


def get_check(name: str) -> CheckFunction:
    """Return the function that evaluates check ``name``."""
    module, function = CHECK_FUNCTIONS[name].split(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), function)
