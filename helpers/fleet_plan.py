"""Fleet planning and its ground truth: the layout of a seeded fleet (which device gets which problem), its PKI, its
connection history, and the findings an audit of it must report.

Nothing here calls AWS: the same seed, size and run id always give the same plan, so the expected findings follow
from the plan, never from the audit under test. :mod:`helpers.fleet_build` creates the plan on a target.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Iterable

from . import certs
from .errors import WorkshopError
from .fleet_base import PERMISSIVE_POLICY
from .spec.checks import CHECK_NAMES, CONFIG_DEFAULTS

MIN_FLEET = 40
OLD_MIN_DAYS = 400  # old certificates are at least this old: past DEVICE_CERTIFICATE_AGE_CHECK's default of 365
AGE_THRESHOLD_DAYS = CONFIG_DEFAULTS["CERT_AGE_THRESHOLD_IN_DAYS"][0]  # the ground truth assumes the default


@dataclass
class DevicePlan:
    """One device of a fleet: its thing, what it is for, its certificate (by key in the plan) and policy."""

    thing_name: str
    scenario: str
    cert: str
    policy: str
    client_id: str


@dataclass
class CertPlan:
    """One device certificate of a fleet plan."""

    key: str
    issuer: str  # "root" or "intermediate"
    status: str = "ACTIVE"
    days: float = 365
    weak: str = ""  # "", "debian" or "roca"
    revoked: bool = False
    registered_days_ago: float = 0  # > 0: imported from elsewhere, registered that long ago (sandbox only)


@dataclass
class FleetPlan:
    """The layout of a fleet (deterministic for a seed and size), before any certificate exists."""

    run_id: str
    seed: int
    devices: list[DevicePlan] = field(default_factory=list)
    certs: dict[str, CertPlan] = field(default_factory=dict)
    shared_groups: list[list[str]] = field(default_factory=list)  # thing names per shared certificate
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (victim thing, rogue thing)

    def scenario_counts(self) -> dict[str, int]:
        """Return how many devices each scenario has."""
        counts: dict[str, int] = {}
        for d in self.devices:
            counts[d.scenario] = counts.get(d.scenario, 0) + 1
        return counts


POLICY_DOCUMENTS: dict[str, Callable[[str], dict[str, Any]]] = {}


def _policy(kind: str) -> Callable[[Callable[[str], dict[str, Any]]], Callable[[str], dict[str, Any]]]:
    """Return a decorator registering a policy document builder under ``kind``."""
    def register(fn: Callable[[str], dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
        POLICY_DOCUMENTS[kind] = fn
        return fn
    return register


THING = "${iot:Connection.Thing.ThingName}"


@_policy("device")
def _device_policy(prefix: str) -> dict[str, Any]:
    """Least privilege: connect as your own attached thing, publish/subscribe only under fleet/<thing>/."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{prefix}client/{THING}",
         "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}},
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{prefix}topic/fleet/{THING}/telemetry"},
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{prefix}topicfilter/fleet/{THING}/commands"},
        {"Effect": "Allow", "Action": "iot:Receive", "Resource": f"{prefix}topic/fleet/{THING}/commands"}]}


@_policy("permissive-all")
def _permissive_all(prefix: str) -> dict[str, Any]:
    """Module 1's mistake: every IoT action on every resource."""
    return PERMISSIVE_POLICY


@_policy("permissive-shadows")
def _permissive_shadows(prefix: str) -> dict[str, Any]:
    """Any client id, and publishing to every thing's shadow."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{prefix}client/*"},
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{prefix}topic/$aws/things/*/shadow/update"}]}


@_policy("permissive-subscribe")
def _permissive_subscribe(prefix: str) -> dict[str, Any]:
    """Scoped connect, but subscribing to every thing's shadow updates with a + filter."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{prefix}client/{THING}",
         "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}},
        {"Effect": "Allow", "Action": "iot:Subscribe", "Resource": f"{prefix}topicfilter/$aws/things/+/shadow/update"}]}


@_policy("misconfigured")
def _misconfigured(prefix: str) -> dict[str, Any]:
    """Scoped, but a Deny with an MQTT wildcard (IoT policies read + literally, so it denies nothing)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": f"{prefix}client/{THING}",
         "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}},
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": f"{prefix}topic/fleet/{THING}/*"},
        {"Effect": "Deny", "Action": "iot:Publish", "Resource": f"{prefix}topic/fleet/+/admin"}]}


PERMISSIVE_KINDS = ("permissive-all", "permissive-shadows", "permissive-subscribe")


def policy_name(run_id: str, kind: str) -> str:
    """Return the name of a fleet policy of ``kind``."""
    return f"fleet-{run_id}-{kind}"


def plan_fleet(devices: int, seed: int, run_id: str) -> FleetPlan:
    """Return the layout of a fleet of ``devices`` devices: every scenario at least once, counts drawn from
    ``seed``; most devices are healthy."""
    if devices < MIN_FLEET:
        raise WorkshopError(f"A fleet needs at least {MIN_FLEET} devices to hold every scenario; got {devices}.",
                            f"Ask for {MIN_FLEET} or more devices.")
    rng = random.Random(seed)
    plan = FleetPlan(run_id, seed)
    names = iter(f"fleet-{run_id}-{i:05d}" for i in range(devices))

    def count(share: float) -> int:
        return max(1, round(devices * share * rng.uniform(0.5, 1.5)))

    def add(scenario: str, cert: CertPlan, policy: str = "device", client_id: str | None = None) -> DevicePlan:
        name = next(names)
        plan.certs.setdefault(cert.key, cert)
        device = DevicePlan(name, scenario, cert.key, policy, client_id or name)
        plan.devices.append(device)
        return device

    for g in range(count(0.01)):  # certificates shared by 2-3 devices (flagged)
        cert = CertPlan(f"shared-{g}", "root")
        plan.shared_groups.append([add("shared", cert).thing_name for _ in range(rng.randint(2, 3))])
    cert = CertPlan("shared-inactive", "root", status="INACTIVE")  # shared but INACTIVE: not audited
    plan.shared_groups.append([add("shared-inactive", cert).thing_name for _ in range(2)])
    for c in range(count(0.01)):  # a rogue device reusing a healthy device's client id (flagged client id)
        victim = add("conflict-victim", CertPlan(f"victim-{c}", "root"))
        rogue = add("conflict-rogue", CertPlan(f"rogue-{c}", "root"), policy="permissive-all",
                    client_id=victim.client_id)
        plan.conflicts.append((victim.thing_name, rogue.thing_name))
    for e in range(count(0.01)):
        add("expiring", CertPlan(f"expiring-{e}", "root", days=rng.randint(4, 25)))
    add("expiring-inactive", CertPlan("expiring-inactive", "root", days=10, status="INACTIVE"))
    for w in range(count(0.005)):
        add("weak-debian", CertPlan(f"debian-{w}", "root", weak="debian"))
    for w in range(count(0.005)):
        add("weak-roca", CertPlan(f"roca-{w}", "root", weak="roca"))
    for r in range(count(0.01)):
        add("revoked", CertPlan(f"revoked-{r}", "root", revoked=True))
    add("revoked-inactive", CertPlan("revoked-inactive", "root", revoked=True, status="INACTIVE"))
    for i in range(count(0.01)):
        add("intermediate-revoked", CertPlan(f"intermediate-{i}", "intermediate"))
    for p in range(count(0.02)):
        add("permissive-policy", CertPlan(f"permissive-{p}", "root"),
            policy=PERMISSIVE_KINDS[p % len(PERMISSIVE_KINDS)])
    add("misconfigured-policy", CertPlan("misconfigured-0", "root"), policy="misconfigured")
    for o in range(count(0.01)):  # imported from an older fleet, past the age check's default 365 days
        add("old-certificate", CertPlan(f"old-{o}", "root", registered_days_ago=rng.randint(OLD_MIN_DAYS, 900)))
    add("old-inactive", CertPlan("old-inactive", "root", status="INACTIVE", registered_days_ago=OLD_MIN_DAYS))
    remaining = devices - len(plan.devices)
    if remaining < 0:
        raise WorkshopError(f"Seed {seed} needs more than {devices} devices for its scenarios.",
                            "Ask for more devices or use another seed.")
    for h in range(remaining):
        add("healthy", CertPlan(f"healthy-{h}", "root"))
    return plan


@dataclass
class FleetPKI:
    """The CAs of a fleet and the certificates issued for its plan."""

    root: certs.Issued
    intermediate: certs.Issued  # revoked by the root's CRL
    expiring_ca: certs.Issued
    weak_ca: certs.Issued
    device_certs: dict[str, certs.Issued]

    def crl(self, plan: FleetPlan) -> str:
        """Return the root CA's CRL: the intermediate CA and every certificate the plan revokes."""
        revoked = [self.device_certs[c.key].serial for c in plan.certs.values() if c.revoked]
        serials = [self.intermediate.serial, *revoked]
        return certs.make_crl(self.root, serials)


def make_pki(plan: FleetPlan) -> FleetPKI:
    """Return the fleet's CAs and one EC P-256 certificate per planned certificate (weak keys where planned)."""
    root = certs.make_ca(f"fleet-{plan.run_id} Root CA")
    intermediate = certs.make_ca(f"fleet-{plan.run_id} Intermediate CA", root, days=1825)
    expiring = certs.make_ca(f"fleet-{plan.run_id} Expiring CA", days=12)
    weak = certs.make_ca(f"fleet-{plan.run_id} ROCA CA", key=certs.roca_private_key(plan.seed))
    issuers = {"root": root, "intermediate": intermediate}
    issued = {}
    for c in plan.certs.values():
        public_key = {"debian": certs.debian_weak_public_key(),
                      "roca": certs.roca_private_key(plan.seed).public_key()}.get(c.weak)
        if c.registered_days_ago:  # issued a day before it was registered, valid for two more years
            start = certs.utcnow() - timedelta(days=c.registered_days_ago + 1)
            issued[c.key] = certs.issue(c.key, issuers[c.issuer], public_key=public_key, not_before=start,
                                        days=c.registered_days_ago + 1 + 730)
        else:
            issued[c.key] = certs.issue(c.key, issuers[c.issuer], public_key=public_key, days=c.days)
    return FleetPKI(root, intermediate, expiring, weak, issued)


@dataclass
class Fleet:
    """A fleet that :func:`build_fleet` made, with the findings an audit of it must report."""

    run_id: str
    seed: int
    plan: FleetPlan
    certificate_ids: dict[str, str]  # planned certificate key -> IoT certificate id
    ca_certificate_ids: dict[str, str]
    policies: dict[str, str]  # kind -> policy name
    expected_findings: dict[str, list[dict[str, Any]]]
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def things(self) -> list[str]:
        """Return the thing names of the fleet."""
        return [d.thing_name for d in self.plan.devices]

    def summary(self) -> dict[str, int]:
        """Return the number of expected non-compliant resources per check."""
        return {check: len(found) for check, found in self.expected_findings.items()}


# -- role aliases and Cognito pools ---------------------------------------------------------------------------------
def alias_roles(run_id: str) -> dict[str, tuple[dict[str, Any], set[str]]]:
    """Return per role alias: (role policy, services it is recorded as using)."""
    def allow(action: str, resource: str = "*") -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    return {
        f"fleet-{run_id}-alias-ok": (allow("s3:GetObject", f"arn:aws:s3:::fleet-{run_id}/*"), {"s3"}),
        f"fleet-{run_id}-alias-broad": (allow("dynamodb:*"), {"dynamodb"}),
        f"fleet-{run_id}-alias-unused": (allow("s3:GetObject", f"arn:aws:s3:::fleet-{run_id}/*"), set()),
        f"fleet-{run_id}-alias-audit": (allow("iam:ListRoles"), {"iam"}),
    }


def cognito_roles(run_id: str) -> dict[str, dict[str, dict[str, Any] | None]]:
    """Return per identity pool: the authenticated and unauthenticated role policies (None = no role)."""
    scoped = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect",
         "Resource": "arn:aws:iot:*:*:client/${cognito-identity.amazonaws.com:sub}"}]}
    return {
        f"fleet_{run_id}_ok": {"authenticated": scoped, "unauthenticated": None},
        f"fleet_{run_id}_open": {"authenticated": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iot:CreateThing", "Resource": "*"}]},
            "unauthenticated": PERMISSIVE_POLICY},
    }


# -- connections ------------------------------------------------------------------------------------------------------
def fleet_sessions(fleet: Fleet, now: float) -> list[dict[str, Any]]:
    """Return the fleet's connection history (events in the ``/_sandbox/iot/connections`` format): a day ago, all of
    it more than 2 hours before ``now`` so that an audit run now sees it."""
    base = now - 24 * 3600
    by_thing = {d.thing_name: d for d in fleet.plan.devices}
    ids = fleet.certificate_ids
    events: list[dict[str, Any]] = []

    def session(d: DevicePlan, start: float, seconds: float, client_id: str | None = None) -> None:
        events.append({"clientId": client_id or d.client_id, "certificateId": ids[d.cert], "connectedAt": start,
                       "disconnectedAt": start + seconds, "sourceIp": f"198.51.100.{len(events) % 250 + 1}"})

    rogues = {rogue for _, rogue in fleet.plan.conflicts}
    spread = 8 * 3600 / max(len(fleet.plan.devices), 1)
    for i, d in enumerate(fleet.plan.devices):  # one ordinary session each, spread over 8 hours
        if d.thing_name not in rogues:
            session(d, base + i * spread, 30)
    for g, group in enumerate(fleet.plan.shared_groups):  # members connected at the same time, own client ids
        for j, thing in enumerate(group):
            session(by_thing[thing], base + 9 * 3600 + g * 60 + j * 0.5, 20)
    for c, (victim, rogue) in enumerate(fleet.plan.conflicts):  # the rogue knocks the victim off
        start = base + 12 * 3600 + c * 60
        session(by_thing[victim], start, 30)
        session(by_thing[rogue], start + 5, 10, client_id=by_thing[victim].client_id)
    return events


# -- the ground truth -------------------------------------------------------------------------------------------------
def expected_findings(fleet: Fleet, pki: FleetPKI, account: str, *, crl_published: bool, connections: bool,
                      logging_on: bool, aliases: dict[str, tuple[str, set[str]]], pools: dict[str, tuple[str, bool]],
                      registration_dated: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Return, for every audit check, the resource identifiers an audit of the fleet must flag (its ground truth).

    Derived from the plan, not from the audit: which certificates are shared, expiring, weak, revoked or old; which
    client ids conflict; which policies, role aliases and pools grant too much; whether logging is off. Old
    certificates count only when their registration dates were applied (``registration_dated``: the sandbox's bulk
    registration; AWS dates a certificate when it is registered) and at the age check's default threshold.
    """

    plan, ids = fleet.plan, fleet.certificate_ids
    active = {k for k, c in plan.certs.items() if c.status == "ACTIVE"}

    def device(keys: Iterable[str]) -> list[dict[str, Any]]:
        return [{"deviceCertificateId": ids[k]} for k in sorted(set(keys))]

    def ca(keys: Iterable[str]) -> list[dict[str, Any]]:
        return [{"caCertificateId": fleet.ca_certificate_ids[k]} for k in keys]

    def policy(kinds: Iterable[str]) -> list[dict[str, Any]]:
        return [{"policyVersionIdentifier": {"policyName": fleet.policies[k], "policyVersionId": "1"}} for k in kinds]

    by_thing = {d.thing_name: d for d in plan.devices}
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in CHECK_NAMES}
    if connections:
        out["DEVICE_CERTIFICATE_SHARED_CHECK"] = device(
            by_thing[g[0]].cert for g in plan.shared_groups if by_thing[g[0]].cert in active)
        out["CONFLICTING_CLIENT_IDS_CHECK"] = [{"clientId": by_thing[v].client_id} for v, _ in plan.conflicts]
    out["DEVICE_CERTIFICATE_EXPIRING_CHECK"] = device(k for k in active if plan.certs[k].days <= 30)
    out["DEVICE_CERTIFICATE_KEY_QUALITY_CHECK"] = device(k for k in active if plan.certs[k].weak)
    out["CA_CERTIFICATE_EXPIRING_CHECK"] = ca(["expiring"])
    out["CA_CERTIFICATE_KEY_QUALITY_CHECK"] = ca(["weak"])
    if crl_published:
        out["REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK"] = device(k for k in active if plan.certs[k].revoked)
        out["REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK"] = ca(["intermediate"])
        if any(plan.certs[k].issuer == "intermediate" for k in active):
            out["INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK"] = [issuer_identifier(pki.intermediate)]
    out["IOT_POLICY_OVERLY_PERMISSIVE_CHECK"] = policy(PERMISSIVE_KINDS)
    out["IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK"] = policy(["misconfigured"])
    roles = alias_roles(fleet.run_id)
    for alias, (arn, used) in aliases.items():
        granted = _granted_services(roles[alias][0])
        if granted - used:
            out["IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK"].append({"roleAliasArn": arn})
        broad_used = any(a.endswith(":*") and a.split(":")[0] in used for a in _actions(roles[alias][0]))
        if broad_used or granted & {"iam", "cloudtrail", "guardduty", "inspector", "trustedadvisor"}:
            out["IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK"].append({"roleAliasArn": arn})
    for name, (pool_id, active_pool) in pools.items():
        if active_pool and cognito_roles(fleet.run_id)[name]["unauthenticated"] is not None:
            out["UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"].append({"cognitoIdentityPoolId": pool_id})
        if active_pool and "CreateThing" in json.dumps(cognito_roles(fleet.run_id)[name]["authenticated"]):
            out["AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"].append({"cognitoIdentityPoolId": pool_id})
    if not logging_on:
        out["LOGGING_DISABLED_CHECK"] = [{"account": account}]
    if registration_dated:
        out["DEVICE_CERTIFICATE_AGE_CHECK"] = device(
            k for k in active if plan.certs[k].registered_days_ago >= AGE_THRESHOLD_DAYS)
    return out


def _actions(document: dict[str, Any]) -> list[str]:
    """Return the Allow actions of a policy document."""
    return [a for s in document["Statement"] if s["Effect"] == "Allow"
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]


def _granted_services(document: dict[str, Any]) -> set[str]:
    """Return the service prefixes a policy document allows."""
    return {a.split(":")[0] for a in _actions(document)}


def issuer_identifier(ca: certs.Issued) -> dict[str, Any]:
    """Return the ISSUER_CERTIFICATE resource identifier of a CA (subject, Subject Key Identifier, serial)."""
    from cryptography import x509

    ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    digits = format(ca.serial, "x")
    serial = digits.zfill(len(digits) + len(digits) % 2)[:20]  # whole octets, at most 20 characters (the shape)
    return {"issuerCertificateIdentifier": {"issuerCertificateSubject": ca.subject, "issuerId": ski.hex(),
                                            "issuerCertificateSerialNumber": serial}}


def finding_key(identifier: dict[str, Any]) -> str:
    """Return a comparable key for a resource identifier (an issuer certificate is keyed by its serial number)."""
    issuer = identifier.get("issuerCertificateIdentifier")
    if issuer is not None:
        return "issuer-serial:" + issuer.get("issuerCertificateSerialNumber", "").replace(":", "").lower().lstrip("0")
    return json.dumps(identifier, sort_keys=True)


