"""The workshop's public API for the Module 1 environment and larger fleets: build them, verify them, connect their
devices, undo the module's deactivation, compare an audit with the ground truth, clean everything up.

* :func:`build_workshop_environment` rebuilds what Module 1's CloudFormation stack made: things SensorDevice01/02
  sharing one certificate, the ``iot:*`` device policy, the audit role with the 14 original checks enabled, the SNS
  topic ``BadDevices`` and its role, logging left off. An audit then finds exactly three non-compliant checks.
* :func:`verify_workshop_environment` is a table of what Module 1 should have, what is there, and each gap's fix.
* :func:`connect_devices` runs SensorDevice01 and SensorDevice02 as real MQTT clients sharing their certificate, in
  both targets (in the sandbox it then moves the clock past the audit's 2-hour look-back gap).
* :func:`reactivate_certificate` makes the shared certificate ACTIVE again after Module 2's mitigation (Module 3
  needs it). Building again (the top of every notebook) also undoes what Module 2's mitigations changed on purpose,
  so that any notebook can be re-run after any other.
* :func:`build_fleet` seeds a fleet of any size with a known mix of problems for every audit check, and returns the
  findings an audit must report (the ground truth); :func:`compare_findings` checks an audit against it. Where the
  line between real and synthetic connections is: the Module 1 devices always connect for real; a fleet's
  thousands of sessions are recorded as synthetic history in the sandbox (see :func:`build_fleet`).
* :func:`cleanup` lists (dry run, the default), then deletes, everything the workshop created here.

The work is split by job: :mod:`helpers.fleet_base` (tags, names), :mod:`helpers.fleet_plan` (planning and
ground truth), :mod:`helpers.fleet_build` (creating a fleet), :mod:`helpers.cleanup` (discovery and deletion). Their
public names are re-exported here. In aws mode nothing changes without ``confirm=True``, and the error raised without
it lists what would change (:func:`helpers.safety.require_confirmation`).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from botocore.exceptions import ClientError

from . import certs, devices, fleet_build, roles, state, target
from .cleanup import CleanupReport, cleanup, cleanup_plan  # noqa: F401  (public API)
from .errors import WorkshopError, error_code
from .fleet_base import (AUDIT_POLICY_ARN, CONNECTION_LOOKBACK_GAP_HOURS, MODULE1_NON_COMPLIANT,  # noqa: F401
                         MODULE1_THINGS, MODULE1_TOPICS, PERMISSIVE_POLICY, ROLE_PATH, RUN_TAG, SNS_POLICY_ARN,
                         TAG_KEY, TAG_VALUE, TOPIC_NAME, account_id, advance_sandbox_clock, after_role_propagation,
                         create_policy, create_role, iot_tags, is_gone, is_sandbox, logging_enabled, target_now,
                         thing_attributes)
from .fleet_plan import (MIN_FLEET, PERMISSIVE_KINDS, POLICY_DOCUMENTS, CertPlan, DevicePlan, Fleet,  # noqa: F401
                         FleetPKI, FleetPlan, expected_findings, finding_key, fleet_sessions, issuer_identifier,
                         make_pki, plan_fleet, policy_name)
from .safety import require_confirmation
from .spec.checks import ORIGINAL_14

MAX_AWS_FLEET = 500
ERRATUM_TOPIC = "BadIoTDevices"  # what the original stack named the topic the module calls BadDevices
CONNECTION_LOOKBACK_DAYS = 31  # how far back an on-demand audit reads connections
LOOKBACK_MARGIN_SECONDS = 60  # the sandbox clock moves this far past the 2-hour gap
LOGGING_ROLE_PREFIX = "IoTLoggingRole-"  # the workshop's logging roles (ENABLE_IOT_LOGGING mitigations)


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
    reused: bool = field(default=False, compare=False)  # True when it already existed and nothing was changed

    @classmethod
    def from_run(cls, run: dict[str, Any]) -> "WorkshopEnvironment":
        """Return the environment recorded in a state entry."""
        fields = {k: v for k, v in run["environment"].items() if k != "reused"}
        for name in ("things", "expected_non_compliant"):
            fields[name] = tuple(fields[name])
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a dict (for the state file)."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items() if k != "reused"}

    def __str__(self) -> str:
        """Return one sentence saying what exists and whether this call built it."""
        what = "already existed; nothing was changed" if self.reused else "was built"
        return (f"The Module 1 environment (run {self.run_id}, {self.region}) {what}: things "
                f"{', '.join(self.things)} sharing certificate {self.certificate_id[:12]}…, "
                f"policy {self.policy_name}, "
                f"topic {self.sns_topic_arn.rsplit(':', 1)[-1]}, audit role {self.audit_role_arn.rsplit('/', 1)[-1]}.")


def _module1_changes(run_id: str) -> list[str]:
    """Return what building the Module 1 environment changes (the aws-mode preview)."""
    return [f"things {', '.join(MODULE1_THINGS)} (attribute SensorType=DHT22)",
            "one EC P-256 certificate made on this machine, registered ACTIVE and attached to both things "
            "(key saved 0600 under .workshop/keys/)",
            f"IoT policy DevicePolicy-{run_id} allowing iot:* on * (deliberately overly permissive), attached to it",
            f"IAM roles IoTAuditRole-{run_id} (AWSIoTDeviceDefenderAudit) and SNSTopicRole-{run_id} "
            "(AWSIoTDeviceDefenderPublishFindingsToSNSMitigationAction), trusted by iot.amazonaws.com for this "
            "account only",
            f"SNS topic {TOPIC_NAME} (the module's name; the original stack called it {ERRATUM_TOPIC})",
            "account audit configuration: audit role set, the 14 original checks enabled (the previous "
            "configuration is saved and given back by cleanup)",
            f"IoT logging turned off again if a workshop mitigation turned it on (role {LOGGING_ROLE_PREFIX}*)",
            "device connections: both devices connect over MQTT with the shared certificate (3 sessions of about "
            "1 s each); AWS's audits see them about 2 hours later"]


def _existing_module1() -> WorkshopEnvironment | None:
    """Return the Module 1 environment already built in this target/region when its things still exist."""
    iot, account = target.client("iot"), account_id()
    instance, told = target.sandbox_instance(), False
    for run in reversed(state.runs("module1")):
        if "environment" not in run or run.get("account") != account:
            continue
        if instance and run.get("sandbox_instance", instance) != instance:
            if not told:
                told = True
                print(f"The Module 1 environment recorded at {run.get('created', '?')[:19]} (run {run['run_id']}) was "
                      "built in a sandbox that has since restarted, so it is gone.")
            continue
        try:
            for thing in MODULE1_THINGS:
                iot.describe_thing(thingName=thing)
        except ClientError:
            continue  # e.g. the sandbox was reset: this record is stale
        env = WorkshopEnvironment.from_run(run)
        env.reused = True
        return env
    return None


def _check_names_free() -> None:
    """Return when SensorDevice01/02 do not exist yet; raise, naming the owner and the fix, when they do."""
    iot = target.client("iot")
    for thing in MODULE1_THINGS:
        try:
            attrs = iot.describe_thing(thingName=thing).get("attributes", {})
        except ClientError as exc:
            if is_gone(exc):
                continue
            raise
        owner = f"workshop run {attrs[RUN_TAG]}" if attrs.get(TAG_KEY) == TAG_VALUE else "something else"
        raise WorkshopError(f"A thing named {thing} already exists (made by {owner}).",
                            "Run helpers.fleet.cleanup(dry_run=False) to remove earlier workshop resources, or "
                            "delete that thing.")


def _topic_arn(name: str) -> str:
    """Return the ARN a topic named ``name`` has in this account and region."""
    partition = target.caller_identity()["arn"].split(":")[1] if not is_sandbox() else "aws"
    return f"arn:{partition}:sns:{target.get_region()}:{account_id()}:{name}"


def _existing_topic_owner(arn: str) -> str | None:
    """Return who made the topic ``arn`` ("workshop", "foreign"), or None when it does not exist."""
    sns = target.client("sns")
    try:
        sns.get_topic_attributes(TopicArn=arn)
    except ClientError as exc:
        if is_gone(exc):
            return None
        raise
    tags = {t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=arn).get("Tags", [])}
    return "workshop" if tags.get(TAG_KEY) == TAG_VALUE else "foreign"


def _check_topic_free() -> None:
    """Return when a BadDevices topic can be created or reused; in aws mode raise when someone else's exists."""
    if is_sandbox():
        return
    arn = _topic_arn(TOPIC_NAME)
    if _existing_topic_owner(arn) == "foreign":
        raise WorkshopError(f"An SNS topic named {TOPIC_NAME} already exists in this account and region ({arn}) and "
                            "the workshop did not create it; the workshop never changes or deletes it.",
                            f"Delete or rename that topic if it is a leftover of the original workshop, or run the "
                            "workshop in another region (AWS_DEFAULT_REGION).")


def _module1_topic(run_id: str) -> str:
    """Return the ARN of the BadDevices topic: created and tagged, or reused as is when it exists (the sandbox reuses
    a foreign one untouched and unrecorded, so cleanup leaves it)."""
    arn = _topic_arn(TOPIC_NAME)
    owner = _existing_topic_owner(arn)
    if owner is None:
        arn = target.client("sns").create_topic(Name=TOPIC_NAME, Tags=iot_tags(run_id))["TopicArn"]
    if owner != "foreign":
        state.add_resources(run_id, "topics", [arn])
    return arn


def _enable_original_checks(role_arn: str, run_id: str) -> None:
    """Save the current audit configuration in the run, then set the audit role and enable the 14 checks."""
    iot = target.client("iot")
    previous = iot.describe_account_audit_configuration()
    previous.pop("ResponseMetadata", None)
    state.update_run(run_id, previous_audit_configuration=previous if previous.get("roleArn") else None)
    after_role_propagation(lambda: iot.update_account_audit_configuration(
        roleArn=role_arn, auditCheckConfigurations={c: {"enabled": True} for c in ORIGINAL_14}))


def _logging_drift(iot: Any) -> list[tuple[str, Callable[[], Any]]]:
    """Return the undo of logging that a workshop mitigation turned on (Module 1 has it off), or nothing."""
    try:
        v2 = iot.get_v2_logging_options()
    except ClientError as exc:
        if error_code(exc) != "NotConfiguredException":
            raise
        return []
    role = str(v2.get("roleArn") or "").rsplit("/", 1)[-1]
    if v2.get("disableAllLogs") or v2.get("defaultLogLevel", "DISABLED") == "DISABLED" or \
            not role.startswith(LOGGING_ROLE_PREFIX):
        return []
    return [(f"IoT logging: {v2.get('defaultLogLevel')} -> off (a workshop ENABLE_IOT_LOGGING mitigation with role "
             f"{role} turned it on)",
             lambda: iot.set_v2_logging_options(defaultLogLevel="DISABLED", disableAllLogs=True))]


def _policy_drift(iot: Any, policy: str) -> list[tuple[str, Callable[[], Any]]]:
    """Return the undo of a REPLACE_DEFAULT_POLICY_VERSION mitigation on the Module 1 policy, or nothing."""
    try:
        current = iot.get_policy(policyName=policy)
    except ClientError as exc:
        if is_gone(exc):
            return []  # verify_workshop_environment reports it
        raise
    if json.loads(current["policyDocument"]) == PERMISSIVE_POLICY:
        return []
    versions = [v["versionId"] for v in iot.list_policy_versions(policyName=policy)["policyVersions"]]
    original = next((v for v in versions if v != current["defaultVersionId"] and json.loads(iot.get_policy_version(
        policyName=policy, policyVersionId=v)["policyDocument"]) == PERMISSIVE_POLICY), None)
    if original is None:
        return []  # not a mitigation's doing: verify_workshop_environment reports it

    def undo() -> None:
        iot.set_default_policy_version(policyName=policy, policyVersionId=original)
        for version in versions:  # the blank versions (a policy keeps at most 5)
            if version != original:
                iot.delete_policy_version(policyName=policy, policyVersionId=version)

    return [(f"policy {policy}: version {original} (iot:* on *) is the default again (a REPLACE_DEFAULT_POLICY_VERSION "
             f"mitigation made version {current['defaultVersionId']} the default; the later versions are deleted)",
             undo)]


def _module1_drift(env: WorkshopEnvironment) -> list[tuple[str, Callable[[], Any]]]:
    """Return what Module 2's mitigations changed on purpose in the Module 1 environment, each with its undo."""
    iot = target.client("iot")
    out: list[tuple[str, Callable[[], Any]]] = []
    try:
        status = iot.describe_certificate(certificateId=env.certificate_id)["certificateDescription"]["status"]
    except ClientError as exc:
        if not is_gone(exc):
            raise
        status = "gone"  # verify_workshop_environment reports it
    if status == "INACTIVE":
        out.append((f"certificate {env.certificate_id}: INACTIVE -> ACTIVE (an UPDATE_DEVICE_CERTIFICATE mitigation "
                    "deactivated it)",
                    lambda: iot.update_certificate(certificateId=env.certificate_id, newStatus="ACTIVE")))
    return out + _policy_drift(iot, env.policy_name) + _logging_drift(iot)


def _restore_module1(env: WorkshopEnvironment, *, confirm: bool, connect: bool) -> list[str]:
    """Undo what Module 2's mitigations changed in the Module 1 environment (in aws mode only with ``confirm``) and,
    with ``connect``, connect the devices when an audit would not see them; return what was done."""
    drift = _module1_drift(env)
    if drift:
        require_confirmation("Restoring the Module 1 environment", [what for what, _ in drift], confirm)
    for _, undo in drift:
        undo()
    done = [what for what, _ in drift]
    if connect and not devices_seen_by_audit(env):
        done.append(str(connect_devices(env, progress=None)))
    return done


def build_workshop_environment(*, confirm: bool = False, run_id: str | None = None, connect: bool = True,
                               rebuild: bool = False) -> WorkshopEnvironment:
    """Return the Module 1 environment, building it when this target/region has none (``rebuild`` deletes the
    existing one first). An existing one is given back its Module 1 state: what Module 2's mitigations changed on
    purpose (certificate deactivated, blank default policy version, logging on) is undone, so that an audit again
    finds the module's three problems (in aws mode only with ``confirm=True``).

    AWS operations: [CreateThing](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html),
    [RegisterCertificateWithoutCA](https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCertificateWithoutCA.html),
    [CreatePolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html),
    [AttachPolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_AttachPolicy.html),
    [AttachThingPrincipal](https://docs.aws.amazon.com/iot/latest/apireference/API_AttachThingPrincipal.html),
    [CreateRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
    [CreateTopic](https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html),
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    if not rebuild:
        existing = _existing_module1()
        if existing is not None:
            restored = _restore_module1(existing, confirm=confirm, connect=connect)
            said = str(existing)  # idempotent: say what is already there, and what was given back
            if restored:
                said = said.replace("nothing was changed", "its Module 1 state was given back") + "".join(
                    f"\n  - {what}" for what in restored)
            print(said)
            return existing
    run_id = run_id or state.new_run_id()
    changes = _module1_changes(run_id)
    if rebuild:
        old = cleanup_plan(kind="module1")
        if old.items:
            changes.insert(0, "first delete the earlier Module 1 environment: " + "; ".join(old.summary()))
    require_confirmation("Building the Module 1 environment", changes, confirm)
    if rebuild:
        cleanup(kind="module1", dry_run=False, confirm=True)
    _check_names_free()
    _check_topic_free()
    account = account_id()
    state.start_run("module1", run_id, account)
    env = _create_module1(run_id, account)
    state.update_run(run_id, environment=env.to_dict())
    _restore_module1(env, confirm=True, connect=False)  # logging an earlier run's mitigation turned on
    if connect:
        connect_devices(env)
    return env


def _create_module1(run_id: str, account: str) -> WorkshopEnvironment:
    """Return the environment of run ``run_id`` after creating every Module 1 resource."""
    iot, region = target.client("iot"), target.get_region()
    for thing in MODULE1_THINGS:
        iot.create_thing(thingName=thing, attributePayload={"attributes": thing_attributes(run_id, SensorType="DHT22")})
        state.add_resources(run_id, "things", [thing])
    device = certs.issue("SensorDevices (shared)", days=365)
    folder = state.keys_dir(run_id)
    key_file = certs.write_private_key(folder / "SensorDevices.private.key", device.key)  # type: ignore[arg-type]
    cert_file = certs.write_text(folder / "SensorDevices.cert.pem", device.pem)
    cert = iot.register_certificate_without_ca(certificatePem=device.pem, status="ACTIVE")
    state.add_resources(run_id, "certificates", [cert["certificateId"]])
    policy = create_policy(f"DevicePolicy-{run_id}", PERMISSIVE_POLICY, run_id)
    iot.attach_policy(policyName=policy, target=cert["certificateArn"])
    for thing in MODULE1_THINGS:
        iot.attach_thing_principal(thingName=thing, principal=cert["certificateArn"])
    audit_role = create_role(f"IoTAuditRole-{run_id}", "iot.amazonaws.com", run_id, managed=AUDIT_POLICY_ARN,
                             account=account)
    sns_role = create_role(f"SNSTopicRole-{run_id}", "iot.amazonaws.com", run_id, managed=SNS_POLICY_ARN,
                           account=account)
    topic = _module1_topic(run_id)
    _enable_original_checks(audit_role, run_id)
    return WorkshopEnvironment(run_id, account, region, MODULE1_THINGS, cert["certificateId"], cert["certificateArn"],
                               policy, audit_role, sns_role, topic, str(cert_file), str(key_file))


def _environment(env: WorkshopEnvironment | None) -> WorkshopEnvironment:
    """Return ``env``, or the recorded Module 1 environment of this target and region."""
    env = env or _existing_module1()
    if env is None:
        raise WorkshopError("No Module 1 environment is recorded for this target and region.",
                            "Run helpers.fleet.build_workshop_environment() first.")
    return env


@dataclass(frozen=True, repr=False)
class DevicesConnected:
    """What :func:`connect_devices` did: the MQTT sessions the devices ran, when an audit sees them, and how far the
    sandbox clock moved to get there (0 in a real account, whose audits see them about 2 hours later)."""

    sessions: tuple[devices.Session, ...]
    visible_to_audit_from: datetime
    clock_advanced_seconds: float = 0.0

    def __repr__(self) -> str:
        """Return what happened in one sentence."""
        clients = sorted({s.client_id for s in self.sessions})
        said = (f"{' and '.join(clients)} connected over MQTT with the shared certificate: {len(self.sessions)} "
                f"sessions, at the same time in each round.")
        when = self.visible_to_audit_from.isoformat(timespec="seconds")
        if self.clock_advanced_seconds:
            return (f"{said} The sandbox clock moved {self.clock_advanced_seconds / 3600:.2f} h forward (to {when}), "
                    "past the 2 hours an audit ignores, so an audit started now sees these sessions.")
        return f"{said} An audit started from {when} on (about 2 hours from now) sees them."

    __str__ = __repr__


def devices_seen_by_audit(env: WorkshopEnvironment) -> bool:
    """Return True when an on-demand audit started now sees both devices use the shared certificate: in the sandbox,
    read from its connection history (sessions 2 hours to 31 days old); in a real account, which has no such API,
    from this machine's record that the devices connected in the last 31 days (AWS shows them 2 hours later)."""
    if is_sandbox():
        now = target_now()
        start, end = now - CONNECTION_LOOKBACK_DAYS * 86400, now - CONNECTION_LOOKBACK_GAP_HOURS * 3600
        seen = {e["clientId"] for e in target.sandbox_control("GET", "/_sandbox/iot/connections")["events"]
                if e["certificateId"] == env.certificate_id and e["connectedAt"] <= end
                and (e["disconnectedAt"] or now) >= start}
        return seen >= set(env.things)
    run = next((r for r in state.runs("module1") if r["run_id"] == env.run_id), {})
    return run.get("devices_connected_at", 0.0) >= time.time() - CONNECTION_LOOKBACK_DAYS * 86400


def connect_devices(env: WorkshopEnvironment, *, sessions: int = 3, hold_seconds: float = 1.0,
                    interval: float = 0.5, ca_file: Path | None = None,
                    progress: Callable[[str], None] | None = print) -> DevicesConnected:
    """Return the sessions of SensorDevice01 and SensorDevice02 after they connected as real MQTT clients sharing one
    certificate: ``sessions`` rounds, both devices connected at once for ``hold_seconds``, each publishing a reading.

    The same in both targets: the devices connect to DescribeEndpoint's ``iot:Data-ATS`` broker (AWS IoT Core, or
    the sandbox's), and the sessions land in the connection history Device Defender's audits read. Audits ignore the
    last 2 hours of connections, as in AWS: in the sandbox the clock is then moved past that gap (a sandbox-only
    control), in a real account the result says from when an audit sees them.

    Safe to run again: the rounds run one after another, and in the sandbox a device of the same client id still
    connected (e.g. held by notebook 04) is waited for and, if it stays, named in an error, because connecting again
    would knock it off, which an audit reports as CONFLICTING_CLIENT_IDS_CHECK.

    AWS operation: [DescribeEndpoint](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeEndpoint.html).
    """
    if is_sandbox():
        still = devices.wait_until_offline(env.things)
        if still:
            raise WorkshopError(f"{', '.join(sorted(still))} {'is' if len(still) == 1 else 'are'} connected to the "
                                "broker now (held open by another notebook or script); connecting the same client id "
                                "again would knock it off, and an audit would then report CONFLICTING_CLIENT_IDS_CHECK.",
                                "Release it first (helpers.device_watch.release() in the notebook holding it, or "
                                "restart that notebook's kernel), then run this again.")
    broker = devices.data_broker()
    identities = [devices.DeviceIdentity(thing, Path(env.cert_file), Path(env.key_file), thing, env.certificate_id)
                  for thing in env.things]
    ran = devices.run_devices(identities, broker.host, lambda ident: MODULE1_TOPICS.get(ident.client_id, "temperature"),
                              port=broker.port, ca_file=ca_file or broker.ca_file, sessions=sessions,
                              interval=interval, hold_seconds=hold_seconds, progress=progress)
    state.update_run(env.run_id, devices_connected_at=target_now())
    gap = CONNECTION_LOOKBACK_GAP_HOURS * 3600
    if is_sandbox():
        # an account shows connection findings about 2 hours after the connections: the sandbox fast-forwards
        now = advance_sandbox_clock(gap + LOOKBACK_MARGIN_SECONDS)
        return DevicesConnected(tuple(ran), datetime.fromtimestamp(now, timezone.utc), gap + LOOKBACK_MARGIN_SECONDS)
    last = max(s.disconnected_at for s in ran)
    return DevicesConnected(tuple(ran), datetime.fromtimestamp(last + gap + LOOKBACK_MARGIN_SECONDS, timezone.utc))


# -- verify ---------------------------------------------------------------------------------------------------------
def _trusted_by_iot_for(role_name: str, account: str, region: str | None = None) -> str:
    """Return how the role's trust policy reads: "iot.amazonaws.com, this account only" when it is as expected
    (:func:`helpers.roles.trust_problems` finds nothing), otherwise what is wrong with it."""
    role = target.client("iam").get_role(RoleName=role_name)["Role"]
    partition = role["Arn"].split(":")[1] if role["Arn"].count(":") >= 2 else "aws"
    problems = roles.trust_problems(role["AssumeRolePolicyDocument"], account, region, partition)
    return "; ".join(problems) if problems else f"{roles.IOT_SERVICE}, this account only"


def _attached_managed(role_name: str) -> list[str]:
    """Return the ARNs of the managed policies attached to a role (every page)."""
    iam = target.client("iam")
    pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
    return sorted(p["PolicyArn"] for page in pages for p in page["AttachedPolicies"])


def verify_workshop_environment(env: WorkshopEnvironment | None = None) -> pd.DataFrame:
    """Return one row per thing Module 1 should have: item, expected, actual, ok (✓/✗) and the fix for each gap.

    AWS operations:
    [ListThingPrincipals](https://docs.aws.amazon.com/iot/latest/apireference/API_ListThingPrincipals.html),
    [DescribeThing](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeThing.html),
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html),
    [ListAttachedPolicies](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAttachedPolicies.html),
    [GetPolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_GetPolicy.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html),
    [GetTopicAttributes](https://docs.aws.amazon.com/sns/latest/api/API_GetTopicAttributes.html),
    and those of the helpers it uses.
    """
    env = _environment(env)
    iot, rows = target.client("iot"), []
    rebuild = "helpers.fleet.build_workshop_environment(rebuild=True" + ("" if is_sandbox() else ", confirm=True") + ")"

    def row(item: str, expected: str, actual: Callable[[], str], fix: str) -> None:
        try:
            value = actual()
        except ClientError as exc:
            value = "missing" if is_gone(exc) else f"error: {error_code(exc)}"
        ok = value == expected
        rows.append({"item": item, "expected": expected, "actual": value, "ok": "✓" if ok else "✗",
                     "fix": "" if ok else fix})

    def principals(thing: str) -> list[str]:
        return [p for page in iot.get_paginator("list_thing_principals").paginate(thingName=thing)
                for p in page["principals"]]

    for thing in env.things:
        row(f"thing {thing}", "exists, SensorType=DHT22",
            lambda t=thing: "exists, SensorType=" + str(iot.describe_thing(thingName=t).get("attributes", {})
                                                        .get("SensorType")), rebuild)
        row(f"{thing} uses the shared certificate", "attached",
            lambda t=thing: "attached" if env.certificate_arn in principals(t) else "not attached",
            f"client('iot').attach_thing_principal(thingName={thing!r}, principal={env.certificate_arn!r})")
    confirm = "" if is_sandbox() else "confirm=True"
    row("shared certificate status", "ACTIVE",
        lambda: iot.describe_certificate(certificateId=env.certificate_id)["certificateDescription"]["status"],
        f"helpers.fleet.reactivate_certificate({confirm}) (Module 2's mitigation deactivates it; Module 3 needs it "
        "ACTIVE)")
    row(f"policy {env.policy_name} attached to the certificate", "attached",
        lambda: "attached" if env.policy_name in [
            p["policyName"] for page in iot.get_paginator("list_attached_policies").paginate(target=env.certificate_arn)
            for p in page["policies"]] else "not attached",
        f"client('iot').attach_policy(policyName={env.policy_name!r}, target={env.certificate_arn!r})")
    row(f"policy {env.policy_name} document", "Allow iot:* on *",
        lambda: "Allow iot:* on *" if json.loads(iot.get_policy(policyName=env.policy_name)["policyDocument"])
        == PERMISSIVE_POLICY else "changed (a new default version?)",
        f"{rebuild}; Module 2's REPLACE_DEFAULT_POLICY_VERSION mitigation changes it on purpose")
    config = iot.describe_account_audit_configuration()
    configure = f"helpers.settings.configure_audit(role_arn={env.audit_role_arn!r}, daily_audit=False)"
    row("audit role", env.audit_role_arn, lambda: config.get("roleArn") or "none", configure)
    row("the 14 original checks enabled", "14 of 14",
        lambda: f"{sum(1 for c in ORIGINAL_14 if config['auditCheckConfigurations'].get(c, {}).get('enabled'))} of 14",
        configure)
    for arn, managed in ((env.audit_role_arn, AUDIT_POLICY_ARN), (env.sns_role_arn, SNS_POLICY_ARN)):
        name = arn.rsplit("/", 1)[-1]
        row(f"role {name} trust", "iot.amazonaws.com, this account only",
            lambda n=name: _trusted_by_iot_for(n, env.account, env.region), rebuild)
        row(f"role {name} policy", managed.rsplit("/", 1)[-1],
            lambda n=name: ", ".join(a.rsplit("/", 1)[-1] for a in _attached_managed(n)) or "none",
            f"client('iam').attach_role_policy(RoleName={name!r}, PolicyArn={managed!r})")
    row(f"SNS topic {env.sns_topic_arn.rsplit(':', 1)[-1]}", "exists",
        lambda: "exists" if target.client("sns").get_topic_attributes(TopicArn=env.sns_topic_arn) else "missing",
        rebuild)
    row("IoT logging", "disabled", lambda: "enabled" if logging_enabled() else "disabled",
        "client('iot').set_v2_logging_options(defaultLogLevel='DISABLED', disableAllLogs=True) (Module 2 starts "
        "with logging off; its ENABLE_IOT_LOGGING mitigation turns it on)")
    if is_sandbox():
        def clients() -> str:
            events = target.sandbox_control("GET", "/_sandbox/iot/connections")["events"]
            seen = sorted({e["clientId"] for e in events if e["certificateId"] == env.certificate_id})
            return ", ".join(seen) or "none"
        row("connections with the shared certificate", ", ".join(sorted(env.things)), clients,
            "helpers.fleet.connect_devices(env)")
    return pd.DataFrame(rows, columns=["item", "expected", "actual", "ok", "fix"])


# -- reactivate -----------------------------------------------------------------------------------------------------
def _workshop_certificate(certificate_id: str) -> bool:
    """Return True when a recorded run of this account created the certificate."""
    account = account_id()
    return any(certificate_id in r.get("resources", {}).get("certificates", [])
               for r in state.runs() if r.get("account") == account)


def reactivate_certificate(env: WorkshopEnvironment | None = None, *, certificate_id: str | None = None,
                           confirm: bool = False) -> str:
    """Return what was done after making the workshop's certificate ACTIVE again (undoing Module 2's DEACTIVATE
    mitigation; Module 3 needs it active). Already ACTIVE: nothing changes.

    AWS operations:
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html),
    [UpdateCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateCertificate.html),
    [DescribeThing](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeThing.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    if certificate_id is None:
        certificate_id = _environment(env).certificate_id
    if not _workshop_certificate(certificate_id):
        raise WorkshopError(f"Certificate {certificate_id} was not created by the workshop in this account and "
                            "region (it is not in the local state); the workshop only reactivates its own.",
                            "Pass the id of the workshop's certificate (helpers.fleet.build_workshop_environment()"
                            ".certificate_id), or reactivate yours with client('iot').update_certificate(...).")
    iot = target.client("iot")
    try:
        status = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"]
    except ClientError as exc:
        if is_gone(exc):
            raise WorkshopError(f"Certificate {certificate_id} no longer exists in this account and region.",
                                "Rebuild the environment: helpers.fleet.build_workshop_environment(rebuild=True).") \
                from None
        raise
    if status == "ACTIVE":
        return f"Certificate {certificate_id} is already ACTIVE; nothing changed."
    if status != "INACTIVE":
        raise WorkshopError(f"Certificate {certificate_id} is {status}; only an INACTIVE certificate can be made "
                            "ACTIVE again (a REVOKED one never can).",
                            "Rebuild the environment with a new certificate: "
                            "helpers.fleet.build_workshop_environment(rebuild=True).")
    require_confirmation("Reactivating the workshop's certificate",
                         [f"certificate {certificate_id}: INACTIVE -> ACTIVE (devices using it can connect again)"],
                         confirm)
    iot.update_certificate(certificateId=certificate_id, newStatus="ACTIVE")
    return f"Certificate {certificate_id} was INACTIVE and is ACTIVE again; the devices sharing it can connect."


# -- larger fleets ---------------------------------------------------------------------------------------------------
def build_fleet(devices: int = 100, seed: int = 0, *, confirm: bool = False, run_id: str | None = None,
                connect: bool = True, max_aws_devices: int = MAX_AWS_FLEET) -> Fleet:
    """Return a new fleet of ``devices`` devices with a seeded mix of problems for every audit check, and the
    findings (per check) an audit of it must report. In aws mode more than ``max_aws_devices`` is refused.

    Connections (``connect``): in the sandbox the fleet's sessions are recorded as synthetic history (backdated past
    the 2-hour gap, ``POST /_sandbox/iot/connections``), not run over MQTT. That is the line: the two Module 1 devices
    always connect for real (:func:`connect_devices`), because attendees watch them; a fleet of thousands would need
    thousands of TLS handshakes and hours of sessions to give its connection checks the history of devices that
    connect every few seconds, and a seeded history is the ground truth the audit is compared with. In aws mode the
    shared-certificate groups and the conflicting pairs connect over real MQTT (a few dozen sessions).

    AWS operations: [CreateThing](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html),
    [RegisterCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCertificate.html),
    [RegisterCACertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCACertificate.html),
    [CreatePolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html),
    [AttachPolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_AttachPolicy.html),
    [AttachThingPrincipal](https://docs.aws.amazon.com/iot/latest/apireference/API_AttachThingPrincipal.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    run_id = run_id or state.new_run_id()
    if not is_sandbox() and devices > max_aws_devices:
        raise WorkshopError(f"{devices} devices is more than this workshop creates in a real account by default "
                            f"({max_aws_devices}); each one is about 4 API calls and a month of audit cost.",
                            f"Use the sandbox for large fleets, or ask for at most {max_aws_devices} devices, or allow "
                            f"more explicitly: build_fleet({devices}, max_aws_devices={devices}, confirm=True).")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    plan = plan_fleet(devices, seed, run_id)
    require_confirmation(f"Building a fleet of {devices} devices", [
        f"{devices} things named fleet-{run_id}-NNNNN with {len(plan.certs)} certificates (some deliberately weak, "
        "old, expiring, revoked or shared)", "4 CA certificates", f"{len(POLICY_DOCUMENTS)} IoT policies (some overly "
        "permissive)", "4 role aliases, 2 Cognito identity pools and their IAM roles",
        *(["real MQTT connections of the shared-certificate and conflicting-client devices"] if connect else []),
        f"cost: Device Defender audits are billed per device per month ({devices} more devices)"], confirm)
    pki = make_pki(plan)
    timings["certificates"] = time.perf_counter() - t0
    account = account_id()
    state.start_run("fleet", run_id, account, seed=seed, devices=devices)
    built = Fleet(run_id, seed, plan, {}, {}, {}, {})
    t = time.perf_counter()
    fleet_build.create_cas(built, pki)
    fleet_build.create_policies(built, account)
    timings["cas_and_policies"] = time.perf_counter() - t
    t = time.perf_counter()
    registration_dated = fleet_build.register_devices(built, pki)
    state.update_run(run_id, certificate_ids=built.certificate_ids)
    timings["devices"] = time.perf_counter() - t
    t = time.perf_counter()
    crl_published = fleet_build.publish_crl(built, pki)
    identities = fleet_build.create_identities(built)
    connected = fleet_build.connect_fleet(built, pki) if connect else False
    timings["history"] = time.perf_counter() - t
    built.expected_findings = expected_findings(built, pki, account, crl_published=crl_published,
                                                connections=connected, logging_on=logging_enabled(),
                                                registration_dated=registration_dated, **identities)
    timings["total"] = time.perf_counter() - t0
    built.timings = timings
    return built


# -- comparing an audit with the ground truth ------------------------------------------------------------------------
def audit_findings_by_check(task_id: str) -> dict[str, set[str]]:
    """Return the finding keys (:func:`finding_key`) of an audit task, per check.

    AWS operation:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    out: dict[str, set[str]] = {}
    for page in target.client("iot").get_paginator("list_audit_findings").paginate(taskId=task_id):
        for f in page["findings"]:
            out.setdefault(f["checkName"], set()).add(finding_key(f["nonCompliantResource"]["resourceIdentifier"]))
    return out


def compare_findings(expected: dict[str, list[dict[str, Any]]], task_id: str) -> dict[str, dict[str, list[str]]]:
    """Return the checks whose audit findings differ from ``expected``: check -> {"missing": [...], "unexpected":
    [...]} (empty when the audit matches exactly).

    AWS operation:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    actual = audit_findings_by_check(task_id)
    out = {}
    for check in sorted(set(expected) | set(actual)):
        want = {finding_key(i) for i in expected.get(check, [])}
        got = actual.get(check, set())
        if want != got:
            out[check] = {"missing": sorted(want - got), "unexpected": sorted(got - want)}
    return out
