"""The 17 Device Defender audit checks as AWS defines them, in one dataclass each: severity, audited resource and
its identifier, reason codes, the mitigation action types AWS allows, the permissions the audit role needs, the
console title, what the check detects and its documentation page.

Pure data (no moto, no boto3): the local Device Defender evaluates it and the helpers show it.
Sources: ../shared/reference/device-defender-audit.md §1.3 and §2.2; the AWSIoTDeviceDefenderAudit managed policy;
the check pages under DOCS_BASE.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .actions import ACTION_TYPE_NAMES as ACTION_TYPES

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
DOCS_BASE = "https://docs.aws.amazon.com/iot-device-defender/latest/devguide"

_DEVICE_CERT_ACTIONS = ("PUBLISH_FINDING_TO_SNS", "UPDATE_DEVICE_CERTIFICATE", "ADD_THINGS_TO_THING_GROUP")
_CA_CERT_ACTIONS = ("PUBLISH_FINDING_TO_SNS", "UPDATE_CA_CERTIFICATE")
_POLICY_ACTIONS = ("PUBLISH_FINDING_TO_SNS", "REPLACE_DEFAULT_POLICY_VERSION")
_SNS_ONLY = ("PUBLISH_FINDING_TO_SNS",)


@dataclass(frozen=True)
class CheckInfo:
    """Everything about one audit check, for the service that runs it and the people who read it."""

    name: str
    title: str
    severity: str
    resource_type: str
    identifier: str
    description: str
    docs_url: str
    allowed_actions: tuple[str, ...]
    reason_codes: tuple[str, ...]
    original: bool  # among the 14 checks of the original workshop's Module 1
    config_keys: tuple[str, ...] = field(default=())
    required_role_actions: tuple[str, ...] = field(default=())  # what the audit role must allow to run it

    def __str__(self) -> str:
        return (f"{self.title} ({self.name}) — {self.severity}, audits {self.resource_type}\n  {self.description}\n"
                f"  mitigation actions: {', '.join(self.allowed_actions)}\n  docs: {self.docs_url}")


# name -> (console title, documentation page, what it detects and why it matters)
_TEXT: dict[str, tuple[str, str, str]] = {
    "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK": (
        "Authenticated Cognito role overly permissive", "audit-chk-auth-cognito-role-permissive",
        "The IAM role of a Cognito identity pool's signed-in users grants IoT admin or thing-management actions, "
        "or MQTT, shadow or job access to every device, so any signed-in app user could reconfigure, delete or "
        "impersonate devices."),
    "CA_CERTIFICATE_EXPIRING_CHECK": (
        "CA certificate expiring", "audit-chk-ca-cert-approaching-expiration",
        "A registered CA certificate expires within 30 days or has expired; once it does, new device certificates "
        "it signs can no longer be registered."),
    "CA_CERTIFICATE_KEY_QUALITY_CHECK": (
        "CA certificate key quality", "audit-chk-ca-cert-key-quality",
        "A CA certificate's key is known to be weak (ROCA CVE-2017-15361 or Debian OpenSSL CVE-2008-0166), so an "
        "attacker could derive it and sign certificates for devices of their own."),
    "CONFLICTING_CLIENT_IDS_CHECK": (
        "Conflicting MQTT client IDs", "audit-chk-conflicting-client-ids",
        "Several connections used the same MQTT client ID and knocked each other off, a sign of a cloned or "
        "misconfigured device that also makes message loss likely."),
    "DEVICE_CERTIFICATE_AGE_CHECK": (
        "Device certificate age check", "device-certificate-age-check",
        "A device certificate has been active longer than the age threshold (365 days by default); long-lived "
        "credentials are more likely to have leaked and should be rotated."),
    "DEVICE_CERTIFICATE_EXPIRING_CHECK": (
        "Device certificate expiring", "audit-chk-device-cert-approaching-expiration",
        "A device certificate expires within the threshold (30 days by default) or has expired; the device will be "
        "unable to connect when it does."),
    "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK": (
        "Device certificate key quality", "audit-chk-device-cert-key-quality",
        "A device certificate's key is known to be weak (ROCA or Debian OpenSSL), so an attacker could recover the "
        "private key and impersonate the device."),
    "DEVICE_CERTIFICATE_SHARED_CHECK": (
        "Device certificate shared", "audit-chk-device-cert-shared",
        "One certificate was used by several devices at the same time; you can no longer tell devices apart, and "
        "revoking the certificate takes all of them offline."),
    "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK": (
        "Intermediate CA revoked for active device certificates check",
        "audit-chk-active-intermediary-device-revoked-CA",
        "Device certificates are still active although an intermediate CA in their chain has been revoked, so "
        "devices keep connecting with credentials their issuer no longer vouches for."),
    "IOT_POLICY_OVERLY_PERMISSIVE_CHECK": (
        "AWS IoT policies overly permissive", "audit-chk-iot-policy-permissive",
        "An IoT policy grants broad MQTT or shadow access (for example iot:* on *), so one compromised device can "
        "connect as, publish to and read from every other device."),
    "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK": (
        "AWS IoT policy potentially misconfigured", "audit-chk-iot-misconfigured-policies",
        "An IoT policy uses MQTT wildcards in a way that does not do what it seems (a Deny on '+' or '#' does not "
        "cover sub-topics), leaving topics open that were meant to be closed."),
    "IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK": (
        "Role alias allows access to unused services", "audit-chk-role-alias-unused-svcs",
        "The IAM role behind a role alias grants access to AWS services its devices have not used in a year; "
        "unneeded permissions widen what a stolen device credential can reach."),
    "IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK": (
        "Role alias overly permissive", "audit-chk-iot-role-alias-permissive",
        "The IAM role behind a role alias grants admin-wide or security-auditing permissions, so a device's "
        "temporary AWS credentials could be used to take over resources or hide tracks."),
    "LOGGING_DISABLED_CHECK": (
        "Logging disabled", "audit-chk-logging-disabled",
        "AWS IoT logs are not sent to CloudWatch (neither v1 nor v2 logging is on), so connection failures and "
        "attacks leave no trace to investigate."),
    "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK": (
        "Revoked CA certificate still active", "audit-chk-revoked-ca-cert",
        "A CA certificate its issuer has revoked is still ACTIVE in AWS IoT, so certificates it signed can still be "
        "registered and used."),
    "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK": (
        "Revoked device certificate still active", "audit-chk-revoked-device-cert",
        "A device certificate its CA has revoked is still ACTIVE in AWS IoT, so whoever holds its key can still "
        "connect."),
    "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK": (
        "Unauthenticated Cognito role overly permissive", "audit-chk-unauth-cognito-role-permissive",
        "The IAM role for anonymous (unauthenticated) Cognito identities grants IoT admin actions or broad MQTT "
        "access, so anyone on the internet could control or read your devices."),
}

_IAM_READ = ("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
             "iam:GetPolicy", "iam:GetPolicyVersion")
_DEVICE_CERTS = ("iot:ListCertificates", "iot:DescribeCertificate")
_CA_CERTS = ("iot:ListCACertificates", "iot:DescribeCACertificate")
# What the audit role must allow for each check (from the AWSIoTDeviceDefenderAudit managed policy).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK": ("cognito-identity:GetIdentityPoolRoles", *_IAM_READ),
    "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK": ("cognito-identity:GetIdentityPoolRoles", *_IAM_READ),
    "IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK": ("iot:ListRoleAliases", "iot:DescribeRoleAlias", *_IAM_READ,
                                               "iam:GenerateServiceLastAccessedDetails",
                                               "iam:GetServiceLastAccessedDetails"),
    "IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK": ("iot:ListRoleAliases", "iot:DescribeRoleAlias",
                                                              *_IAM_READ, "iam:GenerateServiceLastAccessedDetails",
                                                              "iam:GetServiceLastAccessedDetails"),
    "IOT_POLICY_OVERLY_PERMISSIVE_CHECK": ("iot:ListPolicies", "iot:GetPolicy"),
    "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK": ("iot:ListPolicies", "iot:GetPolicy"),
    "CA_CERTIFICATE_EXPIRING_CHECK": _CA_CERTS,
    "CA_CERTIFICATE_KEY_QUALITY_CHECK": _CA_CERTS,
    "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK": _CA_CERTS,
    "DEVICE_CERTIFICATE_AGE_CHECK": _DEVICE_CERTS,
    "DEVICE_CERTIFICATE_EXPIRING_CHECK": _DEVICE_CERTS,
    "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK": _DEVICE_CERTS,
    "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK": _DEVICE_CERTS + _CA_CERTS,
    "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK": _DEVICE_CERTS + _CA_CERTS,
    "DEVICE_CERTIFICATE_SHARED_CHECK": _DEVICE_CERTS,
    "CONFLICTING_CLIENT_IDS_CHECK": _DEVICE_CERTS,
    "LOGGING_DISABLED_CHECK": ("iot:GetLoggingOptions", "iot:GetV2LoggingOptions"),
}


def _check(name: str, severity: str, resource_type: str, identifier: str, reason_codes: tuple[str, ...],
           allowed_actions: tuple[str, ...], original: bool, config_keys: tuple[str, ...] = ()) -> CheckInfo:
    """Return the CheckInfo of check ``name`` from its facts, its text and its audit-role permissions."""
    title, page, description = _TEXT[name]
    return CheckInfo(name=name, title=title, severity=severity, resource_type=resource_type, identifier=identifier,
                     description=description, docs_url=f"{DOCS_BASE}/{page}.html", allowed_actions=allowed_actions,
                     reason_codes=reason_codes, original=original, config_keys=config_keys,
                     required_role_actions=_REQUIRED[name])


CHECKS: dict[str, CheckInfo] = {
    c.name: c
    for c in (
        _check("AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK", "CRITICAL", "COGNITO_IDENTITY_POOL",
                  "cognitoIdentityPoolId",
                  # the page lists the first three; the fourth is its sibling checks' code for the broad data-plane
                  # access the page also calls overly permissive (UNCONFIRMED for this check)
                  ("ALLOWS_BROAD_ACCESS_TO_IOT_THING_ADMIN_READ_ACTIONS", "ALLOWS_ACCESS_TO_IOT_NON_THING_ADMIN_ACTIONS",
                   "ALLOWS_ACCESS_TO_IOT_THING_ADMIN_WRITE_ACTIONS", "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"),
                  _SNS_ONLY, True),
        _check("CA_CERTIFICATE_EXPIRING_CHECK", "MEDIUM", "CA_CERTIFICATE", "caCertificateId",
                  ("CERTIFICATE_APPROACHING_EXPIRATION", "CERTIFICATE_PAST_EXPIRATION"), _CA_CERT_ACTIONS, True),
        _check("CA_CERTIFICATE_KEY_QUALITY_CHECK", "CRITICAL", "CA_CERTIFICATE", "caCertificateId",
                  ("CERTIFICATE_KEY_VULNERABILITY_CVE-2017-15361", "CERTIFICATE_KEY_VULNERABILITY_CVE-2008-0166"),
                  _CA_CERT_ACTIONS, True),
        _check("CONFLICTING_CLIENT_IDS_CHECK", "HIGH", "CLIENT_ID", "clientId",
                  ("DUPLICATE_CLIENT_ID_ACROSS_CONNECTIONS",), _SNS_ONLY, True),
        # Not in the documented mapping table (UNCONFIRMED): treated like the other device-certificate checks.
        _check("DEVICE_CERTIFICATE_AGE_CHECK", "LOW", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_PAST_AGE_THRESHOLD",), _DEVICE_CERT_ACTIONS, False,
                  ("CERT_AGE_THRESHOLD_IN_DAYS",)),
        _check("DEVICE_CERTIFICATE_EXPIRING_CHECK", "MEDIUM", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_APPROACHING_EXPIRATION", "CERTIFICATE_PAST_EXPIRATION"), _DEVICE_CERT_ACTIONS, True,
                  ("CERT_EXPIRATION_THRESHOLD_IN_DAYS",)),
        _check("DEVICE_CERTIFICATE_KEY_QUALITY_CHECK", "CRITICAL", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_KEY_VULNERABILITY_CVE-2017-15361", "CERTIFICATE_KEY_VULNERABILITY_CVE-2008-0166"),
                  _DEVICE_CERT_ACTIONS, True),
        _check("DEVICE_CERTIFICATE_SHARED_CHECK", "CRITICAL", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES",), _DEVICE_CERT_ACTIONS, True),
        _check("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK", "CRITICAL", "ISSUER_CERTIFICATE",
                  "issuerCertificateIdentifier", ("INTERMEDIATE_CA_REVOKED_BY_ISSUER",), _DEVICE_CERT_ACTIONS, False),
        _check("IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "CRITICAL", "IOT_POLICY", "policyVersionIdentifier",
                  ("ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS",), _POLICY_ACTIONS, True),
        _check("IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK", "MEDIUM", "IOT_POLICY", "policyVersionIdentifier",
                  ("POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT",
                   "TOPIC_FILTERS_INTENDED_TO_DENY_ALLOWED_USING_WILDCARDS"), _POLICY_ACTIONS, False),
        _check("IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK", "MEDIUM", "ROLE_ALIAS", "roleAliasArn",
                  ("ALLOWS_ACCESS_TO_UNUSED_SERVICES",), _SNS_ONLY, True),
        _check("IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK", "CRITICAL", "ROLE_ALIAS", "roleAliasArn",
                  ("ALLOWS_BROAD_ACCESS_TO_USED_SERVICES", "ALLOWS_ACCESS_TO_SECURITY_AUDITING_SERVICES",
                   "ALLOWS_BROAD_ACCESS_TO_IOT_THING_ADMIN_READ_ACTIONS", "ALLOWS_ACCESS_TO_IOT_NON_THING_ADMIN_ACTIONS",
                   "ALLOWS_ACCESS_TO_IOT_THING_ADMIN_WRITE_ACTIONS", "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"),
                  _SNS_ONLY, True),
        _check("LOGGING_DISABLED_CHECK", "LOW", "ACCOUNT_SETTINGS", "account", ("LOGGING_DISABLED",),
                  ("PUBLISH_FINDING_TO_SNS", "ENABLE_IOT_LOGGING"), True),
        _check("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK", "CRITICAL", "CA_CERTIFICATE", "caCertificateId",
                  ("CERTIFICATE_REVOKED_BY_ISSUER",), _CA_CERT_ACTIONS, True),
        _check("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", "MEDIUM", "DEVICE_CERTIFICATE", "deviceCertificateId",
                  ("CERTIFICATE_REVOKED_BY_ISSUER",), _DEVICE_CERT_ACTIONS, True),
        _check("UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK", "CRITICAL", "COGNITO_IDENTITY_POOL",
                  "cognitoIdentityPoolId",
                  ("ALLOWS_ACCESS_TO_IOT_ADMIN_ACTIONS", "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"), _SNS_ONLY, True),
    )
}
assert set(ACTION_TYPES) >= {a for c in CHECKS.values() for a in c.allowed_actions}

CHECK_NAMES: tuple[str, ...] = tuple(sorted(CHECKS))
ORIGINAL_14: tuple[str, ...] = tuple(n for n in CHECK_NAMES if CHECKS[n].original)

# Per-check configuration: key -> (default, minimum, maximum) in days.
CONFIG_DEFAULTS: dict[str, tuple[int, int, int]] = {
    "CERT_EXPIRATION_THRESHOLD_IN_DAYS": (30, 30, 3652),
    "CERT_AGE_THRESHOLD_IN_DAYS": (365, 30, 3652),
}
