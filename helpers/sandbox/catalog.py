"""The Device Defender audit checks as the service defines them: names, severities, resources, reason codes.

Pure data (no moto import) so both the sandbox and the user-facing catalogue in ``helpers.checks`` read it.
Source: ../shared/reference/device-defender-audit.md §1.3 and §2.2.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")

ACTION_TYPES = (
    "UPDATE_DEVICE_CERTIFICATE",
    "UPDATE_CA_CERTIFICATE",
    "ADD_THINGS_TO_THING_GROUP",
    "REPLACE_DEFAULT_POLICY_VERSION",
    "ENABLE_IOT_LOGGING",
    "PUBLISH_FINDING_TO_SNS",
)

_DEVICE_CERT_ACTIONS = ("PUBLISH_FINDING_TO_SNS", "UPDATE_DEVICE_CERTIFICATE", "ADD_THINGS_TO_THING_GROUP")
_CA_CERT_ACTIONS = ("PUBLISH_FINDING_TO_SNS", "UPDATE_CA_CERTIFICATE")
_POLICY_ACTIONS = ("PUBLISH_FINDING_TO_SNS", "REPLACE_DEFAULT_POLICY_VERSION")
_SNS_ONLY = ("PUBLISH_FINDING_TO_SNS",)


@dataclass(frozen=True)
class CheckSpec:
    """One audit check: what it audits and how its findings look."""

    name: str
    severity: str
    resource_type: str
    identifier: str
    reason_codes: tuple[str, ...]
    allowed_actions: tuple[str, ...]
    original: bool  # among the 14 checks of the original workshop's Module 1
    config_keys: tuple[str, ...] = field(default=())


CHECKS: dict[str, CheckSpec] = {
    c.name: c
    for c in (
        CheckSpec("AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK", "CRITICAL", "COGNITO_IDENTITY_POOL",
                  "cognitoIdentityPoolId",
                  ("ALLOWS_BROAD_ACCESS_TO_IOT_THING_ADMIN_READ_ACTIONS", "ALLOWS_ACCESS_TO_IOT_NON_THING_ADMIN_ACTIONS",
                   "ALLOWS_ACCESS_TO_IOT_THING_ADMIN_WRITE_ACTIONS"), _SNS_ONLY, True),
        CheckSpec("CA_CERTIFICATE_EXPIRING_CHECK", "MEDIUM", "CA_CERTIFICATE", "caCertificateId",
                  ("CERTIFICATE_APPROACHING_EXPIRATION", "CERTIFICATE_PAST_EXPIRATION"), _CA_CERT_ACTIONS, True),
        CheckSpec("CA_CERTIFICATE_KEY_QUALITY_CHECK", "CRITICAL", "CA_CERTIFICATE", "caCertificateId",
                  ("CERTIFICATE_KEY_VULNERABILITY_CVE-2017-15361", "CERTIFICATE_KEY_VULNERABILITY_CVE-2008-0166"),
                  _CA_CERT_ACTIONS, True),
        CheckSpec("CONFLICTING_CLIENT_IDS_CHECK", "HIGH", "CLIENT_ID", "clientId",
                  ("DUPLICATE_CLIENT_ID_ACROSS_CONNECTIONS",), _SNS_ONLY, True),
        # Not in the documented mapping table (UNCONFIRMED): treated like the other device-certificate checks.
        CheckSpec("DEVICE_CERTIFICATE_AGE_CHECK", "LOW", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_PAST_AGE_THRESHOLD",), _DEVICE_CERT_ACTIONS, False,
                  ("CERT_AGE_THRESHOLD_IN_DAYS",)),
        CheckSpec("DEVICE_CERTIFICATE_EXPIRING_CHECK", "MEDIUM", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_APPROACHING_EXPIRATION", "CERTIFICATE_PAST_EXPIRATION"), _DEVICE_CERT_ACTIONS, True,
                  ("CERT_EXPIRATION_THRESHOLD_IN_DAYS",)),
        CheckSpec("DEVICE_CERTIFICATE_KEY_QUALITY_CHECK", "CRITICAL", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_KEY_VULNERABILITY_CVE-2017-15361", "CERTIFICATE_KEY_VULNERABILITY_CVE-2008-0166"),
                  _DEVICE_CERT_ACTIONS, True),
        CheckSpec("DEVICE_CERTIFICATE_SHARED_CHECK", "CRITICAL", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES",), _DEVICE_CERT_ACTIONS, True),
        CheckSpec("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK", "CRITICAL", "ISSUER_CERTIFICATE",
                  "issuerCertificateIdentifier", ("INTERMEDIATE_CA_REVOKED_BY_ISSUER",), _DEVICE_CERT_ACTIONS, False),
        CheckSpec("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "CRITICAL", "IOT_POLICY", "policyVersionIdentifier",
                  ("ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS",), _POLICY_ACTIONS, True),
        CheckSpec("IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK", "MEDIUM", "IOT_POLICY", "policyVersionIdentifier",
                  ("POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT",
                   "TOPIC_FILTERS_INTENDED_TO_DENY_ALLOWED_USING_WILDCARDS"), _POLICY_ACTIONS, False),
        CheckSpec("IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK", "MEDIUM", "ROLE_ALIAS", "roleAliasArn",
                  ("ALLOWS_ACCESS_TO_UNUSED_SERVICES",), _SNS_ONLY, True),
        CheckSpec("IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK", "CRITICAL", "ROLE_ALIAS", "roleAliasArn",
                  ("ALLOWS_BROAD_ACCESS_TO_USED_SERVICES", "ALLOWS_ACCESS_TO_SECURITY_AUDITING_SERVICES",
                   "ALLOWS_BROAD_ACCESS_TO_IOT_THING_ADMIN_READ_ACTIONS", "ALLOWS_ACCESS_TO_IOT_NON_THING_ADMIN_ACTIONS",
                   "ALLOWS_ACCESS_TO_IOT_THING_ADMIN_WRITE_ACTIONS", "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"),
                  _SNS_ONLY, True),
        CheckSpec("LOGGING_DISABLED_CHECK", "LOW", "ACCOUNT_SETTINGS", "account", ("LOGGING_DISABLED",),
                  ("PUBLISH_FINDING_TO_SNS", "ENABLE_IOT_LOGGING"), True),
        CheckSpec("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK", "CRITICAL", "CA_CERTIFICATE", "caCertificateId",
                  ("CERTIFICATE_REVOKED_BY_ISSUER",), _CA_CERT_ACTIONS, True),
        CheckSpec("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", "MEDIUM", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_REVOKED_BY_ISSUER",), _DEVICE_CERT_ACTIONS, True),
        CheckSpec("UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK", "CRITICAL", "COGNITO_IDENTITY_POOL",
                  "cognitoIdentityPoolId",
                  ("ALLOWS_ACCESS_TO_IOT_ADMIN_ACTIONS", "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"), _SNS_ONLY, True),
    )
}

CHECK_NAMES: tuple[str, ...] = tuple(sorted(CHECKS))
ORIGINAL_14: tuple[str, ...] = tuple(n for n in CHECK_NAMES if CHECKS[n].original)

# Per-check configuration: key -> (default, minimum, maximum) in days.
CONFIG_DEFAULTS: dict[str, tuple[int, int, int]] = {
    "CERT_EXPIRATION_THRESHOLD_IN_DAYS": (30, 30, 3652),
    "CERT_AGE_THRESHOLD_IN_DAYS": (365, 30, 3652),
}
