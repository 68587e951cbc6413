"""The local Device Defender's mitigation actions and tasks: definitions, refusals, real effects on the sandbox's
state, and a fresh audit that reflects them. Responses validated against botocore shapes."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import sandbox as sb
from tests.builders import (
    PERMISSIVE,
    configure_audit,
    make_role,
    register_cert,
    shared_sessions,
    wait_audit,
)
from tests.shapes import assert_valid
from tests.sandbox.test_audits import control

SHARED, LOGGING, POLICY = "DEVICE_CERTIFICATE_SHARED_CHECK", "LOGGING_DISABLED_CHECK", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"
MANAGED = "arn:aws:iam::aws:policy/service-role/"
ROLE_POLICY = {
    "UPDATE_DEVICE_CERTIFICATE": "AWSIoTDeviceDefenderUpdateDeviceCertMitigationAction",
    "UPDATE_CA_CERTIFICATE": "AWSIoTDeviceDefenderUpdateCACertMitigationAction",
    "ADD_THINGS_TO_THING_GROUP": "AWSIoTDeviceDefenderAddThingsToThingGroupMitigationAction",
    "REPLACE_DEFAULT_POLICY_VERSION": "AWSIoTDeviceDefenderReplaceDefaultPolicyMitigationAction",
    "ENABLE_IOT_LOGGING": "AWSIoTDeviceDefenderEnableIoTLoggingMitigationAction",
    "PUBLISH_FINDING_TO_SNS": "AWSIoTDeviceDefenderPublishFindingsToSNSMitigationAction",
}
DEACTIVATE = {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}}


def code(e) -> str:
    return e.value.response["Error"]["Code"]


def wait_task(iot, task_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while (task := iot.describe_audit_mitigation_actions_task(taskId=task_id))["taskStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "mitigation task did not finish"
        time.sleep(0.05)
    return task


def executions(iot, task_id: str, finding_id: str) -> list[dict]:
    resp = iot.list_audit_mitigation_actions_executions(taskId=task_id, findingId=finding_id)
    assert_valid("ListAuditMitigationActionsExecutions", resp)
    return resp["actionsExecutions"]


@pytest.fixture
def module(sandbox):
    """Module 1 state plus an audit: shared certificate, permissive policy attached to it, logging off."""
    iot, iam = sandbox.iot, sandbox.client("iam")
    configure_audit(iot, iam, [SHARED, LOGGING, POLICY])
    cert = register_cert(iot)
    cert_arn = f"arn:aws:iot:us-east-1:123456789012:cert/{cert}"
    iot.create_policy(policyName="DevicePolicy-ws", policyDocument=PERMISSIVE)
    iot.attach_policy(policyName="DevicePolicy-ws", target=cert_arn)
    for thing in ("SensorDevice01", "SensorDevice02"):
        iot.create_thing(thingName=thing)
        iot.attach_thing_principal(thingName=thing, principal=cert_arn)
    sb.record_connections(shared_sessions(cert))
    task_id = iot.start_on_demand_audit_task(targetCheckNames=[SHARED, LOGGING, POLICY])["taskId"]
    wait_audit(iot, task_id)
    findings = {f["checkName"]: f for f in iot.list_audit_findings(taskId=task_id)["findings"]}
    assert set(findings) == {SHARED, LOGGING, POLICY}
    sandbox.cert, sandbox.audit_task, sandbox.findings = cert, task_id, findings
    sandbox.roles = {}
    return sandbox


def action_role(env, kind: str) -> str:
    if kind not in env.roles:
        env.roles[kind] = make_role(env.client("iam"), f"Mitigation-{kind.replace('_', '-')[:40]}",
                                    managed=MANAGED + ROLE_POLICY[kind])
    return env.roles[kind]


def start(iot, task_id: str, target: dict, mapping: dict, token: str = "token-1") -> str:
    return iot.start_audit_mitigation_actions_task(taskId=task_id, target=target, auditCheckToActionsMapping=mapping,
                                                   clientRequestToken=token)["taskId"]


# -- mitigation actions -------------------------------------------------------------------------------------------
def test_mitigation_action_lifecycle(module):
    iot = module.iot
    role = action_role(module, "UPDATE_DEVICE_CERTIFICATE")
    created = iot.create_mitigation_action(actionName="Update-device-certificate", roleArn=role, actionParams=DEACTIVATE,
                                           tags=[{"Key": "workshop", "Value": "iot-audit-module2"}])
    assert_valid("CreateMitigationAction", created)
    assert created["actionArn"] == "arn:aws:iot:us-east-1:123456789012:mitigationaction/Update-device-certificate"
    described = iot.describe_mitigation_action(actionName="Update-device-certificate")
    assert_valid("DescribeMitigationAction", described)
    assert described["actionType"] == "UPDATE_DEVICE_CERTIFICATE" and described["actionId"] == created["actionId"]
    assert iot.list_tags_for_resource(resourceArn=created["actionArn"])["tags"] == [
        {"Key": "workshop", "Value": "iot-audit-module2"}]
    with pytest.raises(ClientError) as e:
        iot.create_mitigation_action(actionName="Update-device-certificate", roleArn=role, actionParams=DEACTIVATE)
    assert code(e) == "ResourceAlreadyExistsException"
    updated = iot.update_mitigation_action(actionName="Update-device-certificate",
                                           roleArn=action_role(module, "ENABLE_IOT_LOGGING"))
    assert updated["actionId"] == created["actionId"]
    listed = iot.list_mitigation_actions(actionType="UPDATE_DEVICE_CERTIFICATE")
    assert_valid("ListMitigationActions", listed)
    assert [a["actionName"] for a in listed["actionIdentifiers"]] == ["Update-device-certificate"]
    assert iot.list_mitigation_actions(actionType="ENABLE_IOT_LOGGING")["actionIdentifiers"] == []
    iot.delete_mitigation_action(actionName="Update-device-certificate")
    iot.delete_mitigation_action(actionName="Update-device-certificate")  # gone already is fine
    with pytest.raises(ClientError) as e:
        iot.describe_mitigation_action(actionName="Update-device-certificate")
    assert code(e) == "ResourceNotFoundException"


@pytest.mark.parametrize("params,needle", [
    ({}, "exactly one"),
    ({**DEACTIVATE, "replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}}, "exactly one"),
    ({"enableIoTLoggingParams": {"roleArnForLogging": "arn:aws:iam::123456789012:role/Log", "logLevel": "DISABLED"}},
     "DISABLED"),
    ({"addThingsToThingGroupParams": {"thingGroupNames": [f"g{i}" for i in range(11)]}},
     "Member must have length less than or equal to 10"),
    ({"publishFindingToSnsParams": {"topicArn": "not-an-arn"}}, "topicArn"),
])
def test_bad_action_definitions_are_refused(sandbox, params, needle):
    role = make_role(sandbox.client("iam"), "R", managed=None)
    with pytest.raises(ClientError) as e:
        sandbox.iot.create_mitigation_action(actionName="A", roleArn=role, actionParams=params)
    assert code(e) == "InvalidRequestException" and needle in str(e.value)
    assert sandbox.iot.list_mitigation_actions()["actionIdentifiers"] == []


def test_at_most_100_mitigation_actions(sandbox):
    role = make_role(sandbox.client("iam"), "R", managed=None)
    for i in range(100):
        sandbox.iot.create_mitigation_action(actionName=f"A{i}", roleArn=role, actionParams=DEACTIVATE)
    once = boto3.client("iot", endpoint_url=sandbox.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        once.create_mitigation_action(actionName="A100", roleArn=role, actionParams=DEACTIVATE)
    assert code(e) == "LimitExceededException"
    pages = list(sandbox.iot.get_paginator("list_mitigation_actions").paginate(PaginationConfig={"PageSize": 30}))
    assert sum(len(p["actionIdentifiers"]) for p in pages) == 100 and len(pages) == 4


# -- the module's flow: deactivate the shared certificate -----------------------------------------------------------
def test_deactivating_the_shared_certificate(module):
    iot = module.iot
    iot.create_mitigation_action(actionName="Update-device-certificate",
                                 roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"), actionParams=DEACTIVATE)
    finding = module.findings[SHARED]
    task_id = start(iot, "DeactivateSharedCert", {"findingIds": [finding["findingId"]]},
                    {SHARED: ["Update-device-certificate"]})
    task = wait_task(iot, task_id)
    assert_valid("DescribeAuditMitigationActionsTask", task)
    assert task["taskStatus"] == "COMPLETED"
    assert task["taskStatistics"][SHARED] == {"totalFindingsCount": 1, "failedFindingsCount": 0,
                                             "succeededFindingsCount": 1, "skippedFindingsCount": 0,
                                             "canceledFindingsCount": 0}
    assert task["actionsDefinition"][0]["name"] == "Update-device-certificate"
    (run,) = executions(iot, task_id, finding["findingId"])
    assert run["status"] == "COMPLETED" and run["actionName"] == "Update-device-certificate"
    described = iot.describe_certificate(certificateId=module.cert)["certificateDescription"]
    assert described["status"] == "INACTIVE"
    # a fresh audit no longer audits the certificate
    audit = iot.start_on_demand_audit_task(targetCheckNames=[SHARED])["taskId"]
    assert wait_audit(iot, audit)["auditDetails"][SHARED]["checkRunStatus"] == "COMPLETED_COMPLIANT"
    listed = iot.list_audit_mitigation_actions_tasks(startTime=datetime.now(timezone.utc) - timedelta(hours=1),
                                                     endTime=datetime.now(timezone.utc) + timedelta(minutes=1),
                                                     findingId=finding["findingId"])
    assert_valid("ListAuditMitigationActionsTasks", listed)
    assert [t["taskId"] for t in listed["tasks"]] == [task_id]


def test_idempotent_start_and_task_id_clash(module):
    iot = module.iot
    iot.create_mitigation_action(actionName="Deactivate", roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"),
                                 actionParams=DEACTIVATE)
    args = ({"findingIds": [module.findings[SHARED]["findingId"]]}, {SHARED: ["Deactivate"]})
    assert start(iot, "T1", *args, token="abc") == "T1"
    assert start(iot, "T1", *args, token="abc") == "T1"  # same token: same task, nothing runs twice
    with pytest.raises(ClientError) as e:
        start(iot, "T1", *args, token="other")
    assert code(e) == "TaskAlreadyExistsException"
    wait_task(iot, "T1")
    assert len(executions(iot, "T1", module.findings[SHARED]["findingId"])) == 1


@pytest.mark.parametrize("target,mapping,needle", [
    ("shared", {SHARED: ["PolicyBlank"]}, "cannot be applied to DEVICE_CERTIFICATE_SHARED_CHECK"),
    ("shared", {LOGGING: ["Deactivate"]}, "cannot be applied to LOGGING_DISABLED_CHECK"),
    ("shared", {SHARED: ["Missing"]}, "does not exist"),
    ({"findingIds": []}, {SHARED: ["Deactivate"]}, "Member must have length greater than or equal to 1"),
    ({"findingIds": [f"f{i}" for i in range(26)]}, {SHARED: ["Deactivate"]},
     "Member must have length less than or equal to 25"),
    ({"findingIds": ["nope"]}, {SHARED: ["Deactivate"]}, "Unknown finding"),
    ({"auditTaskId": "0" * 32}, {SHARED: ["Deactivate"]}, "does not exist"),
    ({}, {SHARED: ["Deactivate"]}, "target"),
])
def test_refused_before_anything_runs(module, target, mapping, needle):
    iot = module.iot
    iot.create_mitigation_action(actionName="Deactivate", roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"),
                                 actionParams=DEACTIVATE)
    iot.create_mitigation_action(actionName="PolicyBlank", roleArn=action_role(module, "REPLACE_DEFAULT_POLICY_VERSION"),
                                 actionParams={"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}})
    if target == "shared":
        target = {"findingIds": [module.findings[SHARED]["findingId"]]}
    unvalidated = boto3.client("iot", endpoint_url=module.endpoint, region_name="us-east-1", aws_access_key_id="t",
                               aws_secret_access_key="t", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as e:  # the sandbox refuses what botocore would already catch, for any client
        start(unvalidated, "Refused", target, mapping)
    assert code(e) == "InvalidRequestException" and needle in str(e.value)
    assert iot.describe_certificate(certificateId=module.cert)["certificateDescription"]["status"] == "ACTIVE"
    with pytest.raises(ClientError):
        iot.describe_audit_mitigation_actions_task(taskId="Refused")


def test_role_without_permission_fails_the_execution(module):
    iot = module.iot
    weak = make_role(module.client("iam"), "WrongPolicy", managed=MANAGED + ROLE_POLICY["ADD_THINGS_TO_THING_GROUP"])
    iot.create_mitigation_action(actionName="Deactivate", roleArn=weak, actionParams=DEACTIVATE)  # the README's erratum
    finding = module.findings[SHARED]["findingId"]
    task = wait_task(iot, start(iot, "T", {"findingIds": [finding]}, {SHARED: ["Deactivate"]}))
    assert task["taskStatus"] == "FAILED" and task["taskStatistics"][SHARED]["failedFindingsCount"] == 1
    (run,) = executions(iot, "T", finding)
    assert run["status"] == "FAILED" and run["errorCode"] == "INSUFFICIENT_PERMISSIONS"
    assert "iot:UpdateCertificate" in run["message"]
    assert iot.describe_certificate(certificateId=module.cert)["certificateDescription"]["status"] == "ACTIVE"


def test_a_failure_skips_the_rest_for_that_finding(module):
    iot, sns = module.iot, module.client("sns")
    iot.create_mitigation_action(actionName="Notify", roleArn=action_role(module, "PUBLISH_FINDING_TO_SNS"),
                                 actionParams={"publishFindingToSnsParams": {
                                     "topicArn": "arn:aws:sns:us-east-1:123456789012:Missing"}})
    iot.create_mitigation_action(actionName="Deactivate", roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"),
                                 actionParams=DEACTIVATE)
    finding = module.findings[SHARED]["findingId"]
    wait_task(iot, start(iot, "T", {"findingIds": [finding]}, {SHARED: ["Notify", "Deactivate"]}))
    runs = {r["actionName"]: r for r in executions(iot, "T", finding)}
    assert runs["Notify"]["status"] == "FAILED" and runs["Deactivate"]["status"] == "SKIPPED"
    assert iot.describe_certificate(certificateId=module.cert)["certificateDescription"]["status"] == "ACTIVE"
    assert sns  # topic really missing: nothing was created behind our back


def test_suppressed_findings_are_skipped(module):
    iot = module.iot
    iot.create_audit_suppression(checkName=SHARED, resourceIdentifier={"deviceCertificateId": module.cert},
                                 suppressIndefinitely=True, clientRequestToken="s")
    audit = iot.start_on_demand_audit_task(targetCheckNames=[SHARED])["taskId"]
    wait_audit(iot, audit)
    iot.create_mitigation_action(actionName="Deactivate", roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"),
                                 actionParams=DEACTIVATE)
    task = wait_task(iot, start(iot, "T", {"auditTaskId": audit}, {SHARED: ["Deactivate"]}))
    assert task["taskStatistics"][SHARED]["skippedFindingsCount"] == 1
    assert iot.describe_certificate(certificateId=module.cert)["certificateDescription"]["status"] == "ACTIVE"


# -- every action type changes what it should, and a fresh audit shows it -----------------------------------------
def test_enable_logging_makes_the_logging_check_compliant(module):
    iot = module.iot
    log_role = make_role(module.client("iam"), "IoTLoggingRole", managed=None)
    iot.create_mitigation_action(actionName="EnableLogging", roleArn=action_role(module, "ENABLE_IOT_LOGGING"),
                                 actionParams={"enableIoTLoggingParams": {"roleArnForLogging": log_role,
                                                                          "logLevel": "ERROR"}})
    wait_task(iot, start(iot, "T", {"auditTaskId": module.audit_task}, {LOGGING: ["EnableLogging"]}))
    options = iot.get_v2_logging_options()
    assert (options["roleArn"], options["defaultLogLevel"], options["disableAllLogs"]) == (log_role, "ERROR", False)
    audit = iot.start_on_demand_audit_task(targetCheckNames=[LOGGING])["taskId"]
    assert wait_audit(iot, audit)["auditDetails"][LOGGING]["checkRunStatus"] == "COMPLETED_COMPLIANT"


def test_blank_default_policy_makes_the_policy_check_compliant(module):
    iot = module.iot
    iot.create_mitigation_action(actionName="BlankPolicy", roleArn=action_role(module, "REPLACE_DEFAULT_POLICY_VERSION"),
                                 actionParams={"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}})
    wait_task(iot, start(iot, "T", {"auditTaskId": module.audit_task}, {POLICY: ["BlankPolicy"]}))
    policy = iot.get_policy(policyName="DevicePolicy-ws")
    assert policy["defaultVersionId"] == "2" and json.loads(policy["policyDocument"])["Statement"] == []
    audit = iot.start_on_demand_audit_task(targetCheckNames=[POLICY])["taskId"]
    assert wait_audit(iot, audit)["auditDetails"][POLICY]["checkRunStatus"] == "COMPLETED_COMPLIANT"


def test_blank_policy_fails_when_the_policy_has_five_versions(module):
    iot = module.iot
    for _ in range(4):
        iot.create_policy_version(policyName="DevicePolicy-ws", policyDocument=PERMISSIVE, setAsDefault=True)
    iot.create_mitigation_action(actionName="BlankPolicy", roleArn=action_role(module, "REPLACE_DEFAULT_POLICY_VERSION"),
                                 actionParams={"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}})
    finding = module.findings[POLICY]["findingId"]
    wait_task(iot, start(iot, "T", {"findingIds": [finding]}, {POLICY: ["BlankPolicy"]}))
    (run,) = executions(iot, "T", finding)
    assert run["status"] == "FAILED" and "5 versions" in run["message"]


def test_add_things_to_thing_group(module):
    iot = module.iot
    iot.create_thing_group(thingGroupName="Quarantine")
    iot.create_mitigation_action(actionName="Quarantine", roleArn=action_role(module, "ADD_THINGS_TO_THING_GROUP"),
                                 actionParams={"addThingsToThingGroupParams": {"thingGroupNames": ["Quarantine"]}})
    wait_task(iot, start(iot, "T", {"findingIds": [module.findings[SHARED]["findingId"]]}, {SHARED: ["Quarantine"]}))
    members = iot.list_things_in_thing_group(thingGroupName="Quarantine")["things"]
    assert sorted(members) == ["SensorDevice01", "SensorDevice02"]


def test_update_ca_certificate(sandbox):
    from tests.builders import make_cert_pem

    iot = sandbox.iot
    pem, _ = make_cert_pem("Expiring CA", days=5)
    ca = iot.register_ca_certificate(caCertificate=pem, setAsActive=True)["certificateId"]
    configure_audit(iot, sandbox.client("iam"), ["CA_CERTIFICATE_EXPIRING_CHECK"])
    audit = iot.start_on_demand_audit_task(targetCheckNames=["CA_CERTIFICATE_EXPIRING_CHECK"])["taskId"]
    wait_audit(iot, audit)
    (finding,) = iot.list_audit_findings(taskId=audit)["findings"]
    role = make_role(sandbox.client("iam"), "CaRole", managed=MANAGED + ROLE_POLICY["UPDATE_CA_CERTIFICATE"])
    iot.create_mitigation_action(actionName="DeactivateCA", roleArn=role,
                                 actionParams={"updateCACertificateParams": {"action": "DEACTIVATE"}})
    wait_task(iot, start(iot, "T", {"findingIds": [finding["findingId"]]},
                         {"CA_CERTIFICATE_EXPIRING_CHECK": ["DeactivateCA"]}))
    assert iot.describe_ca_certificate(certificateId=ca)["certificateDescription"]["status"] == "INACTIVE"


def test_publish_finding_reaches_a_subscribed_queue(module):
    iot, sns, sqs = module.iot, module.client("sns"), module.client("sqs")
    topic = sns.create_topic(Name="BadDevices")["TopicArn"]
    queue = sqs.create_queue(QueueName="findings")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    iot.create_mitigation_action(actionName="Notify", roleArn=action_role(module, "PUBLISH_FINDING_TO_SNS"),
                                 actionParams={"publishFindingToSnsParams": {"topicArn": topic}})
    finding = module.findings[SHARED]
    wait_task(iot, start(iot, "T", {"findingIds": [finding["findingId"]]}, {SHARED: ["Notify"]}))
    (message,) = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    body = json.loads(json.loads(message["Body"])["Message"])
    assert body["findingId"] == finding["findingId"] and body["checkName"] == SHARED
    assert body["nonCompliantResource"]["resourceIdentifier"] == {"deviceCertificateId": module.cert}
    assert isinstance(body["findingTime"], int) and body["findingTime"] > 1_600_000_000_000  # epoch millis


def test_reason_code_filter_and_whole_audit_target(module):
    iot = module.iot
    iot.create_mitigation_action(actionName="Deactivate", roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"),
                                 actionParams=DEACTIVATE)
    task = wait_task(iot, start(iot, "T", {"auditTaskId": module.audit_task,
                                           "auditCheckToReasonCodeFilter": {SHARED: ["SOME_OTHER_CODE"]}},
                                {SHARED: ["Deactivate"]}))
    assert task["taskStatistics"] == {}  # filtered out: nothing to do
    assert iot.describe_certificate(certificateId=module.cert)["certificateDescription"]["status"] == "ACTIVE"


def test_cancel_stops_what_has_not_run(module):
    iot = module.iot
    iot.create_mitigation_action(actionName="Deactivate", roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"),
                                 actionParams=DEACTIVATE)
    from helpers.sandbox.models import devicedefender_backends

    dd = devicedefender_backends["123456789012"]["us-east-1"]
    gate = __import__("threading").Event()
    original = dd._run_mitigation

    def slow(task, findings):
        gate.wait(5)
        original(task, findings)

    dd._run_mitigation = slow
    try:
        start(iot, "T", {"findingIds": [module.findings[SHARED]["findingId"]]}, {SHARED: ["Deactivate"]})
        iot.cancel_audit_mitigation_actions_task(taskId="T")
    finally:
        gate.set()
    task = wait_task(iot, "T")
    assert task["taskStatus"] == "CANCELED"
    assert task["taskStatistics"][SHARED]["canceledFindingsCount"] == 1
    with pytest.raises(ClientError) as e:
        iot.cancel_audit_mitigation_actions_task(taskId="T")
    assert code(e) == "InvalidRequestException"
    time.sleep(0.2)
    assert iot.describe_certificate(certificateId=module.cert)["certificateDescription"]["status"] == "ACTIVE"


# -- UpdateCertificate validated for every caller ------------------------------------------------------------------
@pytest.mark.parametrize("first,then,error", [
    ("INACTIVE", "BOGUS", "InvalidRequestException"),
    ("INACTIVE", "PENDING_TRANSFER", "InvalidRequestException"),
    ("REVOKED", "ACTIVE", "CertificateStateException"),
])
def test_update_certificate_validates_status_and_transitions(sandbox, first, then, error):
    cert = register_cert(sandbox.iot)
    sandbox.iot.update_certificate(certificateId=cert, newStatus=first)
    with pytest.raises(ClientError) as e:
        sandbox.iot.update_certificate(certificateId=cert, newStatus=then)
    assert code(e) == error
    assert sandbox.iot.describe_certificate(certificateId=cert)["certificateDescription"]["status"] == first


def test_update_certificate_touches_last_modified(sandbox):
    cert = register_cert(sandbox.iot)
    before = sandbox.iot.describe_certificate(certificateId=cert)["certificateDescription"]["lastModifiedDate"]
    time.sleep(1.1)
    sandbox.iot.update_certificate(certificateId=cert, newStatus="INACTIVE")
    after = sandbox.iot.describe_certificate(certificateId=cert)["certificateDescription"]["lastModifiedDate"]
    assert after > before
    control(sandbox, "GET", "/_sandbox/health")
