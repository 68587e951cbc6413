"""Malformed input, table-driven, across three layers: the sandbox's AWS API (raw SigV4-signed HTTP, so broken JSON
and wrong types reach the server), its ``/_sandbox/`` controls, and the helpers. Every refusal is a 4xx with a JSON
body naming the problem (or a WorkshopError with a fix), the server keeps answering, and a refused request changes
no state. Unusual but valid policy shapes are accepted and audited as the reference's rules say."""
from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import Message
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from helpers import audits, findings, mitigation, settings, target
from helpers.errors import WorkshopError
from helpers.sandbox import SandboxServer
from tests.builders import ACCOUNT, PERMISSIVE, make_cert_pem, make_role

POLICY_CHECK = "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"
LOGGING_CHECK = "LOGGING_DISABLED_CHECK"
ARN = f"arn:aws:iot:us-east-1:{ACCOUNT}:"
THING_VAR = "${iot:Connection.Thing.ThingName}"
ATTACHED = {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
UNKNOWN_ID = "0" * 32
MAPPING = {POLICY_CHECK: ["ResetPolicy"]}


# -- plumbing --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Seed:
    """What the seeded sandbox holds, for rows that refer to existing resources (names usable in path templates)."""

    role_arn: str
    audit_task_id: str
    finding_id: str
    certificate_id: str
    mitigation_task_id: str = "SeedTask"
    action_name: str = "ResetPolicy"
    scheduled_audit: str = "WeeklyAudit"
    policy_name: str = "Permissive"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, headers and the decoded JSON body (None when the body is not JSON)."""

    status: int
    headers: Message
    body: Any
    text: str


def _send(request: urllib.request.Request) -> Answer:
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, headers, text = resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as exc:
        status, headers, text = exc.code, exc.headers, exc.read().decode()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    return Answer(status, headers, body, text)


def _encode(body: Any) -> bytes | None:
    """Return ``body`` as bytes: str and bytes verbatim (so broken JSON stays broken), anything else as JSON."""
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def api(endpoint: str, method: str, path: str, body: Any = None, region: str = "us-east-1") -> Answer:
    """Send a SigV4-signed IoT API request (test credentials) and return the answer."""
    data = _encode(body) or b""
    url = endpoint + path
    signed = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
    SigV4Auth(Credentials("testing", "testing"), "iot", region).add_auth(signed)
    return _send(urllib.request.Request(url, data=data or None, method=method, headers=dict(signed.headers.items())))


def control(endpoint: str, method: str, path: str, body: Any = None, query: str = "region=us-east-1") -> Answer:
    """Call a ``/_sandbox/`` control and return the answer."""
    url = f"{endpoint}{path}" + (f"?{query}" if query else "")
    return _send(urllib.request.Request(url, data=_encode(body), method=method))


def healthy(endpoint: str) -> bool:
    """Return True when the sandbox still answers its health control."""
    return control(endpoint, "GET", "/_sandbox/health", query="").status == 200


def listed_state(sb: SimpleNamespace) -> dict[str, Any]:
    """Return the state as the API and the controls list it (about 20 requests: used at seeding and at the end)."""
    iot = sb.iot
    now = datetime.now(timezone.utc)
    window = {"startTime": now - timedelta(days=1), "endTime": now + timedelta(days=1)}

    def clean(resp: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in resp.items() if k != "ResponseMetadata"}

    return {
        "things": sorted((t["thingName"], json.dumps(t.get("attributes", {}), sort_keys=True))
                         for t in iot.list_things()["things"]),
        "certificates": sorted((c["certificateId"], c["status"]) for c in iot.list_certificates()["certificates"]),
        "ca certificates": sorted((c["certificateId"], c["status"])
                                  for c in iot.list_ca_certificates()["certificates"]),
        "policies": {p["policyName"]: [(v["versionId"], v["isDefaultVersion"]) for v in
                                       iot.list_policy_versions(policyName=p["policyName"])["policyVersions"]]
                     for p in iot.list_policies()["policies"]},
        "thing groups": sorted(g["groupName"] for g in iot.list_thing_groups()["thingGroups"]),
        "audit configuration": clean(iot.describe_account_audit_configuration()),
        "audit tasks": sorted((t["taskId"], t["taskStatus"]) for t in iot.list_audit_tasks(**window)["tasks"]),
        "scheduled audits": [clean(iot.describe_scheduled_audit(scheduledAuditName=a["scheduledAuditName"]))
                             for a in iot.list_scheduled_audits()["scheduledAudits"]],
        "suppressions": iot.list_audit_suppressions()["suppressions"],
        "mitigation actions": [clean(iot.describe_mitigation_action(actionName=a["actionName"]))
                               for a in iot.list_mitigation_actions()["actionIdentifiers"]],
        "mitigation tasks": sorted((t["taskId"], t["taskStatus"])
                                   for t in iot.list_audit_mitigation_actions_tasks(**window)["tasks"]),
        **control_state(sb.endpoint),
    }


def control_state(endpoint: str) -> dict[str, Any]:
    """Return what the controls report: sandbox settings, connections, CRLs and the clock offset."""
    return {
        "sandbox settings": control(endpoint, "POST", "/_sandbox/config", {}).body,  # {} reports, changes nothing
        "connections": control(endpoint, "GET", "/_sandbox/iot/connections").body,
        "crls": control(endpoint, "GET", "/_sandbox/iot/crls").body,
        "clock offset": control(endpoint, "GET", "/_sandbox/clock").body["offsetSeconds"],
    }


def fingerprint(sb: SimpleNamespace) -> dict[str, Any]:
    """Return everything a refused request must leave unchanged: the IoT, Device Defender, IAM and SNS state read
    where it lives (the sandbox serves from this process; ~20 API calls per table row would cost 0.1 s each), and
    what the controls report."""
    from moto.cognitoidentity.models import cognitoidentity_backends
    from moto.iam.models import iam_backends
    from moto.iot.models import iot_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    from helpers.sandbox.models import devicedefender_backends

    iot, dd = iot_backends[ACCOUNT][sb.region], devicedefender_backends[ACCOUNT][sb.region]
    return {
        "things": sorted((t.thing_name, getattr(t.thing_type, "thing_type_name", None),
                          json.dumps(t.attributes, sort_keys=True), t.version) for t in iot.things.values()),
        "certificates": sorted((c.certificate_id, c.status) for c in iot.certificates.values()),
        "ca certificates": sorted((c.certificate_id, c.status) for c in iot.ca_certificates.values()),
        "policies": {name: (p.default_version_id, sorted((v.version_id, v.is_default, v.document) for v in p.versions))
                     for name, p in iot.policies.items()},
        "thing groups": sorted((g.thing_group_name, sorted(g.things)) for g in iot.thing_groups.values()),
        "attachments": sorted(map(str, [*iot.principal_policies, *iot.principal_things])),
        "other iot": sorted(map(str, [*iot.thing_types, *iot.role_aliases, *iot.billing_groups, *iot.jobs])),
        "audit configuration": dd.describe_account_audit_configuration(),
        "audit tasks": sorted((t.task_id, t.status) for t in dd.audit_tasks.values()),
        "findings": sorted(dd.findings),
        "scheduled audits": {name: a.describe() for name, a in dd.scheduled_audits.items()},
        "suppressions": sorted(map(str, dd.suppressions.values())),
        "mitigation actions": {name: a.describe() for name, a in dd.mitigation_actions.items()},
        "mitigation tasks": sorted((t.task_id, t.status) for t in dd.mitigation_tasks.values()),
        "logging": (dd.logging_v1, dd.logging_v2, sorted(map(str, dd.logging_levels.items()))),
        "tags": dict(dd.tags),
        "usage": (sorted(map(str, dd.pool_activity.items())), sorted(map(str, dd.role_alias_usage.items()))),
        "notifications": len(dd.notifications),
        "iam roles": sorted(iam_backends[ACCOUNT]["global"].roles),
        "iam policies": sorted(iam_backends[ACCOUNT]["global"].managed_policies),
        "sns topics": sorted(sns_backends[ACCOUNT][sb.region].topics),
        "sqs queues": sorted(sqs_backends[ACCOUNT][sb.region].queues),
        "identity pools": sorted(cognitoidentity_backends[ACCOUNT][sb.region].identity_pools),
        **control_state(sb.endpoint),
    }


def _ca_and_crl(name: str = "Bad Input CA") -> tuple[str, str]:
    """Return (CA certificate PEM, PEM CRL it signed revoking serial 7) of a fresh EC CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    ca = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
          .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=365))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(key, hashes.SHA256()))
    crl = (x509.CertificateRevocationListBuilder().issuer_name(subject).last_update(now)
           .next_update(now + timedelta(days=7))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(7).revocation_date(now).build())
           .sign(key, hashes.SHA256()))
    return ca.public_bytes(Encoding.PEM).decode(), crl.public_bytes(Encoding.PEM).decode()


def seed_sandbox(sb: SimpleNamespace) -> Seed:
    """Fill a fresh sandbox with one of everything a malformed request could damage; return what was made."""
    iot, endpoint = sb.iot, sb.endpoint
    assert control(endpoint, "POST", "/_sandbox/config", {"synchronousAudits": True}).status == 200
    role = make_role(sb.client("iam"), "AuditRole")
    iot.create_policy(policyName="Permissive", policyDocument=PERMISSIVE)
    ca_pem, crl = _ca_and_crl()
    iot.register_ca_certificate(caCertificate=ca_pem, setAsActive=True)
    assert control(endpoint, "POST", "/_sandbox/iot/crls", {"crl": crl}).status == 200
    cert = iot.register_certificate_without_ca(certificatePem=make_cert_pem("sensor")[0], status="ACTIVE")
    iot.create_thing(thingName="Sensor01", attributePayload={"attributes": {"room": "lab"}})
    iot.attach_thing_principal(thingName="Sensor01", principal=cert["certificateArn"])
    iot.create_thing_group(thingGroupName="Quarantine")
    event = {"clientId": "Sensor01", "certificateId": cert["certificateId"], "connectedAt": time.time() - 60,
             "disconnectedAt": None, "sourceIp": "192.0.2.1"}
    assert control(endpoint, "POST", "/_sandbox/iot/connections", {"events": [event]}).status == 200
    checks = [POLICY_CHECK, LOGGING_CHECK]
    iot.update_account_audit_configuration(roleArn=role,
                                           auditCheckConfigurations={c: {"enabled": True} for c in checks})
    task_id = iot.start_on_demand_audit_task(targetCheckNames=checks)["taskId"]  # synchronous: done on return
    finding = next(f["findingId"] for f in iot.list_audit_findings(taskId=task_id)["findings"]
                   if f["checkName"] == POLICY_CHECK)
    iot.create_mitigation_action(actionName="ResetPolicy", roleArn=role,
                                 actionParams={"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}})
    iot.start_audit_mitigation_actions_task(taskId="SeedTask", target={"findingIds": [finding]},
                                            auditCheckToActionsMapping=MAPPING, clientRequestToken="seed-token")
    iot.create_scheduled_audit(scheduledAuditName="WeeklyAudit", frequency="WEEKLY", dayOfWeek="MON",
                               targetCheckNames=[LOGGING_CHECK])
    iot.create_audit_suppression(checkName=LOGGING_CHECK, resourceIdentifier={"account": ACCOUNT},
                                 suppressIndefinitely=True, clientRequestToken="seed-suppression")
    return Seed(role_arn=role, audit_task_id=task_id, finding_id=finding, certificate_id=cert["certificateId"])


@dataclass
class World:
    """The seeded sandbox shared by the table rows: refused requests change nothing, so one seeding serves them all
    (it is redone when a row did change something, or when another test reset the sandbox)."""

    sb: SimpleNamespace
    seed: Seed = field(init=False)
    state: dict[str, Any] = field(init=False)  # fingerprint() of the seeded sandbox
    listed: dict[str, Any] = field(init=False)  # listed_state() of the seeded sandbox
    dirty: bool = False

    def __post_init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """Reset the sandbox and seed it again."""
        _reset(self.sb.endpoint)
        self.seed = seed_sandbox(self.sb)
        self.state, self.listed, self.dirty = fingerprint(self.sb), listed_state(self.sb), False

    def still_seeded(self) -> bool:
        """Return True when the sandbox still holds this world's seed."""
        try:
            self.sb.iot.describe_audit_task(taskId=self.seed.audit_task_id)
        except self.sb.iot.exceptions.ResourceNotFoundException:
            return False
        return not self.dirty

    def assert_unchanged(self) -> None:
        """Fail (and mark the world for re-seeding) when the state differs from the seeded one."""
        now = fingerprint(self.sb)
        self.dirty = now != self.state
        assert now == self.state, "a refused request changed the state"


def _reset(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")).close()


@pytest.fixture(scope="module")
def world(sandbox_server: SandboxServer) -> Iterator[World]:
    """The module's seeded sandbox, with helpers.target pointing at it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKSHOP_TARGET", "sandbox")
        mp.setenv("AWS_ENDPOINT_URL", sandbox_server.endpoint)
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        target.clear_client_cache()
        sb = SimpleNamespace(endpoint=sandbox_server.endpoint, iot=target.client("iot"), client=target.client,
                             region="us-east-1")
        yield World(sb)
    target.clear_client_cache()


@pytest.fixture
def seeded(world: World) -> World:
    """The seeded world, seeded again first if a previous test changed or reset it."""
    if not world.still_seeded():
        world.reseed()
    return world


# -- layer 1: the sandbox's AWS API ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _iot_model() -> Any:
    return botocore.session.get_session().get_service_model("iot")


Body = Any  # a JSON-able value, a str sent verbatim, or a callable of the Seed returning either


@dataclass(frozen=True)
class ApiCase:
    """A malformed call of ``operation``: the error code AWS documents for it and a substring of the message."""

    operation: str
    body: Body
    code: str
    needle: str
    params: dict[str, str] = field(default_factory=dict)  # URI parameters; ``{seed_field}`` templates allowed
    region: str = "us-east-1"

    def request(self, seed: Seed) -> tuple[str, str, Any]:
        """Return (method, path, body) of the request, the URI built from the botocore model."""
        http = _iot_model().operation_model(self.operation).http
        path = http["requestUri"].split("?")[0]
        for name, value in self.params.items():
            path = path.replace("{" + name + "}", urllib.parse.quote(value.format(**asdict(seed)), safe=""))
        body = self.body(seed) if callable(self.body) else self.body
        return http["method"], path, body


def case(id_: str, operation: str, body: Body, needle: str, code: str = "InvalidRequestException",
         **kwargs: Any) -> Any:
    """Return one API table row."""
    return pytest.param(ApiCase(operation, body, code, needle, **kwargs), id=id_)


def _mitigate(**overrides: Any) -> Callable[[Seed], dict[str, Any]]:
    """Return a StartAuditMitigationActionsTask body builder: a valid request with ``overrides`` applied."""

    def build(seed: Seed) -> dict[str, Any]:
        body = {"target": {"findingIds": [seed.finding_id]}, "auditCheckToActionsMapping": MAPPING,
                "clientRequestToken": "other-token"}
        return {k: v for k, v in {**body, **overrides}.items() if v is not None}

    return build


def _schedule(**fields: Any) -> dict[str, Any]:
    return {"targetCheckNames": [LOGGING_CHECK], **fields}


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


GARBLED_PEM = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
START = "StartOnDemandAuditTask"
CONFIGURE = "UpdateAccountAuditConfiguration"
MITIGATE = "StartAuditMitigationActionsTask"
SCHEDULE = "CreateScheduledAudit"
NEW_TASK = {"taskId": "NewTask"}

API_CASES = [
    case("start-audit-broken-json", START, "{not json", "not valid JSON"),
    case("start-audit-body-is-a-list", START, "[1, 2]", "must be a JSON object"),
    case("start-audit-check-names-as-string", START, {"targetCheckNames": LOGGING_CHECK},
         "at 'targetCheckNames' failed to satisfy constraint: Member must be a list"),
    case("start-audit-empty-check-list", START, {"targetCheckNames": []}, "non-empty list"),
    case("start-audit-unknown-check", START, {"targetCheckNames": ["NO_SUCH_CHECK"]}, "NO_SUCH_CHECK"),
    case("start-audit-check-not-enabled", START, {"targetCheckNames": ["CA_CERTIFICATE_EXPIRING_CHECK"]},
         "CA_CERTIFICATE_EXPIRING_CHECK"),
    case("start-audit-unknown-region", START, {"targetCheckNames": [LOGGING_CHECK]}, "mars-1", region="mars-1"),
    case("config-checks-not-an-object", CONFIGURE, {"auditCheckConfigurations": "all"}, "auditCheckConfigurations"),
    case("config-unknown-check", CONFIGURE, {"auditCheckConfigurations": {"NO_SUCH_CHECK": {"enabled": True}}},
         "NO_SUCH_CHECK"),
    case("config-enabled-not-boolean", CONFIGURE, {"auditCheckConfigurations": {LOGGING_CHECK: {"enabled": "yes"}}},
         "enabled' failed to satisfy constraint: Member must be a boolean"),
    case("config-bad-role-arn", CONFIGURE, {"roleArn": "not-a-role"}, "not-a-role"),
    case("config-targets-not-an-object", CONFIGURE, {"auditNotificationTargetConfigurations": ["SNS"]},
         "auditNotificationTargetConfigurations"),
    case("config-threshold-out-of-range", CONFIGURE, {"auditCheckConfigurations": {
        "DEVICE_CERTIFICATE_EXPIRING_CHECK": {"enabled": True,
                                              "configuration": {"CERT_EXPIRATION_THRESHOLD_IN_DAYS": "9999"}}}},
         "'9999'"),
    case("mitigate-26-finding-ids", MITIGATE, _mitigate(target={"findingIds": [f"f{i}" for i in range(26)]}),
         "Member must have length less than or equal to 25", params=NEW_TASK),
    case("mitigate-empty-finding-ids", MITIGATE, _mitigate(target={"findingIds": []}),
         "Member must have length greater than or equal to 1", params=NEW_TASK),
    case("mitigate-finding-ids-not-a-list", MITIGATE, _mitigate(target={"findingIds": "f1"}),
         "at 'target.findingIds' failed to satisfy constraint: Member must be a list", params=NEW_TASK),
    case("mitigate-unknown-finding-id", MITIGATE, _mitigate(target={"findingIds": [UNKNOWN_ID]}), UNKNOWN_ID,
         params=NEW_TASK),
    case("mitigate-bad-task-id", MITIGATE, _mitigate(), "bad$id", params={"taskId": "bad$id"}),
    case("mitigate-duplicate-task-id", MITIGATE, _mitigate(), "SeedTask", code="TaskAlreadyExistsException",
         params={"taskId": "{mitigation_task_id}"}),
    case("mitigate-unknown-action", MITIGATE, _mitigate(auditCheckToActionsMapping={POLICY_CHECK: ["NoSuchAction"]}),
         "NoSuchAction", params=NEW_TASK),
    case("mitigate-mapping-not-an-object", MITIGATE, _mitigate(auditCheckToActionsMapping="ResetPolicy"),
         "auditCheckToActionsMapping", params=NEW_TASK),
    case("mitigate-no-client-token", MITIGATE, _mitigate(clientRequestToken=None), "clientRequestToken",
         params=NEW_TASK),
    case("schedule-day-funday", SCHEDULE, _schedule(frequency="WEEKLY", dayOfWeek="FUNDAY"), "FUNDAY",
         params={"scheduledAuditName": "Nightly"}),
    case("schedule-frequency-hourly", SCHEDULE, _schedule(frequency="HOURLY"), "HOURLY",
         params={"scheduledAuditName": "Nightly"}),
    case("schedule-monthly-day-32", SCHEDULE, _schedule(frequency="MONTHLY", dayOfMonth="32"), "'32'",
         params={"scheduledAuditName": "Nightly"}),
    case("schedule-weekly-without-day", SCHEDULE, _schedule(frequency="WEEKLY"), "needs dayOfWeek",
         params={"scheduledAuditName": "Nightly"}),
    case("schedule-duplicate-name", SCHEDULE, _schedule(frequency="DAILY"), "WeeklyAudit",
         code="ResourceAlreadyExistsException", params={"scheduledAuditName": "{scheduled_audit}"}),
    case("schedule-bad-name", SCHEDULE, _schedule(frequency="DAILY"), "bad name!",
         params={"scheduledAuditName": "bad name!"}),
    case("describe-task-bad-characters", "DescribeAuditTask", None, "bad!id", params={"taskId": "bad!id"}),
    case("describe-task-id-too-long", "DescribeAuditTask", None, "a" * 41, params={"taskId": "a" * 41}),
    case("describe-task-unknown-id", "DescribeAuditTask", None, UNKNOWN_ID, code="ResourceNotFoundException",
         params={"taskId": UNKNOWN_ID}),
    case("cancel-task-unknown-id", "CancelAuditTask", None, UNKNOWN_ID, code="ResourceNotFoundException",
         params={"taskId": UNKNOWN_ID}),
    case("cancel-task-already-completed", "CancelAuditTask", None, "COMPLETED",
         params={"taskId": "{audit_task_id}"}),
    case("policy-invalid-json", "CreatePolicy", {"policyDocument": "{not json"}, "valid JSON",
         code="MalformedPolicyException", params={"policyName": "Broken"}),
    case("policy-without-statement", "CreatePolicy", {"policyDocument": json.dumps({"Version": "2012-10-17"})},
         "Statement", code="MalformedPolicyException", params={"policyName": "Broken"}),
    case("policy-effect-permit", "CreatePolicy",
         {"policyDocument": _policy({"Effect": "Permit", "Action": "iot:*", "Resource": "*"})}, "Permit",
         code="MalformedPolicyException", params={"policyName": "Broken"}),
    case("policy-action-and-not-action", "CreatePolicy", {"policyDocument": _policy(
        {"Effect": "Allow", "Action": "iot:Connect", "NotAction": "iot:Publish", "Resource": "*"})},
         "exactly one of Action and NotAction", code="MalformedPolicyException", params={"policyName": "Broken"}),
    case("policy-document-not-a-string", "CreatePolicy", {"policyDocument": {"Statement": []}},
         "at 'policyDocument' failed to satisfy constraint: Member must be a string", params={"policyName": "Broken"}),
    case("policy-version-invalid-json", "CreatePolicyVersion", {"policyDocument": "{\"Statement\": ["},
         "valid JSON", code="MalformedPolicyException", params={"policyName": "{policy_name}"}),
    case("policy-duplicate-name", "CreatePolicy", {"policyDocument": PERMISSIVE}, "Permissive",
         code="ResourceAlreadyExistsException", params={"policyName": "{policy_name}"}),
    case("certificate-not-pem", "RegisterCertificateWithoutCA", {"certificatePem": "garbage", "status": "ACTIVE"},
         "certificatePem", code="CertificateValidationException"),
    case("certificate-garbled-pem", "RegisterCertificateWithoutCA", {"certificatePem": GARBLED_PEM},
         "does not parse", code="CertificateValidationException"),
    case("ca-certificate-not-pem", "RegisterCACertificate", {"caCertificate": "garbage"}, "caCertificate",
         code="CertificateValidationException"),
    case("action-duplicate-name", "CreateMitigationAction",
         lambda s: {"roleArn": s.role_arn, "actionParams": {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}}},
         "ResetPolicy", code="ResourceAlreadyExistsException", params={"actionName": "{action_name}"}),
    case("action-unknown-params", "CreateMitigationAction",
         lambda s: {"roleArn": s.role_arn, "actionParams": {"rebootDeviceParams": {}}}, "actionParams",
         params={"actionName": "NewAction"}),
    case("action-bad-role-arn", "CreateMitigationAction",
         {"roleArn": "role/Nope", "actionParams": {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}}},
         "role/Nope", params={"actionName": "NewAction"}),
    case("suppression-duplicate", "CreateAuditSuppression",
         {"checkName": LOGGING_CHECK, "resourceIdentifier": {"account": ACCOUNT}, "suppressIndefinitely": True,
          "clientRequestToken": "again"}, "already exists", code="ResourceAlreadyExistsException"),
    case("suppression-unknown-check", "CreateAuditSuppression",
         {"checkName": "NO_SUCH_CHECK", "resourceIdentifier": {"account": ACCOUNT}, "suppressIndefinitely": True,
          "clientRequestToken": "t"}, "NO_SUCH_CHECK"),
    case("suppression-wrong-identifier", "CreateAuditSuppression",
         {"checkName": POLICY_CHECK, "resourceIdentifier": {"deviceCertificateId": "a" * 64},
          "suppressIndefinitely": True, "clientRequestToken": "t"}, "policyVersionIdentifier"),
    case("findings-max-results-not-a-number", "ListAuditFindings",
         lambda s: {"taskId": s.audit_task_id, "maxResults": "ten"}, "maxResults"),
    case("findings-max-results-zero", "ListAuditFindings", lambda s: {"taskId": s.audit_task_id, "maxResults": 0},
         "at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    case("findings-unknown-check", "ListAuditFindings",
         lambda s: {"taskId": s.audit_task_id, "checkName": "NO_SUCH_CHECK"}, "NO_SUCH_CHECK"),
    case("thing-broken-json", "CreateThing", "{broken", "not valid JSON", params={"thingName": "Sensor02"}),
    case("thing-unknown-region", "CreateThing", {}, "mars-1", params={"thingName": "Sensor02"}, region="mars-1"),
    # found by the generative run (issue 18): refused before any handler runs, or validated before moto stores
    case("thing-aws-global", "CreateThing", {}, "aws-global", params={"thingName": "Sensor02"}, region="aws-global"),
    case("thing-body-not-utf8", "CreateThing", b"\xff\xfe{}", "UTF-8", params={"thingName": "Sensor02"}),
    case("describe-task-slash-label", "DescribeAuditTask", None, "at 'taskId'", params={"taskId": "/"}),
    case("findings-max-results-infinite", "ListAuditFindings", '{"maxResults": 1e999}', "out of range"),
    case("findings-max-results-nan", "ListAuditFindings", '{"maxResults": NaN}', "NaN"),
    case("findings-5000-digit-integer", "ListAuditFindings", '{"maxResults": ' + "9" * 5000 + "}", "5000 digits"),
    case("findings-nested-100k", "ListAuditFindings", "[" * 100_000, "nested too deeply"),
    case("findings-next-token-number", "ListAuditFindings", {"nextToken": 5}, "at 'nextToken'"),
    case("findings-start-time-list", "ListAuditFindings", {"startTime": []}, "at 'startTime'"),
    case("findings-check-name-object", "ListAuditFindings", {"checkName": {}}, "at 'checkName'"),
    case("start-audit-check-name-list", START, {"targetCheckNames": [["x"]]}, "at 'targetCheckNames.1'"),
    case("v2-logging-junk-events", "SetV2LoggingOptions",
         lambda s: {"roleArn": s.role_arn, "eventConfigurations": [{"eventType": 5}]},
         "at 'eventConfigurations.1.eventType'"),
    case("threshold-superscript-two", CONFIGURE, {"auditCheckConfigurations": {
        "DEVICE_CERTIFICATE_EXPIRING_CHECK": {"enabled": True,
                                              "configuration": {"CERT_EXPIRATION_THRESHOLD_IN_DAYS": "\u00b2"}}}},
         "CERT_EXPIRATION_THRESHOLD_IN_DAYS"),
    case("policy-reserved-tag-key", "CreatePolicy",
         {"policyDocument": PERMISSIVE, "tags": [{"Key": "aws:x", "Value": "y"}]}, "aws:",
         params={"policyName": "Tagged"}),
    case("thing-group-51-tags", "CreateThingGroup", {"tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]},
         "50", params={"thingGroupName": "Tagged"}),
]


@pytest.mark.parametrize("bad", API_CASES)
def test_sandbox_api_refuses_bad_input(seeded: World, bad: ApiCase) -> None:
    """A malformed AWS API request gets the documented 4xx error naming the problem, and changes nothing."""
    documented = {s.name: s.metadata["error"]["httpStatusCode"]
                  for s in _iot_model().operation_model(bad.operation).error_shapes}
    assert bad.code in documented, f"{bad.code} is not an error {bad.operation} documents"
    answer = api(seeded.sb.endpoint, *bad.request(seeded.seed), region=bad.region)
    try:
        assert answer.status == documented[bad.code], answer.text
        assert answer.headers.get("x-amzn-ErrorType", "").split(":")[0] == bad.code, answer.text
        assert isinstance(answer.body, dict), answer.text
        message = answer.body.get("message") or answer.body.get("Message") or ""
        assert bad.needle in message, answer.text
        assert healthy(seeded.sb.endpoint)
    finally:
        seeded.assert_unchanged()


# -- layer 2: the /_sandbox/ controls --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ControlCase:
    """A malformed control request and a substring its ``error`` must contain."""

    method: str
    path: str
    body: Body
    needle: str
    status: int = 400
    query: str = "region=us-east-1"


def ctl(id_: str, method: str, path: str, body: Body, needle: str, **kwargs: Any) -> Any:
    """Return one control table row."""
    return pytest.param(ControlCase(method, path, body, needle, **kwargs), id=id_)


def _event(**overrides: Any) -> Callable[[Seed], dict[str, Any]]:
    """Return a connection-events body builder: one valid event of the seeded certificate, with ``overrides``."""

    def build(seed: Seed) -> dict[str, Any]:
        event = {"clientId": "Sensor01", "certificateId": seed.certificate_id, "connectedAt": time.time() - 30,
                 "disconnectedAt": None, "sourceIp": "192.0.2.9", **overrides}
        return {"events": [event]}

    return build


def _device(**overrides: Any) -> Callable[[Seed], dict[str, Any]]:
    """Return a bulk-register body builder: one valid new device, with ``overrides``."""

    def build(seed: Seed) -> dict[str, Any]:
        return {"devices": [{"thingName": "Sensor02", "certificatePem": make_cert_pem("bulk")[0], **overrides}]}

    return build


CONFIG = "/_sandbox/config"
CRLS = "/_sandbox/iot/crls"
CONNECTIONS = "/_sandbox/iot/connections"
BULK = "/_sandbox/iot/bulk-register"
CLOCK = "/_sandbox/clock"

CONTROL_CASES = [
    ctl("config-broken-json", "POST", CONFIG, "{nope", "not valid JSON"),
    ctl("config-body-not-an-object", "POST", CONFIG, "[1]", "must be a JSON object"),
    ctl("config-unknown-setting", "POST", CONFIG, {"turboMode": True}, "turboMode"),
    ctl("config-delay-as-text", "POST", CONFIG, {"auditDelaySeconds": "5"}, "auditDelaySeconds"),
    ctl("config-delay-too-long", "POST", CONFIG, {"auditDelaySeconds": 61}, "0 to 60"),
    ctl("config-page-size-zero", "POST", CONFIG, {"maxPageSize": 0}, "maxPageSize"),
    ctl("config-synchronous-not-boolean", "POST", CONFIG, {"synchronousAudits": "yes"}, "synchronousAudits"),
    ctl("config-bad-account", "POST", CONFIG, {"synchronousAudits": False}, "'12345'", query="account=12345"),
    ctl("config-unknown-region", "POST", CONFIG, {"synchronousAudits": False}, "mars-1", query="region=mars-1"),
    ctl("crl-does-not-parse", "POST", CRLS, {"crl": "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"},
        "does not parse"),
    ctl("crl-neither-pem-nor-base64", "POST", CRLS, {"crl": "%%% not a crl %%%"}, "neither PEM nor base64"),
    ctl("crl-der-garbage", "POST", CRLS, {"crl": base64.b64encode(b"not a crl at all").decode()}, "does not parse"),
    ctl("crl-missing", "POST", CRLS, {"certificateRevocationList": "x"}, '"crl"'),
    ctl("crl-from-unregistered-ca", "POST", CRLS, lambda s: {"crl": _ca_and_crl("Stranger CA")[1]},
        "No registered CA"),
    ctl("connections-without-events", "POST", CONNECTIONS, {"event": {}}, '"events"'),
    ctl("connections-events-not-a-list", "POST", CONNECTIONS, {"events": {"clientId": "x"}}, "must be a list"),
    ctl("connections-unknown-certificate", "POST", CONNECTIONS, _event(certificateId="f" * 64), "f" * 64),
    ctl("connections-bad-source-ip", "POST", CONNECTIONS, _event(sourceIp="999.0.0.1"), "999.0.0.1"),
    ctl("connections-disconnect-before-connect", "POST", CONNECTIONS, _event(connectedAt=200, disconnectedAt=100),
        "disconnectedAt"),
    ctl("connections-unknown-field", "POST", CONNECTIONS, _event(port=8883), "port"),
    ctl("bulk-devices-not-a-list", "POST", BULK, {"devices": "Sensor02"}, '"devices"'),
    ctl("bulk-bad-thing-name", "POST", BULK, _device(thingName="bad name!"), "bad name!"),
    ctl("bulk-pem-not-a-certificate", "POST", BULK, _device(certificatePem="nope"), "PEM"),
    ctl("bulk-thing-exists", "POST", BULK, _device(thingName="Sensor01"), "already exists"),
    ctl("bulk-policy-names-not-a-list", "POST", BULK, _device(policyNames=5), "policyNames"),
    ctl("clock-backwards", "POST", CLOCK, {"advanceSeconds": -5}, "advanceSeconds"),
    ctl("clock-seconds-as-text", "POST", CLOCK, {"advanceSeconds": "60"}, "advanceSeconds"),
    ctl("run-due-unknown-audit", "POST", "/_sandbox/iot/scheduled-audits/run-due", {"force": ["NoSuchAudit"]},
        "NoSuchAudit"),
    ctl("role-alias-usage-bad-arn", "POST", "/_sandbox/iot/role-alias-usage",
        {"roleAliasArn": "not-an-alias", "services": ["s3"]}, "roleAliasArn"),
    ctl("pool-activity-bad-pool-id", "POST", "/_sandbox/cognito/pool-activity", {"identityPoolId": "nope"},
        "identityPoolId"),
    ctl("config-valid-delay-then-bad-page-size", "POST", CONFIG, {"auditDelaySeconds": 5, "maxPageSize": 0},
        "maxPageSize"),
    ctl("config-nested-100k", "POST", CONFIG, "[" * 100_000, "nested too deeply"),
    ctl("config-5000-digit-integer", "POST", CONFIG, '{"maxPageSize": ' + "9" * 5000 + "}", "5000 digits"),
    ctl("config-unicode-digit-account", "POST", CONFIG, {"synchronousAudits": True}, "ASCII",
        query="account=" + urllib.parse.quote("\u0661" * 12)),
    ctl("clock-past-year-9999", "POST", CLOCK, {"advanceSeconds": 3e11}, "100 years"),
    ctl("clock-infinite", "POST", CLOCK, '{"advanceSeconds": Infinity}', "Infinity"),
    ctl("crl-non-ascii-text", "POST", CRLS, {"crl": "r\u00e9vocation"}, "neither PEM nor base64"),
    ctl("connections-nan-time", "POST", CONNECTIONS, '{"events": [{"connectedAt": NaN}]}', "NaN"),
    ctl("connections-year-3e12", "POST", CONNECTIONS, _event(connectedAt=1e20), "connectedAt"),
    ctl("pool-activity-year-3e12", "POST", "/_sandbox/cognito/pool-activity",
        {"identityPoolId": "us-east-1:abc", "connectedAt": 1e20}, "connectedAt"),
    ctl("bulk-garbled-pem", "POST", BULK, _device(certificatePem=GARBLED_PEM), "does not parse"),
    ctl("unknown-control", "GET", "/_sandbox/iot/nope", None, "No sandbox control", status=404),
    ctl("wrong-method", "DELETE", CONFIG, None, "not allowed", status=405),
]


@pytest.mark.parametrize("bad", CONTROL_CASES)
def test_sandbox_controls_refuse_bad_input(seeded: World, bad: ControlCase) -> None:
    """A malformed control request gets a 4xx ``{"error": ...}`` naming the problem, and changes nothing."""
    body = bad.body(seeded.seed) if callable(bad.body) else bad.body
    answer = control(seeded.sb.endpoint, bad.method, bad.path, body, query=bad.query)
    try:
        assert answer.status == bad.status, answer.text
        assert isinstance(answer.body, dict) and isinstance(answer.body.get("error"), str), answer.text
        assert bad.needle in answer.body["error"], answer.text
        assert healthy(seeded.sb.endpoint)
    finally:
        seeded.assert_unchanged()


# -- layer 3: the helpers --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HelperCase:
    """A helper call with bad input and a substring of the WorkshopError's problem."""

    call: Callable[[Seed], Any]
    needle: str
    region: str | None = None  # AWS_DEFAULT_REGION for the call, when not the sandbox's


def helper(id_: str, call: Callable[[Seed], Any], needle: str, *, region: str | None = None,
           marks: Any = ()) -> Any:
    """Return one helpers table row."""
    return pytest.param(HelperCase(call, needle, region), id=id_, marks=marks)


def _schedule_helper(name: str = "Nightly", **kwargs: Any) -> Callable[[Seed], Any]:
    """Return a call of audits.create_scheduled_audit(name, check_names=[LOGGING_CHECK], **kwargs)."""
    return lambda s: audits.create_scheduled_audit(name, check_names=[LOGGING_CHECK], **kwargs)


def _start_mitigation(mapping: Any = MAPPING, **kwargs: Any) -> Callable[[Seed], Any]:
    """Return a call of mitigation.start_mitigation_task (on the seeded finding unless a target is given)."""

    def call(seed: Seed) -> Any:
        target_kwargs = kwargs if "finding_ids" in kwargs or "audit_task_id" in kwargs else {
            "finding_ids": [seed.finding_id], **kwargs}
        return mitigation.start_mitigation_task(mapping, **target_kwargs)

    return call


HELPER_CASES = [
    helper("run-audit-unknown-check", lambda s: audits.run_on_demand_audit(["NOT_A_CHECK"], progress=None),
           "NOT_A_CHECK"),
    helper("start-audit-no-checks", lambda s: audits.start_on_demand_audit([]), "No audit checks"),
    helper("start-audit-check-not-enabled", lambda s: audits.start_on_demand_audit(["CA_CERTIFICATE_EXPIRING_CHECK"]),
           "not enabled"),
    helper("enable-misspelt-check", lambda s: settings.enable_checks(["LOGGING_DISABLD_CHECK"]),
           "LOGGING_DISABLD_CHECK"),
    helper("disable-check-a-schedule-runs", lambda s: settings.disable_checks([LOGGING_CHECK]), "WeeklyAudit"),
    helper("set-role-not-an-arn", lambda s: settings.set_audit_role("not-an-arn"), "not-an-arn"),
    helper("schedule-day-funday", _schedule_helper(frequency="WEEKLY", day_of_week="FUNDAY"), "FUNDAY"),
    helper("schedule-frequency-hourly", _schedule_helper(frequency="HOURLY"), "HOURLY"),
    helper("schedule-monthly-day-32", _schedule_helper(frequency="MONTHLY", day_of_month=32), "32"),
    helper("schedule-daily-with-a-day", _schedule_helper(frequency="DAILY", day_of_week="MON"), "DAILY"),
    helper("schedule-bad-name", _schedule_helper(name="bad name!", frequency="DAILY"), "bad name!"),
    helper("schedule-duplicate-name", _schedule_helper(name="WeeklyAudit", frequency="DAILY"), "already exists"),
    helper("describe-audit-bad-id", lambda s: audits.describe_audit("bad id!"), "bad id!"),
    helper("describe-audit-unknown-id", lambda s: audits.describe_audit(UNKNOWN_ID), UNKNOWN_ID),
    helper("cancel-finished-audit", lambda s: audits.cancel_audit(s.audit_task_id), "COMPLETED"),
    helper("history-beyond-retention", lambda s: audits.audit_history(days=365), "days=365"),
    helper("history-days-as-text", lambda s: audits.audit_history(days="30"), "days=30"),
    helper("finding-bad-id", lambda s: findings.describe_finding("nope!"), "nope!"),
    helper("finding-unknown-id", lambda s: findings.describe_finding(UNKNOWN_ID), UNKNOWN_ID),
    helper("suppress-for-zero-days", lambda s: findings.suppress_finding(s.finding_id, days=0), "days=0"),
    helper("findings-unknown-check", lambda s: findings.get_findings(s.audit_task_id, check_name="NOPE"), "NOPE"),
    helper("mitigate-26-findings", _start_mitigation(finding_ids=[f"f{i}" for i in range(26)]), "26 finding ids"),
    helper("mitigate-unknown-finding", _start_mitigation(finding_ids=[UNKNOWN_ID]), UNKNOWN_ID),
    helper("mitigate-unknown-audit", _start_mitigation(audit_task_id=UNKNOWN_ID), UNKNOWN_ID),
    helper("mitigate-empty-mapping", _start_mitigation({}), "empty"),
    helper("mitigate-mapping-not-a-dict", _start_mitigation(["ResetPolicy"]), "must be a dict"),
    helper("mitigate-check-mapped-to-a-number", _start_mitigation({POLICY_CHECK: 5}), "maps to 5"),
    helper("mitigate-unknown-action", _start_mitigation({POLICY_CHECK: ["NoSuchAction"]}), "NoSuchAction"),
    helper("mitigate-action-wrong-for-check", _start_mitigation({LOGGING_CHECK: ["ResetPolicy"]}),
           "cannot be applied"),
    helper("mitigate-bad-task-name", _start_mitigation(task_name="bad name!"), "bad name!"),
    helper("mitigate-task-name-not-text", _start_mitigation(task_name=5), "5 is not a valid task name"),
    helper("mitigate-duplicate-task-name", _start_mitigation(task_name="SeedTask"), "SeedTask"),
    helper("mitigation-task-empty-id", lambda s: mitigation.describe_mitigation_task(""), "not a mitigation task id"),
    helper("action-bad-name", lambda s: mitigation.create_mitigation_action(
        "bad name!", "UPDATE_DEVICE_CERTIFICATE", role_arn=s.role_arn), "bad name!"),
    helper("action-name-not-text", lambda s: mitigation.create_mitigation_action(
        123, "UPDATE_DEVICE_CERTIFICATE", role_arn=s.role_arn), "123"),
    helper("action-unknown-type", lambda s: mitigation.action_params("REBOOT_DEVICE"), "REBOOT_DEVICE"),
    helper("unknown-region", lambda s: settings.describe_audit_settings(), "mars-1", region="mars-1"),
]


@pytest.mark.parametrize("bad", HELPER_CASES)
def test_helpers_refuse_bad_input(seeded: World, bad: HelperCase, monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper given bad input raises a WorkshopError naming the problem with a fix, and changes nothing."""
    if bad.region:
        monkeypatch.setenv("AWS_DEFAULT_REGION", bad.region)
        target.clear_client_cache()
    try:
        with pytest.raises(WorkshopError) as raised:
            bad.call(seeded.seed)
        assert bad.needle in raised.value.problem
        assert raised.value.fix.strip()
    finally:
        if bad.region:
            monkeypatch.setenv("AWS_DEFAULT_REGION", seeded.sb.region)
            target.clear_client_cache()
        seeded.assert_unchanged()


def test_the_api_still_lists_the_seeded_state(seeded: World) -> None:
    """After all the refused requests, the API and the controls list exactly what was seeded."""
    assert listed_state(seeded.sb) == seeded.listed


# -- unusual but valid policy shapes ---------------------------------------------------------------------------------
def _allow(action: Any = None, resource: Any = None, **extra: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", **extra}
    if action is not None:
        statement["Action"] = action
    if resource is not None:
        statement["Resource"] = resource
    return statement


SHADOW = f"{ARN}topic/$aws/things/{THING_VAR}/shadow/update"

POLICY_SHAPES = [
    pytest.param(_policy(_allow("iot:Publish", SHADOW)), False, id="single-string-action-scoped-to-own-shadow"),
    pytest.param(_policy(_allow("iot:Connect", "*")), True, id="single-string-action-on-everything"),
    pytest.param(_policy(_allow(NotAction=["iot:Publish"], Resource="*")), True, id="not-action-publish-on-everything"),
    pytest.param(_policy(_allow(NotAction="iot:*", Resource="*")), False, id="not-action-excluding-all-of-iot"),
    pytest.param(_policy(_allow("iot:Connect", NotResource=f"{ARN}client/admin")), True,
                 id="not-resource-connect-as-anyone-else"),
    pytest.param(_policy(_allow("iot:Connect", f"{ARN}client/{THING_VAR}", Condition=ATTACHED)), False,
                 id="condition-attached-thing-name-client"),
    pytest.param(_policy(_allow("iot:Connect", f"{ARN}client/${{iot:ClientId}}", Condition=ATTACHED)), False,
                 id="condition-attached-any-client-id"),
    pytest.param(_policy(_allow("iot:Connect", f"{ARN}client/${{iot:ClientId}}")), True,
                 id="policy-variable-client-id-without-condition"),
    pytest.param(json.dumps({"Version": "2012-10-17", "Statement": _allow("iot:*", "*")}), True,
                 id="statement-as-a-single-object"),
    pytest.param(_policy(_allow("iot:*", "*"), {"Effect": "Deny", "Action": "iot:*", "Resource": "*"}), False,
                 id="deny-overrides-allow"),
    pytest.param(_policy(_allow("iot:Receive", f"{ARN}topic/*")), False, id="receive-with-wildcard"),
]


@pytest.fixture
def fresh(world: World) -> SimpleNamespace:
    """The module's sandbox, reset (the seeded world is seeded again when a table row next needs it)."""
    _reset(world.sb.endpoint)
    world.dirty = True
    return world.sb


@pytest.mark.parametrize(("document", "overly_permissive"), POLICY_SHAPES)
def test_unusual_valid_policy_shapes_are_accepted_and_audited(fresh: SimpleNamespace, document: str,
                                                              overly_permissive: bool) -> None:
    """A valid policy of an unusual shape is created, and the permissive-policy check judges it without failing."""
    sandbox, iot = fresh, fresh.iot
    assert control(sandbox.endpoint, "POST", CONFIG, {"synchronousAudits": True}).status == 200
    role = make_role(sandbox.client("iam"), "AuditRole")
    iot.update_account_audit_configuration(roleArn=role, auditCheckConfigurations={POLICY_CHECK: {"enabled": True}})
    iot.create_policy(policyName="Unusual", policyDocument=document)
    task_id = iot.start_on_demand_audit_task(targetCheckNames=[POLICY_CHECK])["taskId"]
    detail = iot.describe_audit_task(taskId=task_id)["auditDetails"][POLICY_CHECK]
    assert detail["checkRunStatus"] in ("COMPLETED_COMPLIANT", "COMPLETED_NON_COMPLIANT"), detail
    flagged = [f for f in iot.list_audit_findings(taskId=task_id, checkName=POLICY_CHECK)["findings"]
               if f["nonCompliantResource"]["resourceIdentifier"]["policyVersionIdentifier"]["policyName"] == "Unusual"]
    assert bool(flagged) == overly_permissive, flagged


def test_the_tables_cover_enough_malformed_input() -> None:
    """The issue asks for at least 40 malformed inputs across the three layers (45 with the valid shapes)."""
    assert len(API_CASES) + len(CONTROL_CASES) + len(HELPER_CASES) >= 40
    assert len(API_CASES) + len(CONTROL_CASES) + len(HELPER_CASES) + len(POLICY_SHAPES) >= 45
