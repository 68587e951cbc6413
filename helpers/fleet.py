"""The Module 1 environment and larger fleets: build them, verify them, connect their devices, clean them up.

* :func:`build_workshop_environment` rebuilds what Module 1's CloudFormation stack made: things SensorDevice01/02
  sharing one certificate, the ``iot:*`` device policy, the audit role with the 14 original checks enabled, the SNS
  topic and its role, logging left off. An audit then finds exactly three non-compliant checks.
* :func:`build_fleet` seeds a fleet of any size with a known mix of problems for every audit check, and returns the
  findings an audit must report (the ground truth).
* :func:`cleanup` previews, then deletes, everything the workshop created (tagged ``workshop=iot-audit-module2``,
  things found through the local state file and their ``workshop`` attribute).

The same boto3 calls serve both targets. Sandbox-only fast paths (bulk registration, recorded connection history,
CRLs, role-alias and Cognito usage) stand in for data sources AWS has and moto lacks. In aws mode nothing changes
without ``confirm=True``, and the error raised without it lists what would change.
"""
from __future__ import annotations

import json
import random
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from botocore.exceptions import ClientError

from . import certs, state
from .errors import WorkshopError
from .target import client, get_region, is_sandbox, mask_account, sandbox_control

TAG_KEY = "workshop"
TAG_VALUE = "iot-audit-module2"
RUN_TAG = "workshop-run"
ROLE_PATH = "/iot-audit-workshop/"
MODULE1_THINGS = ("SensorDevice01", "SensorDevice02")
MODULE1_TOPICS = {"SensorDevice01": "temperature-device-01", "SensorDevice02": "temperature-device-02"}
MODULE1_NON_COMPLIANT = ("DEVICE_CERTIFICATE_SHARED_CHECK", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK",
                         "LOGGING_DISABLED_CHECK")
MANAGED = "arn:aws:iam::aws:policy/service-role/"
AUDIT_POLICY_ARN = MANAGED + "AWSIoTDeviceDefenderAudit"
SNS_POLICY_ARN = MANAGED + "AWSIoTDeviceDefenderPublishFindingsToSNSMitigationAction"
PERMISSIVE_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
CONNECTION_LOOKBACK_GAP_HOURS = 2  # the connection checks ignore the last 2 hours before an audit
BULK_CHUNK = 5000
MIN_FLEET = 40
MAX_AWS_FLEET = 500


# -- small shared pieces -------------------------------------------------------------------------------------------
def iot_tags(run_id: str) -> list[dict[str, str]]:
    """Return the workshop tags in the ``[{"Key", "Value"}]`` form IoT, IAM and SNS take."""
    return [{"Key": TAG_KEY, "Value": TAG_VALUE}, {"Key": RUN_TAG, "Value": run_id}]


def thing_attributes(run_id: str, **extra: str) -> dict[str, str]:
    """Return the attributes that mark a thing as the workshop's (things cannot be tagged)."""
    return {TAG_KEY: TAG_VALUE, RUN_TAG: run_id, **extra}


def account_id() -> str:
    """Return the account id of the active target."""
    from .target import caller_identity

    return caller_identity()["account"]


def _trust(service: str) -> str:
    """Return a trust policy letting ``service`` assume a role."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def _require_confirmation(action: str, changes: list[str], confirm: bool) -> None:
    """Refuse an aws-mode change without ``confirm=True``, listing what it would change."""
    if is_sandbox() or confirm:
        return
    listing = "\n".join(f"  - {c}" for c in changes)
    raise WorkshopError(f"{action} would change your real AWS account {mask_account(account_id())} in "
                        f"{get_region()}:\n{listing}",
                        "Review the list, then call again with confirm=True.")


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _sandbox_now() -> float:
    """Return the current time of the target (the sandbox clock may have been advanced) in epoch seconds."""
    if not is_sandbox():
        return time.time()
    now = sandbox_control("GET", "/_sandbox/clock")["now"]
    return datetime.fromisoformat(now).timestamp()


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _create_role(name: str, trust_service: str, run_id: str, *, managed: str | None = None,
                 inline: dict[str, Any] | None = None) -> str:
    """Create an IAM role under the workshop path, tagged; attach ``managed`` and/or an ``inline`` policy; return
    its ARN."""
    iam = client("iam")
    arn = iam.create_role(RoleName=name, Path=ROLE_PATH, AssumeRolePolicyDocument=_trust(trust_service),
                          Description="Created by the IoT audit workshop (Module 2)",
                          Tags=iot_tags(run_id))["Role"]["Arn"]
    state.add_resources(run_id, "roles", [name])
    if managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    if inline:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-permissions", PolicyDocument=json.dumps(inline))
    return arn


def _after_role_propagation(call: Callable[[], Any], seconds: float = 30.0) -> Any:
    """Return ``call()``, retried while AWS does not yet see a just-created IAM role (IAM is eventually consistent)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except ClientError as exc:
            retryable = _code(exc) in ("InvalidRequestException", "InvalidParameterException")
            if not retryable or is_sandbox() or time.monotonic() > deadline:
                raise
            time.sleep(3)


def _create_policy(name: str, document: dict[str, Any], run_id: str) -> str:
    """Create a tagged IoT policy and return its name."""
    client("iot").create_policy(policyName=name, policyDocument=json.dumps(document), tags=iot_tags(run_id))
    state.add_resources(run_id, "policies", [name])
    return name


def _register_ca(ca: certs.Issued, run_id: str) -> str:
    """Register a CA certificate the way AWS asks (verification certificate signed by the CA); return its id."""
    iot = client("iot")
    code = iot.get_registration_code()["registrationCode"]
    resp = iot.register_ca_certificate(caCertificate=ca.pem,
                                       verificationCertificate=certs.verification_certificate(ca, code),
                                       setAsActive=True, allowAutoRegistration=False, tags=iot_tags(run_id))
    state.add_resources(run_id, "ca_certificates", [resp["certificateId"]])
    return resp["certificateId"]


# -- the Module 1 environment -----------------------------------------------------------------------------------------
@dataclass
class WorkshopEnvironment:
    """What :func:`build_workshop_environment` created (ids and names; the key file holds the only secret)."""

    run_id: str
    account: str
    region: str
    things: tuple[str, ...]
    certificate_id: str
    certificate_arn: str
    policy_name: str
    audit_role_arn: str
    sns_role_arn: str
    sns_topic_arn: str
    cert_file: str
    key_file: str
    expected_non_compliant: tuple[str, ...] = MODULE1_NON_COMPLIANT

    @classmethod
    def from_run(cls, run: dict[str, Any]) -> "WorkshopEnvironment":
        """Return the environment recorded in a state entry."""
        fields = dict(run["environment"])
        for name in ("things", "expected_non_compliant"):
            fields[name] = tuple(fields[name])
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict (for the state file)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _module1_changes(run_id: str) -> list[str]:
    """Return what building the Module 1 environment changes (the aws-mode preview)."""
    return [f"things {', '.join(MODULE1_THINGS)} (attribute SensorType=DHT22)",
            "one EC P-256 certificate made on this machine, registered ACTIVE and attached to both things "
            "(key saved 0600 under .workshop/keys/)",
            f"IoT policy DevicePolicy-{run_id} allowing iot:* on * (deliberately overly permissive), attached to it",
            f"IAM roles IoTAuditRole-{run_id} (AWSIoTDeviceDefenderAudit) and SNSTopicRole-{run_id}",
            f"SNS topic BadIoTDevices-{run_id}",
            "account audit configuration: audit role set, the 14 original checks enabled (the previous "
            "configuration is saved and restored by cleanup)",
            "device connections: both devices connect with the shared certificate (real MQTT in aws mode)"]


def _existing_module1() -> WorkshopEnvironment | None:
    """Return the Module 1 environment already built in this target/region when its things still exist."""
    iot, account = client("iot"), account_id()
    for run in reversed(state.runs("module1")):
        if "environment" not in run or run.get("account") != account:
            continue
        try:
            for thing in MODULE1_THINGS:
                iot.describe_thing(thingName=thing)
        except ClientError:
            continue  # e.g. the sandbox was reset: this record is stale
        return WorkshopEnvironment.from_run(run)
    return None


def _check_names_free() -> None:
    """Raise when SensorDevice01/02 exist but were not made by a recorded run."""
    iot = client("iot")
    for thing in MODULE1_THINGS:
        try:
            attrs = iot.describe_thing(thingName=thing).get("attributes", {})
        except ClientError as exc:
            if _code(exc) == "ResourceNotFoundException":
                continue
            raise
        owner = f"workshop run {attrs[RUN_TAG]}" if attrs.get(TAG_KEY) == TAG_VALUE else "something else"
        raise WorkshopError(f"A thing named {thing} already exists (made by {owner}).",
                            "Run helpers.fleet.cleanup() to remove earlier workshop resources, or delete that thing.")


def _enable_original_checks(role_arn: str, run_id: str) -> None:
    """Save the current audit configuration in the run, then set the audit role and enable the 14 checks."""
    from .sandbox.catalog import ORIGINAL_14

    iot = client("iot")
    previous = iot.describe_account_audit_configuration()
    previous.pop("ResponseMetadata", None)
    state.update_run(run_id, previous_audit_configuration=previous if previous.get("roleArn") else None)
    _after_role_propagation(lambda: iot.update_account_audit_configuration(
        roleArn=role_arn, auditCheckConfigurations={c: {"enabled": True} for c in ORIGINAL_14}))


def build_workshop_environment(*, confirm: bool = False, run_id: str | None = None, connect: bool = True,
                               rebuild: bool = False) -> WorkshopEnvironment:
    """Return the Module 1 environment, building it when this target/region has none (``rebuild`` deletes the
    existing one first)."""
    if not rebuild:
        existing = _existing_module1()
        if existing is not None:
            return existing
    run_id = run_id or state.new_run_id()
    changes = _module1_changes(run_id)
    if rebuild:
        changes.insert(0, "first delete the earlier Module 1 environment: " + repr(cleanup_plan(kind="module1")))
    _require_confirmation("Building the Module 1 environment", changes, confirm)
    if rebuild:
        cleanup(kind="module1", confirm=True)
    _check_names_free()
    account = account_id()
    state.start_run("module1", run_id, account)
    env = _create_module1(run_id, account)
    state.update_run(run_id, environment=env.to_dict())
    if connect:
        connect_devices(env)
    return env


def _create_module1(run_id: str, account: str) -> WorkshopEnvironment:
    """Create every Module 1 resource for run ``run_id`` and return the environment."""
    iot, region = client("iot"), get_region()
    for thing in MODULE1_THINGS:
        iot.create_thing(thingName=thing, attributePayload={"attributes": thing_attributes(run_id, SensorType="DHT22")})
        state.add_resources(run_id, "things", [thing])
    device = certs.issue("SensorDevices (shared)", days=365)
    folder = state.keys_dir(run_id)
    key_file = certs.write_private_key(folder / "SensorDevices.private.key", device.key)  # type: ignore[arg-type]
    cert_file = certs.write_text(folder / "SensorDevices.cert.pem", device.pem)
    cert = iot.register_certificate_without_ca(certificatePem=device.pem, status="ACTIVE")
    state.add_resources(run_id, "certificates", [cert["certificateId"]])
    policy = _create_policy(f"DevicePolicy-{run_id}", PERMISSIVE_POLICY, run_id)
    iot.attach_policy(policyName=policy, target=cert["certificateArn"])
    for thing in MODULE1_THINGS:
        iot.attach_thing_principal(thingName=thing, principal=cert["certificateArn"])
    audit_role = _create_role(f"IoTAuditRole-{run_id}", "iot.amazonaws.com", run_id, managed=AUDIT_POLICY_ARN)
    sns_role = _create_role(f"SNSTopicRole-{run_id}", "iot.amazonaws.com", run_id, managed=SNS_POLICY_ARN)
    topic = client("sns").create_topic(Name=f"BadIoTDevices-{run_id}", Tags=iot_tags(run_id))["TopicArn"]
    state.add_resources(run_id, "topics", [topic])
    _enable_original_checks(audit_role, run_id)
    return WorkshopEnvironment(run_id, account, region, MODULE1_THINGS, cert["certificateId"], cert["certificateArn"],
                               policy, audit_role, sns_role, topic, str(cert_file), str(key_file))


def connect_devices(env: WorkshopEnvironment, *, hours: float = 3.0, every_seconds: float = 60.0,
                    mqtt_sessions: int = 3, ca_file: Path | None = None) -> dict[str, Any]:
    """Make both Module 1 devices connect with their shared certificate; return what happened.

    Sandbox: records the connection history the devices would have built over the last ``hours`` (a session every
    ``every_seconds``, both devices at once). aws: runs ``mqtt_sessions`` real MQTT sessions now; AWS's audit sees
    connections only after 2 hours.
    """
    if is_sandbox():
        now = _sandbox_now()
        events = []
        start = now - hours * 3600
        for i in range(int(hours * 3600 // every_seconds)):
            t = start + i * every_seconds
            for j, thing in enumerate(env.things):
                events.append({"clientId": thing, "certificateId": env.certificate_id, "connectedAt": t + j * 0.2,
                               "disconnectedAt": t + j * 0.2 + 2.0, "sourceIp": f"192.0.2.{j + 1}"})
        sandbox_control("POST", "/_sandbox/iot/connections", {"events": events})
        return {"mode": "recorded history", "sessions": len(events),
                "visible_to_audit_from": datetime.fromtimestamp(now, timezone.utc)}
    from . import devices

    host = devices.data_endpoint()
    identities = [devices.DeviceIdentity(thing, Path(env.cert_file), Path(env.key_file), thing) for thing in env.things]
    sessions = devices.run_devices(identities, host, lambda ident: MODULE1_TOPICS.get(ident.client_id, "temperature"),
                                   ca_file=ca_file, sessions=mqtt_sessions)
    last = max(s.disconnected_at for s in sessions)
    return {"mode": "mqtt", "sessions": len(sessions),
            "visible_to_audit_from": datetime.fromtimestamp(last + CONNECTION_LOOKBACK_GAP_HOURS * 3600, timezone.utc)}


def verify_workshop_environment(env: WorkshopEnvironment | None = None) -> list[dict[str, Any]]:
    """Return one row per Module 1 resource: what is expected, what the target has, and whether it matches."""
    env = env or _existing_module1()
    if env is None:
        raise WorkshopError("No Module 1 environment is recorded for this target and region.",
                            "Run helpers.fleet.build_workshop_environment() first.")
    iot, rows = client("iot"), []

    def row(item: str, expected: Any, actual: Callable[[], Any]) -> None:
        try:
            value = actual()
        except ClientError as exc:
            value = f"error: {_code(exc)}"
        rows.append({"item": item, "expected": expected, "actual": value, "ok": value == expected})

    for thing in env.things:
        row(f"thing {thing} uses the shared certificate", True,
            lambda t=thing: env.certificate_arn in iot.list_thing_principals(thingName=t)["principals"])
    row("certificate status", "ACTIVE",
        lambda: iot.describe_certificate(certificateId=env.certificate_id)["certificateDescription"]["status"])
    row(f"policy {env.policy_name} attached to the certificate", True,
        lambda: env.policy_name in [p["policyName"]
                                    for p in iot.list_attached_policies(target=env.certificate_arn)["policies"]])
    row("policy document allows iot:* on *", PERMISSIVE_POLICY,
        lambda: json.loads(iot.get_policy(policyName=env.policy_name)["policyDocument"]))
    config = iot.describe_account_audit_configuration()
    from .sandbox.catalog import ORIGINAL_14

    row("audit role", env.audit_role_arn, lambda: config.get("roleArn"))
    row("original 14 checks enabled", sorted(ORIGINAL_14),
        lambda: sorted(c for c in ORIGINAL_14 if config["auditCheckConfigurations"].get(c, {}).get("enabled")))
    row("IoT logging", "disabled", lambda: "enabled" if logging_enabled() else "disabled")
    row(f"SNS topic {env.sns_topic_arn.rsplit(':', 1)[-1]}", True,
        lambda: bool(client("sns").get_topic_attributes(TopicArn=env.sns_topic_arn)["Attributes"]))
    return rows


def logging_enabled() -> bool:
    """Return True when IoT logging is on in v2 (not disableAllLogs, level not DISABLED) or v1 (level not DISABLED)."""
    iot = client("iot")
    try:
        v2 = iot.get_v2_logging_options()
        if not v2.get("disableAllLogs", False) and v2.get("defaultLogLevel", "DISABLED") != "DISABLED":
            return True
    except ClientError as exc:
        if _code(exc) != "NotConfiguredException":
            raise
    return iot.get_logging_options().get("logLevel", "DISABLED") != "DISABLED"


# -- larger fleets with a known mix of problems ------------------------------------------------------------------------
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


def build_fleet(devices: int = 100, seed: int = 0, *, confirm: bool = False, run_id: str | None = None,
                connect: bool = True) -> Fleet:
    """Return a new fleet of ``devices`` devices with a seeded mix of problems for every audit check, and the
    findings (per check) an audit of it must report."""
    run_id = run_id or state.new_run_id()
    if not is_sandbox() and devices > MAX_AWS_FLEET:
        raise WorkshopError(f"{devices} devices is more than this workshop creates in a real account "
                            f"({MAX_AWS_FLEET}); each one is API calls and audit cost.",
                            f"Use the sandbox for large fleets, or at most {MAX_AWS_FLEET} devices.")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    plan = plan_fleet(devices, seed, run_id)
    _require_confirmation(f"Building a fleet of {devices} devices", [
        f"{devices} things named fleet-{run_id}-NNNNN with {len(plan.certs)} certificates (some deliberately weak, "
        "expiring, revoked or shared)", "4 CA certificates", f"{len(POLICY_DOCUMENTS)} IoT policies (some overly "
        "permissive)", "4 role aliases, 2 Cognito identity pools and their IAM roles",
        *(["real MQTT connections of the shared-certificate and conflicting-client devices"] if connect else [])],
        confirm)
    pki = make_pki(plan)
    timings["certificates"] = time.perf_counter() - t0
    account = account_id()
    state.start_run("fleet", run_id, account, seed=seed, devices=devices)
    fleet = Fleet(run_id, seed, plan, {}, {}, {}, {})
    t = time.perf_counter()
    _create_fleet_cas(fleet, pki)
    _create_fleet_policies(fleet, account)
    timings["cas_and_policies"] = time.perf_counter() - t
    t = time.perf_counter()
    _register_devices(fleet, pki)
    timings["devices"] = time.perf_counter() - t
    t = time.perf_counter()
    crl_published = _publish_crl(fleet, pki)
    identities = _create_identities(fleet)
    connected = _connect_fleet(fleet, pki) if connect else False
    timings["history"] = time.perf_counter() - t
    fleet.expected_findings = expected_findings(fleet, pki, account, crl_published=crl_published,
                                                connections=connected, **identities)
    timings["total"] = time.perf_counter() - t0
    fleet.timings = timings
    state.update_run(run_id, certificate_ids=fleet.certificate_ids)
    return fleet


def _create_fleet_cas(fleet: Fleet, pki: FleetPKI) -> None:
    """Register the fleet's four CA certificates."""
    for key, ca in (("root", pki.root), ("intermediate", pki.intermediate), ("expiring", pki.expiring_ca),
                    ("weak", pki.weak_ca)):
        fleet.ca_certificate_ids[key] = _register_ca(ca, fleet.run_id)


def _create_fleet_policies(fleet: Fleet, account: str) -> None:
    """Create every fleet policy (one healthy, three overly permissive, one misconfigured)."""
    prefix = f"arn:aws:iot:{get_region()}:{account}:"
    for kind, document in POLICY_DOCUMENTS.items():
        fleet.policies[kind] = _create_policy(policy_name(fleet.run_id, kind), document(prefix), fleet.run_id)


def _device_records(fleet: Fleet, pki: FleetPKI) -> list[dict[str, Any]]:
    """Return the bulk-register records of the fleet's devices."""
    out = []
    for d in fleet.plan.devices:
        c = fleet.plan.certs[d.cert]
        out.append({"thingName": d.thing_name, "attributes": thing_attributes(fleet.run_id, scenario=d.scenario),
                    "certificatePem": pki.device_certs[d.cert].pem, "certificateStatus": c.status,
                    "caCertificateId": fleet.ca_certificate_ids[c.issuer], "policyNames": [fleet.policies[d.policy]]})
    return out


def _register_devices(fleet: Fleet, pki: FleetPKI) -> None:
    """Create things, certificates and attachments: the sandbox's bulk registration, or one device at a time."""
    records = _device_records(fleet, pki)
    state.add_resources(fleet.run_id, "things", [r["thingName"] for r in records])
    if is_sandbox():
        for chunk in _chunks(records, BULK_CHUNK):
            sandbox_control("POST", "/_sandbox/iot/bulk-register", {"devices": chunk})
        fleet.certificate_ids = _resolve_certificate_ids({k: c.pem for k, c in pki.device_certs.items()})
    else:
        pems = {r["certificatePem"]: r for r in records}
        ca_pems = {fleet.ca_certificate_ids["root"]: pki.root.pem,
                   fleet.ca_certificate_ids["intermediate"]: pki.intermediate.pem}
        ids = {}
        for key, issued in pki.device_certs.items():
            r = pems[issued.pem]
            ids[key] = _register_one_certificate(issued.pem, ca_pems[r["caCertificateId"]], r["certificateStatus"])
        fleet.certificate_ids = ids
        for r in records:
            _register_one_device(r, ids[_cert_key(fleet, r["thingName"])])
    state.add_resources(fleet.run_id, "certificates", sorted(set(fleet.certificate_ids.values())))


def _cert_key(fleet: Fleet, thing: str) -> str:
    return next(d.cert for d in fleet.plan.devices if d.thing_name == thing)


def _register_one_certificate(pem: str, ca_pem: str, status: str) -> str:
    """Register one device certificate with its CA (AWS path) and return its id."""
    resp = client("iot").register_certificate(certificatePem=pem, caCertificatePem=ca_pem, status=status)
    return resp["certificateId"]


def _register_one_device(record: dict[str, Any], certificate_id: str) -> None:
    """Create one thing and attach its certificate and policy (AWS path)."""
    iot = client("iot")
    arn = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]["certificateArn"]
    iot.create_thing(thingName=record["thingName"], attributePayload={"attributes": record["attributes"]})
    iot.attach_thing_principal(thingName=record["thingName"], principal=arn)
    for policy in record["policyNames"]:
        iot.attach_policy(policyName=policy, target=arn)


def _resolve_certificate_ids(pems: dict[str, str]) -> dict[str, str]:
    """Return the id the target gave each certificate (AWS hashes the DER, moto the PEM text), read back from
    ListCertificates."""
    listed: set[str] = set()
    for page in client("iot").get_paginator("list_certificates").paginate(PaginationConfig={"PageSize": 250}):
        listed.update(c["certificateId"] for c in page["certificates"])
    out = {}
    for key, pem in pems.items():
        found = [cid for cid in certs.certificate_id_candidates(pem) if cid in listed]
        if not found:
            raise WorkshopError(f"Certificate {key} was registered but ListCertificates does not show it.",
                                "Run build_fleet again; if it persists, report it with the sandbox log.")
        out[key] = found[0]
    return out


def _publish_crl(fleet: Fleet, pki: FleetPKI) -> bool:
    """Publish the root CA's CRL in the sandbox (True); in aws mode save it for a distribution point (False)."""
    crl = pki.crl(fleet.plan)
    if is_sandbox():
        sandbox_control("POST", "/_sandbox/iot/crls", {"crl": crl})
        return True
    certs.write_text(state.keys_dir(fleet.run_id) / "root-ca.crl.pem", crl)
    fleet.notes.append("AWS reads revocations from the CA's published CRL; the workshop cannot host one, so the "
                       "revoked certificates are not expected to be flagged in your account (the CRL is saved under "
                       ".workshop/keys/).")
    return False


# -- role aliases and Cognito pools ---------------------------------------------------------------------------------
def _alias_roles(run_id: str) -> dict[str, tuple[dict[str, Any], set[str]]]:
    """Return per role alias: (role policy, services it is recorded as using)."""
    def allow(action: str, resource: str = "*") -> dict[str, Any]:
        return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    return {
        f"fleet-{run_id}-alias-ok": (allow("s3:GetObject", f"arn:aws:s3:::fleet-{run_id}/*"), {"s3"}),
        f"fleet-{run_id}-alias-broad": (allow("dynamodb:*"), {"dynamodb"}),
        f"fleet-{run_id}-alias-unused": (allow("s3:GetObject", f"arn:aws:s3:::fleet-{run_id}/*"), set()),
        f"fleet-{run_id}-alias-audit": (allow("iam:ListRoles"), {"iam"}),
    }


def _cognito_roles(run_id: str) -> dict[str, dict[str, dict[str, Any] | None]]:
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


def _create_identities(fleet: Fleet) -> dict[str, Any]:
    """Create the role aliases and Cognito pools; record usage in the sandbox. Return what the expectations need."""
    run_id, iot = fleet.run_id, client("iot")
    aliases: dict[str, tuple[str, set[str]]] = {}
    for alias, (policy, used) in _alias_roles(run_id).items():
        role = _create_role(alias.replace("fleet-", "fleet-role-"), "credentials.iot.amazonaws.com", run_id,
                            inline=policy)
        arn = _after_role_propagation(lambda: iot.create_role_alias(
            roleAlias=alias, roleArn=role, credentialDurationSeconds=3600, tags=iot_tags(run_id)))["roleAliasArn"]
        state.add_resources(run_id, "role_aliases", [alias])
        recorded = set()
        if is_sandbox() and used:
            sandbox_control("POST", "/_sandbox/iot/role-alias-usage", {"roleAliasArn": arn, "services": sorted(used)})
            recorded = used
        aliases[alias] = (arn, recorded)
    pools: dict[str, tuple[str, bool]] = {}
    cognito = client("cognito-identity")
    for pool_name, roles in _cognito_roles(run_id).items():
        pool_id = cognito.create_identity_pool(IdentityPoolName=pool_name, AllowUnauthenticatedIdentities=True,
                                               IdentityPoolTags={TAG_KEY: TAG_VALUE, RUN_TAG: run_id})["IdentityPoolId"]
        state.add_resources(run_id, "identity_pools", [pool_id])
        arns = {kind: _create_role(f"{pool_name}-{kind[:5]}".replace("_", "-"), "cognito-identity.amazonaws.com",
                                   run_id, inline=doc) for kind, doc in roles.items() if doc is not None}
        _after_role_propagation(lambda: cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=arns))
        active = is_sandbox()
        if active:
            sandbox_control("POST", "/_sandbox/cognito/pool-activity", {"identityPoolId": pool_id})
        pools[pool_name] = (pool_id, active)
    if not is_sandbox():
        fleet.notes.append("Role-alias usage and Cognito connections come from real use in AWS; the new aliases have "
                           "none, so every service they grant counts as unused and the pools are not audited.")
    return {"aliases": aliases, "pools": pools}


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


def _connect_fleet(fleet: Fleet, pki: FleetPKI) -> bool:
    """Record the fleet's connection history (sandbox) or run the problem devices over MQTT (aws); return True."""
    if is_sandbox():
        events = fleet_sessions(fleet, _sandbox_now())
        for chunk in _chunks(events, BULK_CHUNK * 2):
            sandbox_control("POST", "/_sandbox/iot/connections", {"events": chunk})
        return True
    _run_fleet_mqtt(fleet, pki)
    fleet.notes.append("Shared-certificate and conflicting-client-id findings appear in audits started 2 hours or "
                       "more after these connections.")
    return True


def _run_fleet_mqtt(fleet: Fleet, pki: FleetPKI) -> None:
    """Connect the shared-certificate groups and the conflicting pairs to AWS IoT over MQTT (keys written 0600)."""
    from . import devices

    folder = state.keys_dir(fleet.run_id)
    by_thing = {d.thing_name: d for d in fleet.plan.devices}
    host = devices.data_endpoint()

    def identity(thing: str, client_id: str | None = None) -> devices.DeviceIdentity:
        d = by_thing[thing]
        issued = pki.device_certs[d.cert]
        key_file = folder / f"{d.cert}.private.key"
        if not key_file.exists():
            certs.write_private_key(key_file, issued.key)  # type: ignore[arg-type]
            certs.write_text(folder / f"{d.cert}.cert.pem", issued.pem)
        return devices.DeviceIdentity(client_id or d.client_id, key_file.with_name(f"{d.cert}.cert.pem"), key_file,
                                      thing)

    for group in fleet.plan.shared_groups:
        if fleet.plan.certs[by_thing[group[0]].cert].status == "ACTIVE":
            devices.run_devices([identity(t) for t in group], host, lambda i: f"fleet/{i.thing_name}/telemetry",
                                hold_seconds=3)
    for victim, rogue in fleet.plan.conflicts:
        devices.run_devices([identity(victim), identity(rogue, by_thing[victim].client_id)], host,
                            lambda i: f"fleet/{i.thing_name}/telemetry", hold_seconds=3)


# -- the ground truth -------------------------------------------------------------------------------------------------
def expected_findings(fleet: Fleet, pki: FleetPKI, account: str, *, crl_published: bool, connections: bool,
                      aliases: dict[str, tuple[str, set[str]]], pools: dict[str, tuple[str, bool]]
                      ) -> dict[str, list[dict[str, Any]]]:
    """Return, for every audit check, the resource identifiers an audit of the fleet must flag (its ground truth).

    Derived from the plan, not from the audit: which certificates are shared, expiring, weak, revoked; which client
    ids conflict; which policies, role aliases and pools grant too much; whether logging is off.
    """
    from .sandbox.catalog import CHECK_NAMES

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
    roles = _alias_roles(fleet.run_id)
    for alias, (arn, used) in aliases.items():
        granted = _granted_services(roles[alias][0])
        if granted - used:
            out["IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK"].append({"roleAliasArn": arn})
        broad_used = any(a.endswith(":*") and a.split(":")[0] in used for a in _actions(roles[alias][0]))
        if broad_used or granted & {"iam", "cloudtrail", "guardduty", "inspector", "trustedadvisor"}:
            out["IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK"].append({"roleAliasArn": arn})
    for name, (pool_id, active_pool) in pools.items():
        if active_pool and _cognito_roles(fleet.run_id)[name]["unauthenticated"] is not None:
            out["UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"].append({"cognitoIdentityPoolId": pool_id})
        if active_pool and "CreateThing" in json.dumps(_cognito_roles(fleet.run_id)[name]["authenticated"]):
            out["AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"].append({"cognitoIdentityPoolId": pool_id})
    if not logging_enabled():
        out["LOGGING_DISABLED_CHECK"] = [{"account": account}]
    # DEVICE_CERTIFICATE_AGE_CHECK: every certificate was registered just now (threshold >= 30 days): none.
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


def audit_findings_by_check(task_id: str) -> dict[str, set[str]]:
    """Return the finding keys (:func:`finding_key`) of an audit task, per check."""
    out: dict[str, set[str]] = {}
    for page in client("iot").get_paginator("list_audit_findings").paginate(taskId=task_id):
        for f in page["findings"]:
            out.setdefault(f["checkName"], set()).add(finding_key(f["nonCompliantResource"]["resourceIdentifier"]))
    return out


def compare_findings(expected: dict[str, list[dict[str, Any]]], task_id: str) -> dict[str, dict[str, list[str]]]:
    """Return the checks whose audit findings differ from ``expected``: check -> {"missing": [...], "unexpected":
    [...]} (empty when the audit matches exactly)."""
    actual = audit_findings_by_check(task_id)
    out = {}
    for check in sorted(set(expected) | set(actual)):
        want = {finding_key(i) for i in expected.get(check, [])}
        got = actual.get(check, set())
        if want != got:
            out[check] = {"missing": sorted(want - got), "unexpected": sorted(got - want)}
    return out


# -- cleanup ----------------------------------------------------------------------------------------------------------
CLEANUP_ORDER = ("mitigation_actions", "scheduled_audits", "audit_configuration", "things", "certificates",
                 "policies", "ca_certificates", "role_aliases", "identity_pools", "roles", "topics", "key_files")


@dataclass
class CleanupReport:
    """What :func:`cleanup` found (``planned``) and, once confirmed, what it deleted."""

    planned: dict[str, list[str]]
    runs: list[str]
    done: bool = False
    deleted: dict[str, list[str]] = field(default_factory=dict)
    already_gone: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    certificate_arns: dict[str, str] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        head = "Deleted" if self.done else "Would delete (call cleanup(confirm=True) to proceed)"
        source = self.deleted if self.done else self.planned
        lines = [f"{head}, runs {', '.join(self.runs) or '(none recorded)'}:"]
        for kind in CLEANUP_ORDER:
            items = source.get(kind, [])
            if items:
                shown = ", ".join(items[:5]) + (f", ... ({len(items)} in all)" if len(items) > 5 else "")
                lines.append(f"  {kind}: {shown}")
        if self.errors:
            lines.append(f"  errors ({len(self.errors)}): " + "; ".join(self.errors[:5]))
        return "\n".join(lines)

    __str__ = __repr__


def _tagged_for(tags: Iterable[dict[str, str]], runs: set[str] | None) -> bool:
    """Return True when ``tags`` mark a workshop resource of one of ``runs`` (any run when None)."""
    values = {t["Key"]: t["Value"] for t in tags}
    return values.get(TAG_KEY) == TAG_VALUE and (runs is None or values.get(RUN_TAG) in runs)


def _iot_tagged(arn: str, runs: set[str] | None) -> bool:
    try:
        return _tagged_for(client("iot").list_tags_for_resource(resourceArn=arn).get("tags", []), runs)
    except ClientError:
        return False


def _discover(runs: set[str] | None) -> dict[str, set[str]]:
    """Return workshop resources found on the target itself: thing attributes and tags."""
    iot, found = client("iot"), {k: set() for k in CLEANUP_ORDER}
    for page in iot.get_paginator("list_things").paginate(attributeName=TAG_KEY, attributeValue=TAG_VALUE):
        found["things"].update(t["thingName"] for t in page["things"]
                               if runs is None or t.get("attributes", {}).get(RUN_TAG) in runs)
    for page in iot.get_paginator("list_policies").paginate():
        found["policies"].update(p["policyName"] for p in page["policies"] if _iot_tagged(p["policyArn"], runs))
    for page in iot.get_paginator("list_ca_certificates").paginate():
        found["ca_certificates"].update(c["certificateId"] for c in page["certificates"]
                                        if _iot_tagged(c["certificateArn"], runs))
    for page in iot.get_paginator("list_role_aliases").paginate():
        for alias in page["roleAliases"]:
            arn = iot.describe_role_alias(roleAlias=alias)["roleAliasDescription"]["roleAliasArn"]
            if _iot_tagged(arn, runs):
                found["role_aliases"].add(alias)
    for page in iot.get_paginator("list_mitigation_actions").paginate():
        found["mitigation_actions"].update(a["actionName"] for a in page["actionIdentifiers"]
                                           if _iot_tagged(a["actionArn"], runs))
    for page in iot.get_paginator("list_scheduled_audits").paginate():
        found["scheduled_audits"].update(a["scheduledAuditName"] for a in page["scheduledAudits"]
                                         if _iot_tagged(a["scheduledAuditArn"], runs))
    iam = client("iam")
    for page in iam.get_paginator("list_roles").paginate(PathPrefix=ROLE_PATH):
        for role in page["Roles"]:
            if _tagged_for(iam.list_role_tags(RoleName=role["RoleName"])["Tags"], runs):
                found["roles"].add(role["RoleName"])
    sns = client("sns")
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if _tagged_for(sns.list_tags_for_resource(ResourceArn=topic["TopicArn"]).get("Tags", []), runs):
                found["topics"].add(topic["TopicArn"])
    return found


def _recorded(kind: str | None, run_id: str | None) -> list[dict[str, Any]]:
    """Return the recorded runs to clean up in this target and region."""
    account = account_id()
    recorded = [r for r in state.runs(kind)
                if r.get("account") == account and (run_id is None or r["run_id"] == run_id)]
    if run_id is not None and not recorded:
        raise WorkshopError(f"Run {run_id} is not recorded for this target and region.",
                            "List the runs with helpers.state.runs(), or call cleanup() without run_id.")
    return recorded


def cleanup_plan(*, run_id: str | None = None, kind: str | None = None) -> CleanupReport:
    """Return what :func:`cleanup` would delete: recorded runs plus workshop resources found by tag or attribute."""
    recorded = _recorded(kind, run_id)
    runs = {r["run_id"] for r in recorded}
    scope = runs if (run_id is not None or kind is not None) else None
    found = _discover(scope)
    current_role = client("iot").describe_account_audit_configuration().get("roleArn") or ""
    if ROLE_PATH in current_role and current_role.rsplit("/", 1)[-1] in found["roles"]:
        found["audit_configuration"].add("account")  # the audit role in use is about to be deleted
    for run in recorded:
        for k, ids in run.get("resources", {}).items():
            found.setdefault(k, set()).update(ids)
        if run.get("environment") or run.get("previous_audit_configuration") is not None or run["kind"] == "module1":
            found["audit_configuration"].add(run["run_id"])
        if state.keys_dir(run["run_id"]).exists():
            found["key_files"].add(str(state.keys_dir(run["run_id"])))
    return CleanupReport({k: sorted(v) for k, v in found.items() if v}, sorted(runs))


def cleanup(*, run_id: str | None = None, kind: str | None = None, confirm: bool = False) -> CleanupReport:
    """Return the cleanup report: in the sandbox (or with ``confirm=True``) after deleting everything the workshop
    created here (one run, one kind, or all); in aws mode without ``confirm`` only the preview."""
    report = cleanup_plan(run_id=run_id, kind=kind)
    if not (is_sandbox() or confirm):
        return report
    recorded = {r["run_id"]: r for r in _recorded(kind, run_id)}
    for resource_kind in CLEANUP_ORDER:
        items = report.planned.get(resource_kind, [])
        if items:
            _DELETERS[resource_kind](items, report, recorded)
    for rid in report.runs:
        state.forget_run(rid)
    report.done = True
    return report


def _gone(exc: ClientError) -> bool:
    return _code(exc) in ("ResourceNotFoundException", "NoSuchEntity", "NotFound", "NotFoundException")


def _each(kind: str, items: Iterable[str], report: CleanupReport, delete: Callable[[str], None],
          workers: int = 1) -> None:
    """Run ``delete`` on every item, recording deleted, already gone, and errors (named with the fix)."""
    def one(item: str) -> None:
        try:
            delete(item)
            report.deleted.setdefault(kind, []).append(item)
        except ClientError as exc:
            if _gone(exc):
                report.already_gone.setdefault(kind, []).append(item)
            else:
                report.errors.append(f"{kind} {item}: {_code(exc)} {exc.response['Error'].get('Message', '')}")

    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, items))
    else:
        for item in items:
            one(item)


def _workers() -> int:
    """Return how many deletions run at once: 8 against AWS; 1 in the sandbox (moto's state is not thread-safe)."""
    return 1 if is_sandbox() else 8


def _delete_mitigation_actions(items: list[str], report: CleanupReport, _: dict) -> None:
    _each("mitigation_actions", items, report, lambda n: client("iot").delete_mitigation_action(actionName=n))


def _delete_scheduled_audits(items: list[str], report: CleanupReport, _: dict) -> None:
    _each("scheduled_audits", items, report, lambda n: client("iot").delete_scheduled_audit(scheduledAuditName=n))


def _restore_audit_configuration(items: list[str], report: CleanupReport, recorded: dict[str, dict]) -> None:
    """Give the account back its previous audit configuration when the workshop's role is the audit role."""
    iot = client("iot")
    current = iot.describe_account_audit_configuration().get("roleArn") or ""
    if ROLE_PATH not in current:
        report.deleted.setdefault("audit_configuration", []).append("unchanged (not the workshop's role)")
        return
    previous = next((recorded[r].get("previous_audit_configuration") for r in items
                     if r in recorded and recorded[r].get("previous_audit_configuration")), None)
    if previous:
        checks = {name: {k: v for k, v in cfg.items() if k in ("enabled", "configuration")}
                  for name, cfg in previous.get("auditCheckConfigurations", {}).items()}
        # the workshop may have enabled checks the previous configuration had off: turn those off again
        iot.update_account_audit_configuration(roleArn=previous["roleArn"], auditCheckConfigurations=checks)
        report.deleted.setdefault("audit_configuration", []).append("restored the previous configuration")
    else:
        iot.delete_account_audit_configuration(deleteScheduledAudits=False)
        report.deleted.setdefault("audit_configuration", []).append("deleted (the account had none before)")


def _delete_things(items: list[str], report: CleanupReport, _: dict) -> None:
    """Detach every principal of each thing, then delete the thing (the certificates follow)."""
    iot = client("iot")
    certificates = report.planned.setdefault("certificates", [])

    def delete(thing: str) -> None:
        for principal in iot.list_thing_principals(thingName=thing)["principals"]:
            iot.detach_thing_principal(thingName=thing, principal=principal)
            if ":cert/" in principal:
                certificates.append(principal.rsplit("/", 1)[1])
                report.certificate_arns[principal.rsplit("/", 1)[1]] = principal
        iot.delete_thing(thingName=thing)

    _each("things", items, report, delete, workers=_workers())
    report.planned["certificates"] = sorted(set(certificates))


def _delete_certificates(items: list[str], report: CleanupReport, _: dict) -> None:
    """Detach policies, deactivate and delete each certificate."""
    iot = client("iot")

    def delete(cert_id: str) -> None:
        arn = report.certificate_arns.get(cert_id) or \
            iot.describe_certificate(certificateId=cert_id)["certificateDescription"]["certificateArn"]
        for policy in iot.list_attached_policies(target=arn)["policies"]:
            iot.detach_policy(policyName=policy["policyName"], target=arn)
        iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
        for attempt in range(5):  # AWS detaches things asynchronously
            try:
                iot.delete_certificate(certificateId=cert_id, forceDelete=True)
                return
            except ClientError as exc:
                if _code(exc) != "DeleteConflictException" or attempt == 4:
                    raise
                time.sleep(2 ** attempt)

    _each("certificates", sorted(set(items)), report, delete, workers=_workers())


def _delete_policies(items: list[str], report: CleanupReport, _: dict) -> None:
    iot = client("iot")

    def delete(name: str) -> None:
        for page in iot.get_paginator("list_targets_for_policy").paginate(policyName=name):
            for target_arn in page["targets"]:
                iot.detach_policy(policyName=name, target=target_arn)
        for version in iot.list_policy_versions(policyName=name)["policyVersions"]:
            if not version["isDefaultVersion"]:
                iot.delete_policy_version(policyName=name, policyVersionId=version["versionId"])
        iot.delete_policy(policyName=name)

    _each("policies", items, report, delete)


def _delete_ca_certificates(items: list[str], report: CleanupReport, _: dict) -> None:
    iot = client("iot")

    def delete(ca_id: str) -> None:
        iot.update_ca_certificate(certificateId=ca_id, newStatus="INACTIVE")
        iot.delete_ca_certificate(certificateId=ca_id)

    _each("ca_certificates", items, report, delete)


def _delete_role_aliases(items: list[str], report: CleanupReport, _: dict) -> None:
    _each("role_aliases", items, report, lambda a: client("iot").delete_role_alias(roleAlias=a))


def _delete_identity_pools(items: list[str], report: CleanupReport, _: dict) -> None:
    _each("identity_pools", items, report,
          lambda p: client("cognito-identity").delete_identity_pool(IdentityPoolId=p))


def _delete_roles(items: list[str], report: CleanupReport, _: dict) -> None:
    iam = client("iam")

    def delete(name: str) -> None:
        for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        iam.delete_role(RoleName=name)

    _each("roles", items, report, delete)


def _delete_topics(items: list[str], report: CleanupReport, _: dict) -> None:
    _each("topics", items, report, lambda arn: client("sns").delete_topic(TopicArn=arn))


def _delete_key_files(items: list[str], report: CleanupReport, _: dict) -> None:
    for folder in items:
        shutil.rmtree(folder, ignore_errors=True)
        report.deleted.setdefault("key_files", []).append(folder)


_DELETERS: dict[str, Callable[[list[str], CleanupReport, dict], None]] = {
    "mitigation_actions": _delete_mitigation_actions, "scheduled_audits": _delete_scheduled_audits,
    "audit_configuration": _restore_audit_configuration, "things": _delete_things,
    "certificates": _delete_certificates, "policies": _delete_policies, "ca_certificates": _delete_ca_certificates,
    "role_aliases": _delete_role_aliases, "identity_pools": _delete_identity_pools, "roles": _delete_roles,
    "topics": _delete_topics, "key_files": _delete_key_files,
}
