"""A read-only picture of one account and region, taken in one pass over moto's dictionaries.

Audit checks are pure functions of a :class:`Snapshot`. Building it never calls moto's per-item look-ups (they scan
lists, which makes bulk work quadratic), and X.509 parsing happens lazily, once per certificate per audit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any

from cryptography import x509


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(eq=False)
class CertificateInfo:
    """A device certificate registered in IoT (status is the IoT status, not X.509's)."""

    certificate_id: str
    arn: str
    status: str
    pem: str
    creation_date: datetime
    ca_certificate_id: str | None = None
    things: tuple[str, ...] = ()

    @cached_property
    def x509(self) -> x509.Certificate | None:
        """Return the parsed certificate, or None when the PEM does not parse."""
        try:
            return x509.load_pem_x509_certificate(self.pem.encode())
        except ValueError:
            return None

    @property
    def not_after(self) -> datetime | None:
        """Return the X.509 notAfter (UTC), or None when the PEM does not parse."""
        return self.x509.not_valid_after_utc if self.x509 is not None else None

    @property
    def not_before(self) -> datetime | None:
        """Return the X.509 notBefore (UTC), or None when the PEM does not parse."""
        return self.x509.not_valid_before_utc if self.x509 is not None else None

    @property
    def audited(self) -> bool:
        """Return True when Device Defender audits this certificate (ACTIVE or PENDING_TRANSFER)."""
        return self.status in ("ACTIVE", "PENDING_TRANSFER")


@dataclass(eq=False)
class CACertificateInfo(CertificateInfo):
    """A CA certificate registered in IoT (status ACTIVE or INACTIVE)."""


@dataclass(frozen=True)
class CrlInfo:
    """A certificate revocation list published to the sandbox, already verified against its issuing CA."""

    issuer_ca_certificate_id: str
    revoked_serials: frozenset[int]
    this_update: datetime
    next_update: datetime | None = None


@dataclass(frozen=True)
class PolicyInfo:
    """An IoT policy and its default version (``document`` is the JSON text as stored)."""

    name: str
    arn: str
    default_version_id: str
    document: str


@dataclass(frozen=True)
class RoleInfo:
    """An IAM role: trust policy and every permission policy document (inline and attached managed), as JSON text."""

    arn: str
    name: str
    assume_role_policy: str
    policy_documents: tuple[str, ...]


@dataclass(frozen=True)
class CognitoPoolInfo:
    """A Cognito identity pool, its roles, and whether it connected to IoT in the audit's look-back window."""

    pool_id: str
    authenticated_role_arn: str | None
    unauthenticated_role_arn: str | None
    connected_recently: bool


@dataclass(frozen=True)
class RoleAliasInfo:
    """An IoT role alias, its role, and the services the alias used in the last year."""

    alias: str
    arn: str
    role_arn: str
    used_services: frozenset[str]


@dataclass(frozen=True)
class Connection:
    """One MQTT session (epoch seconds; ``disconnected_at`` None while still connected)."""

    client_id: str
    certificate_id: str
    connected_at: float
    disconnected_at: float | None
    source_ip: str


@dataclass(frozen=True)
class LoggingState:
    """The account's IoT logging options: v1 (``GetLoggingOptions``) and v2 (``GetV2LoggingOptions``), None if unset."""

    v1: dict[str, Any] | None = None
    v2: dict[str, Any] | None = None


@dataclass
class Snapshot:
    """Everything the audit checks read, for one account and region at one moment."""

    account_id: str
    region: str
    now: datetime
    certificates: list[CertificateInfo] = field(default_factory=list)
    ca_certificates: list[CACertificateInfo] = field(default_factory=list)
    crls: list[CrlInfo] = field(default_factory=list)
    policies: list[PolicyInfo] = field(default_factory=list)
    roles: dict[str, RoleInfo] = field(default_factory=dict)
    cognito_pools: list[CognitoPoolInfo] = field(default_factory=list)
    role_aliases: list[RoleAliasInfo] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    logging: LoggingState = field(default_factory=LoggingState)
    # the look-back window of the connection checks (epoch seconds)
    window_start: float = 0.0
    window_end: float = 0.0
    # per-check thresholds in days, from the audit configuration
    expiration_threshold_days: int = 30
    age_threshold_days: int = 365

    @staticmethod
    def on_demand_window(now: datetime) -> tuple[float, float]:
        """Return the connection look-back of an on-demand audit: 31 days back, ignoring the last 2 hours."""
        return (now - timedelta(days=31)).timestamp(), (now - timedelta(hours=2)).timestamp()


def _iam_roles(account_id: str) -> dict[str, RoleInfo]:
    """Return the account's IAM roles by ARN, with all their permission policy documents."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["global"]
    roles = {}
    for role in list(iam.roles.values()):
        docs = [str(d) for d in role.policies.values()]
        for policy in list(role.managed_policies.values()):
            docs.extend(v.document for v in policy.versions if v.is_default)
        roles[role.arn] = RoleInfo(role.arn, role.name, str(role.assume_role_policy_document or ""), tuple(docs))
    return roles


def take_snapshot(backend: Any, now: datetime, window: tuple[float, float]) -> Snapshot:
    """Return a snapshot of ``backend``'s account and region (IoT, IAM, Cognito and Device Defender state)."""
    from moto.cognitoidentity.models import cognitoidentity_backends
    from moto.iot.models import iot_backends

    account, region = backend.account_id, backend.region_name
    iot = iot_backends[account][region]
    things_by_principal: dict[str, list[str]] = {}
    for principal_arn, thing_name in list(iot.principal_things):
        things_by_principal.setdefault(principal_arn, []).append(thing_name)
    certificates = [
        CertificateInfo(c.certificate_id, c.arn, c.status, c.certificate_pem, _aware(c.creation_date),
                        c.ca_certificate_id, tuple(sorted(things_by_principal.get(c.arn, ()))))
        for c in list(iot.certificates.values())
    ]
    ca_certificates = [
        CACertificateInfo(c.certificate_id, c.arn, c.status, c.certificate_pem, _aware(c.creation_date))
        for c in list(iot.ca_certificates.values())
    ]
    policies = []
    for p in list(iot.policies.values()):
        default = next((v for v in p.versions if v.is_default), None)
        policies.append(PolicyInfo(p.name, p.arn, str(p.default_version_id),
                                   default.document if default is not None else p.document))
    pools = []
    pool_roles = backend.identity_pool_roles()
    for pool_id in list(cognitoidentity_backends[account][region].identity_pools):
        roles = pool_roles.get(pool_id, {})
        pools.append(CognitoPoolInfo(pool_id, roles.get("authenticated"), roles.get("unauthenticated"),
                                     backend.pool_connected_since(pool_id, now - timedelta(days=31))))
    aliases = [
        RoleAliasInfo(a.role_alias, a.arn, a.role_arn, frozenset(backend.role_alias_services(a.arn, now)))
        for a in list(iot.role_aliases.values())
    ]
    connections = [Connection(e.client_id, e.certificate_id, e.connected_at, e.disconnected_at, e.source_ip)
                   for e in list(backend.connections)]
    return Snapshot(
        account_id=account, region=region, now=now, certificates=certificates, ca_certificates=ca_certificates,
        crls=list(backend.crls), policies=policies, roles=_iam_roles(account), cognito_pools=pools,
        role_aliases=aliases, connections=connections,
        logging=LoggingState(v1=backend.logging_v1, v2=backend.logging_v2),
        window_start=window[0], window_end=window[1],
        expiration_threshold_days=backend.config_value("DEVICE_CERTIFICATE_EXPIRING_CHECK",
                                                       "CERT_EXPIRATION_THRESHOLD_IN_DAYS"),
        age_threshold_days=backend.config_value("DEVICE_CERTIFICATE_AGE_CHECK", "CERT_AGE_THRESHOLD_IN_DAYS"),
    )
