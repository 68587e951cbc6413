"""A read-only picture of one account and region, taken in one pass over moto's dictionaries.

Audit checks are pure functions of a :class:`Snapshot`. Building it never calls moto's per-item look-ups (they scan
lists, which makes bulk work quadratic), and X.509 parsing happens lazily, once per certificate per audit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any, Mapping

from cryptography import x509
from moto.cognitoidentity.models import cognitoidentity_backends
from moto.iam.models import iam_backends
from moto.iot.models import iot_backends


def aware(value: datetime) -> datetime:
    """Return ``value`` with UTC attached when it is naive (moto stores naive UTC datetimes)."""
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
    """One MQTT session (epoch seconds; ``disconnected_at`` None while still connected; ``recorded_at``: when Device
    Defender received it, which for imported or backdated history is later than the session)."""

    client_id: str
    certificate_id: str
    connected_at: float
    disconnected_at: float | None
    source_ip: str
    recorded_at: float = 0.0


@dataclass(frozen=True)
class DataCollection:
    """A check's data collection (epoch seconds): AWS starts collecting when a check is enabled and deletes what it
    collected when the check is disabled (botocore UpdateAccountAuditConfiguration)."""

    enabled_at: float | None = None  # when the check was last enabled (None: not known to the sandbox)
    data_from: float = 0.0  # sessions recorded before this were deleted when the check was last disabled


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
    # check name -> its data collection, for the checks that read collected data (connection history)
    data_collection: Mapping[str, DataCollection] = field(default_factory=dict)

    @staticmethod
    def on_demand_window(now: datetime) -> tuple[float, float]:
        """Return the connection look-back of an on-demand audit: 31 days back, ignoring the last 2 hours."""
        return (now - timedelta(days=31)).timestamp(), (now - timedelta(hours=2)).timestamp()


def iam_roles(account_id: str) -> dict[str, RoleInfo]:
    """Return the account's IAM roles by ARN, with all their permission policy documents."""
    iam = iam_backends[account_id]["global"]
    roles = {}
    for role in list(iam.roles.values()):
        docs = [str(d) for d in role.policies.values()]
        for policy in list(role.managed_policies.values()):
            docs.extend(v.document for v in policy.versions if v.is_default)
        roles[role.arn] = RoleInfo(role.arn, role.name, str(role.assume_role_policy_document or ""), tuple(docs))
    return roles


def ca_certificates(account_id: str, region: str) -> list[CACertificateInfo]:
    """Return the CA certificates registered in IoT in the account and region."""
    return [CACertificateInfo(c.certificate_id, c.arn, c.status, c.certificate_pem, aware(c.creation_date))
            for c in list(iot_backends[account_id][region].ca_certificates.values())]


@dataclass(frozen=True)
class DefenderState:
    """What Device Defender itself holds that the checks read, copied out of its backend under the state lock."""

    connections: tuple[Connection, ...] = ()
    crls: tuple[CrlInfo, ...] = ()
    logging: LoggingState = field(default_factory=LoggingState)
    pool_roles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # pool id -> kind -> role ARN
    pool_last_connected: Mapping[str, datetime] = field(default_factory=dict)
    role_alias_usage: Mapping[str, Mapping[str, datetime]] = field(default_factory=dict)  # alias ARN -> service -> when
    expiration_threshold_days: int = 30
    age_threshold_days: int = 365
    data_collection: Mapping[str, DataCollection] = field(default_factory=dict)


def take_snapshot(account: str, region: str, now: datetime, window: tuple[float, float],
                  state: DefenderState) -> Snapshot:
    """Return a snapshot of one account and region: moto's IoT, IAM and Cognito state plus Device Defender's."""
    iot = iot_backends[account][region]
    things_by_principal: dict[str, list[str]] = {}
    for principal_arn, thing_name in list(iot.principal_things):
        things_by_principal.setdefault(principal_arn, []).append(thing_name)
    certificates = [
        CertificateInfo(c.certificate_id, c.arn, c.status, c.certificate_pem, aware(c.creation_date),
                        c.ca_certificate_id, tuple(sorted(things_by_principal.get(c.arn, ()))))
        for c in list(iot.certificates.values())
    ]
    policies = []
    for p in list(iot.policies.values()):
        default = next((v for v in p.versions if v.is_default), None)
        policies.append(PolicyInfo(p.name, p.arn, str(p.default_version_id),
                                   default.document if default is not None else p.document))
    month_ago, year_ago = now - timedelta(days=31), now - timedelta(days=365)
    pools = []
    for pool_id in list(cognitoidentity_backends[account][region].identity_pools):
        roles = state.pool_roles.get(pool_id, {})
        last = state.pool_last_connected.get(pool_id)
        pools.append(CognitoPoolInfo(pool_id, roles.get("authenticated"), roles.get("unauthenticated"),
                                     last is not None and last >= month_ago))
    aliases = [
        RoleAliasInfo(a.role_alias, a.arn, a.role_arn,
                      frozenset(svc for svc, when in state.role_alias_usage.get(a.arn, {}).items() if when >= year_ago))
        for a in list(iot.role_aliases.values())
    ]
    return Snapshot(
        account_id=account, region=region, now=now, certificates=certificates,
        ca_certificates=ca_certificates(account, region), crls=list(state.crls), policies=policies,
        roles=iam_roles(account), cognito_pools=pools, role_aliases=aliases, connections=list(state.connections),
        logging=state.logging, window_start=window[0], window_end=window[1],
        expiration_threshold_days=state.expiration_threshold_days, age_threshold_days=state.age_threshold_days,
        data_collection=dict(state.data_collection),
    )
