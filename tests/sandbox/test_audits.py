"""The local Device Defender's audits over HTTP: configuration, tasks, findings, suppressions, schedules, logging,
notifications. Every response is validated against the botocore output shape; refusals carry AWS's error codes."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from helpers import sandbox as sb
from tests.builders import (
    PERMISSIVE,
    make_cert_pem,
    SNS_POLICY,
    configure_audit,
    make_role,
    register_cert,
    shared_sessions,
    wait_audit,
)
from tests.shapes import assert_valid

SHARED = "DEVICE_CERTIFICATE_SHARED_CHECK"
LOGGING = "LOGGING_DISABLED_CHECK"
CLIENTS = "CONFLICTING_CLIENT_IDS_CHECK"
NOW = datetime.now(timezone.utc)


def control(sandbox, method, path, body=None):
    req = urllib.request.Request(sandbox.endpoint + path, data=None if body is None else json.dumps(body).encode(),
                                 method=method)
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


def error_code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


@pytest.fixture
def audit_env(sandbox):
    """Module 1 in miniature: one certificate shared by two things, logging off, the audit role and 3 checks."""
    iot, iam = sandbox.iot, sandbox.client("iam")
    configure_audit(iot, iam, [SHARED, LOGGING, CLIENTS])
    cert = register_cert(iot)
    for thing in ("SensorDevice01", "SensorDevice02"):
        iot.create_thing(thingName=thing)
        iot.attach_thing_principal(thingName=thing, principal=f"arn:aws:iot:us-east-1:123456789012:cert/{cert}")
    sb.record_connections(shared_sessions(cert))
    sandbox.cert = cert
    return sandbox


def run_audit(iot, checks):
    task_id = iot.start_on_demand_audit_task(targetCheckNames=checks)["taskId"]
    return task_id, wait_audit(iot, task_id)


# -- account audit configuration ----------------------------------------------------------------------------------
def test_first_update_needs_a_role_and_an_enabled_check(sandbox):
    with pytest.raises(ClientError) as e:
        sandbox.iot.update_account_audit_configuration(auditCheckConfigurations={LOGGING: {"enabled": True}})
    assert error_code(e) == "InvalidRequestException" and "roleArn" in str(e.value)
    role = make_role(sandbox.client("iam"), "R")
    with pytest.raises(ClientError) as e:
        sandbox.iot.update_account_audit_configuration(roleArn=role, auditCheckConfigurations={LOGGING: {"enabled": False}})
    assert "at least one" in str(e.value)


def test_updates_merge(sandbox):
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [LOGGING])
    iot.update_account_audit_configuration(auditCheckConfigurations={SHARED: {"enabled": True}})
    iot.update_account_audit_configuration(auditNotificationTargetConfigurations={
        "SNS": {"targetArn": "arn:aws:sns:us-east-1:123456789012:BadDevices",
                "roleArn": "arn:aws:iam::123456789012:role/SNSTopicRole", "enabled": False}})
    iot.update_account_audit_configuration(auditNotificationTargetConfigurations={"SNS": {"enabled": True}})
    resp = iot.describe_account_audit_configuration()
    assert_valid("DescribeAccountAuditConfiguration", resp)
    checks = resp["auditCheckConfigurations"]
    assert checks[LOGGING]["enabled"] and checks[SHARED]["enabled"] and not checks[CLIENTS]["enabled"]
    assert resp["auditNotificationTargetConfigurations"]["SNS"] == {
        "targetArn": "arn:aws:sns:us-east-1:123456789012:BadDevices",
        "roleArn": "arn:aws:iam::123456789012:role/SNSTopicRole", "enabled": True}


@pytest.mark.parametrize("config,needle", [
    ({"DEVICE_CERTIFICATE_EXPIRING_CHECK": {"enabled": True, "configuration": {"CERT_EXPIRATION_THRESHOLD_IN_DAYS": "29"}}}, "30 to 3652"),
    ({"DEVICE_CERTIFICATE_EXPIRING_CHECK": {"enabled": True, "configuration": {"CERT_EXPIRATION_THRESHOLD_IN_DAYS": "3653"}}}, "30 to 3652"),
    ({"DEVICE_CERTIFICATE_AGE_CHECK": {"enabled": True, "configuration": {"CERT_AGE_THRESHOLD_IN_DAYS": "abc"}}}, "whole number"),
    ({LOGGING: {"enabled": True, "configuration": {"CERT_AGE_THRESHOLD_IN_DAYS": "60"}}}, "does not apply"),
    ({"IOT_POLICY_UNRESTRICTED_CHECK": {"enabled": True}}, "not a valid audit check name"),
])
def test_check_configuration_is_validated(sandbox, config, needle):
    role = make_role(sandbox.client("iam"), "R")
    with pytest.raises(ClientError) as e:
        sandbox.iot.update_account_audit_configuration(roleArn=role, auditCheckConfigurations=config)
    assert error_code(e) == "InvalidRequestException" and needle in str(e.value)
    assert "roleArn" not in sandbox.iot.describe_account_audit_configuration()  # nothing changed


def test_custom_thresholds_are_stored(sandbox):
    role = make_role(sandbox.client("iam"), "R")
    sandbox.iot.update_account_audit_configuration(roleArn=role, auditCheckConfigurations={
        "DEVICE_CERTIFICATE_EXPIRING_CHECK": {"enabled": True, "configuration": {"CERT_EXPIRATION_THRESHOLD_IN_DAYS": "90"}}})
    cfg = sandbox.iot.describe_account_audit_configuration()["auditCheckConfigurations"]
    assert cfg["DEVICE_CERTIFICATE_EXPIRING_CHECK"]["configuration"] == {"CERT_EXPIRATION_THRESHOLD_IN_DAYS": "90"}


def test_delete_configuration(sandbox):
    iot = sandbox.iot
    with pytest.raises(ClientError) as e:
        iot.delete_account_audit_configuration()
    assert error_code(e) == "ResourceNotFoundException"
    configure_audit(iot, sandbox.client("iam"), [LOGGING])
    iot.create_scheduled_audit(scheduledAuditName="Daily", frequency="DAILY", targetCheckNames=[LOGGING])
    with pytest.raises(ClientError) as e:
        iot.delete_account_audit_configuration()
    assert "deleteScheduledAudits" in str(e.value)
    iot.delete_account_audit_configuration(deleteScheduledAudits=True)
    assert iot.list_scheduled_audits()["scheduledAudits"] == []
    assert "roleArn" not in iot.describe_account_audit_configuration()


# -- on-demand audits ---------------------------------------------------------------------------------------------
def test_module_audit_finds_shared_certificate_and_logging(audit_env):
    iot = audit_env.iot
    task_id, task = run_audit(iot, [SHARED, LOGGING, CLIENTS])
    assert_valid("DescribeAuditTask", task)
    assert task["taskStatus"] == "COMPLETED" and task["taskType"] == "ON_DEMAND_AUDIT_TASK"
    assert task["taskStatistics"] == {"totalChecks": 3, "inProgressChecks": 0, "waitingForDataCollectionChecks": 0,
                                      "compliantChecks": 1, "nonCompliantChecks": 2, "failedChecks": 0,
                                      "canceledChecks": 0}
    shared = task["auditDetails"][SHARED]
    assert shared == {"checkRunStatus": "COMPLETED_NON_COMPLIANT", "checkCompliant": False, "totalResourcesCount": 1,
                      "nonCompliantResourcesCount": 1, "suppressedNonCompliantResourcesCount": 0}
    findings = iot.list_audit_findings(taskId=task_id)
    assert_valid("ListAuditFindings", findings)
    by_check = {f["checkName"]: f for f in findings["findings"]}
    assert set(by_check) == {SHARED, LOGGING}
    f = by_check[SHARED]
    assert f["severity"] == "CRITICAL" and f["nonCompliantResource"]["resourceIdentifier"] == {"deviceCertificateId": audit_env.cert}
    # one CLIENT_ID per session (3 each), newest first, as in the AWS CLI's list-audit-findings example
    assert [r["resourceIdentifier"]["clientId"] for r in f["relatedResources"]] == ["SensorDevice02", "SensorDevice01"] * 3
    assert by_check[LOGGING]["nonCompliantResource"]["resourceIdentifier"] == {"account": "123456789012"}


def test_connections_in_the_last_two_hours_or_older_than_31_days_are_ignored(sandbox):
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [SHARED])
    recent, old, solo = register_cert(iot), register_cert(iot), register_cert(iot)
    sb.record_connections(shared_sessions(recent, hours_ago=1) + shared_sessions(old, hours_ago=32 * 24)
                          + shared_sessions(solo, clients=("Solo",)))  # one device in the window: the check has data
    _, task = run_audit(iot, [SHARED])
    assert task["auditDetails"][SHARED]["checkRunStatus"] == "COMPLETED_COMPLIANT"
    assert task["auditDetails"][SHARED]["nonCompliantResourcesCount"] == 0


def test_inactive_certificate_is_not_audited(audit_env):
    audit_env.iot.update_certificate(certificateId=audit_env.cert, newStatus="INACTIVE")
    _, task = run_audit(audit_env.iot, [SHARED])
    assert task["auditDetails"][SHARED]["checkRunStatus"] == "COMPLETED_COMPLIANT"


@pytest.mark.parametrize("checks,needle", [
    (["NOT_A_CHECK"], "not a valid audit check name"),
    (["DEVICE_CERTIFICATE_EXPIRING_CHECK"], "not enabled"),
    ([], "non-empty"),
])
def test_start_is_refused_as_aws_refuses_it(audit_env, checks, needle):
    with pytest.raises(ClientError) as e:
        audit_env.iot.start_on_demand_audit_task(targetCheckNames=checks)
    assert error_code(e) == "InvalidRequestException" and needle in str(e.value)


def test_start_on_a_never_configured_account_is_refused(sandbox):
    with pytest.raises(ClientError) as e:
        sandbox.iot.start_on_demand_audit_task(targetCheckNames=[LOGGING])
    assert error_code(e) == "InvalidRequestException" and "UpdateAccountAuditConfiguration" in str(e.value)


@pytest.mark.parametrize("problem", ["missing", "untrusted", "no-permissions", "partial"])
def test_a_broken_audit_role_fails_the_checks(sandbox, problem):
    iot, iam = sandbox.iot, sandbox.client("iam")
    if problem == "missing":
        role = "arn:aws:iam::123456789012:role/DoesNotExist"
    elif problem == "untrusted":
        role = make_role(iam, "R", trust={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    elif problem == "no-permissions":
        role = make_role(iam, "R", managed=None)
    else:
        role = make_role(iam, "R", managed=None)
        iam.put_role_policy(RoleName="R", PolicyName="logs-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
                                                    "Action": ["iot:GetLoggingOptions", "iot:GetV2LoggingOptions"]}]}))
    iot.update_account_audit_configuration(roleArn=role, auditCheckConfigurations={
        LOGGING: {"enabled": True}, SHARED: {"enabled": True}})
    _, task = run_audit(iot, [LOGGING, SHARED])
    assert_valid("DescribeAuditTask", task)
    shared = task["auditDetails"][SHARED]
    assert shared["checkRunStatus"] == "FAILED" and shared["errorCode"] == "INSUFFICIENT_PERMISSIONS"
    if problem == "partial":
        assert task["taskStatus"] == "COMPLETED" and "iot:ListCertificates" in shared["message"]
        assert task["auditDetails"][LOGGING]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"
    else:
        assert task["taskStatus"] == "FAILED" and task["taskStatistics"]["failedChecks"] == 2


def no_retry_iot(sandbox):
    """Return an IoT client without retries (botocore's standard mode retries LimitExceededException)."""
    import boto3
    from botocore.config import Config

    return boto3.client("iot", endpoint_url=sandbox.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))


def test_ten_concurrent_on_demand_audits_at_most(audit_env):
    control(audit_env, "POST", "/_sandbox/config?region=us-east-1", {"auditDelaySeconds": 3})
    ids = [audit_env.iot.start_on_demand_audit_task(targetCheckNames=[LOGGING])["taskId"] for _ in range(10)]
    with pytest.raises(ClientError) as e:
        no_retry_iot(audit_env).start_on_demand_audit_task(targetCheckNames=[LOGGING])
    assert error_code(e) == "LimitExceededException"
    for task_id in ids:
        audit_env.iot.cancel_audit_task(taskId=task_id)
    audit_env.iot.start_on_demand_audit_task(targetCheckNames=[LOGGING])  # room again


def test_cancel(audit_env):
    iot = audit_env.iot
    control(audit_env, "POST", "/_sandbox/config?region=us-east-1", {"auditDelaySeconds": 2})
    task_id = iot.start_on_demand_audit_task(targetCheckNames=[LOGGING, SHARED])["taskId"]
    assert iot.describe_audit_task(taskId=task_id)["taskStatus"] == "IN_PROGRESS"
    iot.cancel_audit_task(taskId=task_id)
    task = iot.describe_audit_task(taskId=task_id)
    assert task["taskStatus"] == "CANCELED" and task["taskStatistics"]["canceledChecks"] == 2
    with pytest.raises(ClientError) as e:
        iot.cancel_audit_task(taskId=task_id)
    assert error_code(e) == "InvalidRequestException"
    time.sleep(2.3)  # the worker wakes up and must not resurrect the task
    assert iot.describe_audit_task(taskId=task_id)["taskStatus"] == "CANCELED"
    with pytest.raises(ClientError) as e:
        iot.cancel_audit_task(taskId="0" * 32)
    assert error_code(e) == "ResourceNotFoundException"


def test_list_audit_tasks_filters_and_pages(audit_env):
    iot = audit_env.iot
    ids = {run_audit(iot, [LOGGING])[0] for _ in range(3)}
    start, end = NOW - timedelta(hours=1), datetime.now(timezone.utc) + timedelta(minutes=1)
    paginator = iot.get_paginator("list_audit_tasks")
    pages = list(paginator.paginate(startTime=start, endTime=end, PaginationConfig={"PageSize": 1}))
    for page in pages:
        assert_valid("ListAuditTasks", page)
    assert len(pages) == 3 and {t["taskId"] for p in pages for t in p["tasks"]} == ids
    assert iot.list_audit_tasks(startTime=start, endTime=end, taskStatus="FAILED")["tasks"] == []
    assert len(iot.list_audit_tasks(startTime=start, endTime=end, taskType="ON_DEMAND_AUDIT_TASK")["tasks"]) == 3
    with pytest.raises(ClientError) as e:
        iot.list_audit_tasks(startTime=NOW - timedelta(days=91), endTime=end)
    assert "retention" in str(e.value)


# -- findings -----------------------------------------------------------------------------------------------------
def test_list_findings_by_time_check_and_resource(audit_env):
    iot = audit_env.iot
    task_id, _ = run_audit(iot, [SHARED, LOGGING])
    start, end = NOW - timedelta(hours=1), datetime.now(timezone.utc) + timedelta(minutes=1)
    by_time = iot.list_audit_findings(startTime=start, endTime=end, checkName=SHARED)["findings"]
    assert [f["taskId"] for f in by_time] == [task_id]
    by_resource = iot.list_audit_findings(taskId=task_id, resourceIdentifier={"account": "123456789012"})["findings"]
    assert [f["checkName"] for f in by_resource] == [LOGGING]
    for bad in ({}, {"taskId": task_id, "startTime": start, "endTime": end}, {"startTime": start}):
        with pytest.raises(ClientError) as e:
            iot.list_audit_findings(**bad)
        assert error_code(e) == "InvalidRequestException"


def test_findings_page_with_the_boto3_paginator(audit_env):
    iot = audit_env.iot
    task_id, _ = run_audit(iot, [SHARED, LOGGING])
    pages = list(iot.get_paginator("list_audit_findings").paginate(taskId=task_id, PaginationConfig={"PageSize": 1}))
    assert len(pages) == 2 and sum(len(p["findings"]) for p in pages) == 2
    with pytest.raises(ClientError) as e:
        iot.list_audit_findings(taskId=task_id, nextToken="garbage")
    assert "nextToken" in str(e.value)


def test_describe_finding_and_related_resources(audit_env):
    iot = audit_env.iot
    clients = [f"client-{i:02d}" for i in range(12)]
    sb.record_connections(shared_sessions(audit_env.cert, clients=clients, count=1))
    task_id, _ = run_audit(iot, [SHARED])
    finding_id = iot.list_audit_findings(taskId=task_id)["findings"][0]["findingId"]
    described = iot.describe_audit_finding(findingId=finding_id)
    assert_valid("DescribeAuditFinding", described)
    assert len(described["finding"]["relatedResources"]) == 10  # at most 10 here; the list call has them all
    related = [r for page in iot.get_paginator("list_related_resources_for_audit_finding").paginate(
        findingId=finding_id, PaginationConfig={"PageSize": 5}) for r in page["relatedResources"]]
    assert len(related) == 18  # 12 sessions + 3 each of SensorDevice01/02
    with pytest.raises(ClientError) as e:
        iot.describe_audit_finding(findingId="nope")
    assert error_code(e) == "ResourceNotFoundException"


def test_finding_ids_are_stable(audit_env):
    task_id, _ = run_audit(audit_env.iot, [SHARED])
    first = audit_env.iot.list_audit_findings(taskId=task_id)["findings"][0]["findingId"]
    again = audit_env.iot.list_audit_findings(taskId=task_id)["findings"][0]["findingId"]
    assert first == again


# -- suppressions ------------------------------------------------------------------------------------------------
def test_suppression_lifecycle_and_effect(audit_env):
    iot = audit_env.iot
    resource = {"deviceCertificateId": audit_env.cert}
    iot.create_audit_suppression(checkName=SHARED, resourceIdentifier=resource,
                                 expirationDate=NOW + timedelta(days=7), description="known lab device",
                                 clientRequestToken="t1")
    with pytest.raises(ClientError) as e:
        iot.create_audit_suppression(checkName=SHARED, resourceIdentifier=resource, suppressIndefinitely=True,
                                     clientRequestToken="t2")
    assert error_code(e) == "ResourceAlreadyExistsException"
    described = iot.describe_audit_suppression(checkName=SHARED, resourceIdentifier=resource)
    assert_valid("DescribeAuditSuppression", described)
    assert described["description"] == "known lab device"
    listed = iot.list_audit_suppressions()
    assert_valid("ListAuditSuppressions", listed)
    assert len(listed["suppressions"]) == 1

    task_id, task = run_audit(iot, [SHARED])
    detail = task["auditDetails"][SHARED]
    assert detail["checkRunStatus"] == "COMPLETED_COMPLIANT" and detail["checkCompliant"]
    assert detail["nonCompliantResourcesCount"] == 1 and detail["suppressedNonCompliantResourcesCount"] == 1
    assert iot.list_audit_findings(taskId=task_id, listSuppressedFindings=False)["findings"] == []
    assert iot.list_audit_findings(taskId=task_id, listSuppressedFindings=True)["findings"][0]["isSuppressed"]

    iot.update_audit_suppression(checkName=SHARED, resourceIdentifier=resource, suppressIndefinitely=True)
    assert iot.describe_audit_suppression(checkName=SHARED, resourceIdentifier=resource)["suppressIndefinitely"]
    iot.delete_audit_suppression(checkName=SHARED, resourceIdentifier=resource)
    iot.delete_audit_suppression(checkName=SHARED, resourceIdentifier=resource)  # gone already is fine
    _, task = run_audit(iot, [SHARED])
    assert task["auditDetails"][SHARED]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"


@pytest.mark.parametrize("kwargs,needle", [
    ({"checkName": SHARED, "resourceIdentifier": {"account": "123456789012"}, "suppressIndefinitely": True}, "deviceCertificateId"),
    ({"checkName": SHARED, "resourceIdentifier": {"deviceCertificateId": "a" * 64}}, "expirationDate"),
    ({"checkName": SHARED, "resourceIdentifier": {"deviceCertificateId": "a" * 64},
      "expirationDate": NOW - timedelta(days=1)}, "future"),
    ({"checkName": "BOGUS_CHECK", "resourceIdentifier": {"deviceCertificateId": "a" * 64}, "suppressIndefinitely": True}, "not a valid"),
])
def test_bad_suppressions_are_refused(sandbox, kwargs, needle):
    with pytest.raises(ClientError) as e:
        sandbox.iot.create_audit_suppression(clientRequestToken="t", **kwargs)
    assert error_code(e) == "InvalidRequestException" and needle in str(e.value)


# -- scheduled audits ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"frequency": "DAILY"},
    {"frequency": "WEEKLY", "dayOfWeek": "MON"},
    {"frequency": "BIWEEKLY", "dayOfWeek": "SUN"},
    {"frequency": "MONTHLY", "dayOfMonth": "31"},
    {"frequency": "MONTHLY", "dayOfMonth": "LAST"},
])
def test_scheduled_audit_round_trip(audit_env, kwargs):
    iot = audit_env.iot
    created = iot.create_scheduled_audit(scheduledAuditName="Sched", targetCheckNames=[LOGGING], **kwargs)
    assert_valid("CreateScheduledAudit", created)
    assert created["scheduledAuditArn"] == "arn:aws:iot:us-east-1:123456789012:scheduledaudit/Sched"
    described = iot.describe_scheduled_audit(scheduledAuditName="Sched")
    assert_valid("DescribeScheduledAudit", described)
    assert {k: described[k] for k in kwargs} == kwargs
    listed = iot.list_scheduled_audits()
    assert_valid("ListScheduledAudits", listed)
    assert listed["scheduledAudits"][0]["scheduledAuditName"] == "Sched"


@pytest.mark.parametrize("kwargs,needle", [
    ({"frequency": "WEEKLY"}, "needs dayOfWeek"),
    ({"frequency": "BIWEEKLY", "dayOfWeek": "FUNDAY"}, "Value 'FUNDAY' at 'dayOfWeek' failed to satisfy constraint"),
    ({"frequency": "MONTHLY"}, "needs dayOfMonth"),
    ({"frequency": "MONTHLY", "dayOfMonth": "32"}, "Value '32' at 'dayOfMonth' failed to satisfy constraint"),
    ({"frequency": "MONTHLY", "dayOfMonth": "0"}, "Value '0' at 'dayOfMonth' failed to satisfy constraint"),
    ({"frequency": "DAILY", "dayOfWeek": "MON"}, "neither"),
    ({"frequency": "HOURLY"}, "Value 'HOURLY' at 'frequency' failed to satisfy constraint"),
])
def test_bad_schedules_are_refused(audit_env, kwargs, needle):
    with pytest.raises(ClientError) as e:
        audit_env.iot.create_scheduled_audit(scheduledAuditName="Bad", targetCheckNames=[LOGGING], **kwargs)
    assert error_code(e) == "InvalidRequestException" and needle in str(e.value)


def test_scheduled_audit_quota_names_and_checks(audit_env):
    iot = audit_env.iot
    for i in range(5):
        iot.create_scheduled_audit(scheduledAuditName=f"S{i}", frequency="DAILY", targetCheckNames=[LOGGING])
    with pytest.raises(ClientError) as e:
        iot.create_scheduled_audit(scheduledAuditName="S0", frequency="DAILY", targetCheckNames=[LOGGING])
    assert error_code(e) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as e:
        no_retry_iot(audit_env).create_scheduled_audit(scheduledAuditName="S5", frequency="DAILY",
                                                       targetCheckNames=[LOGGING])
    assert error_code(e) == "LimitExceededException"
    with pytest.raises(ClientError) as e:
        iot.update_account_audit_configuration(auditCheckConfigurations={LOGGING: {"enabled": False}})
    assert "used by scheduled audit" in str(e.value)
    iot.update_scheduled_audit(scheduledAuditName="S1", frequency="WEEKLY", dayOfWeek="TUE")
    assert iot.describe_scheduled_audit(scheduledAuditName="S1")["dayOfWeek"] == "TUE"
    iot.delete_scheduled_audit(scheduledAuditName="S1")
    with pytest.raises(ClientError) as e:
        iot.describe_scheduled_audit(scheduledAuditName="S1")
    assert error_code(e) == "ResourceNotFoundException"


def test_advancing_the_clock_runs_the_due_scheduled_audit(audit_env):
    iot = audit_env.iot
    iot.create_scheduled_audit(scheduledAuditName="Daily", frequency="DAILY", targetCheckNames=[LOGGING])
    assert control(audit_env, "POST", "/_sandbox/iot/scheduled-audits/run-due?region=us-east-1")["startedTaskIds"] == []
    result = control(audit_env, "POST", "/_sandbox/clock?region=us-east-1", {"advanceSeconds": 86400 + 60})
    (task_id,) = result["startedTaskIds"]
    task = wait_audit(iot, task_id)
    assert task["taskType"] == "SCHEDULED_AUDIT_TASK" and task["scheduledAuditName"] == "Daily"
    assert task["auditDetails"][LOGGING]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"
    # ran once: not due again until another day passes
    assert control(audit_env, "POST", "/_sandbox/iot/scheduled-audits/run-due?region=us-east-1")["startedTaskIds"] == []
    (forced,) = control(audit_env, "POST", "/_sandbox/iot/scheduled-audits/run-due?region=us-east-1",
                        {"force": ["Daily"]})["startedTaskIds"]
    assert wait_audit(iot, forced)["scheduledAuditName"] == "Daily"


# -- logging ------------------------------------------------------------------------------------------------------
def test_logging_options_and_the_logging_check(audit_env):
    iot = audit_env.iot
    with pytest.raises(ClientError) as e:
        iot.get_v2_logging_options()
    assert error_code(e) == "NotConfiguredException"
    assert_valid("GetLoggingOptions", iot.get_logging_options())
    role = make_role(audit_env.client("iam"), "IoTLoggingRole", managed=None)
    iot.set_v2_logging_options(roleArn=role, defaultLogLevel="ERROR")
    options = iot.get_v2_logging_options()
    assert_valid("GetV2LoggingOptions", options)
    assert options["defaultLogLevel"] == "ERROR" and options["disableAllLogs"] is False
    _, task = run_audit(iot, [LOGGING])
    assert task["auditDetails"][LOGGING]["checkRunStatus"] == "COMPLETED_COMPLIANT"
    iot.set_v2_logging_options(disableAllLogs=True)
    _, task = run_audit(iot, [LOGGING])
    assert task["auditDetails"][LOGGING]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"
    iot.set_logging_options(loggingOptionsPayload={"roleArn": role, "logLevel": "WARN"})  # v1 alone is enough
    v1 = iot.get_logging_options()
    assert (v1["roleArn"], v1["logLevel"]) == (role, "WARN")
    _, task = run_audit(iot, [LOGGING])
    assert task["auditDetails"][LOGGING]["checkRunStatus"] == "COMPLETED_COMPLIANT"


def test_v2_logging_levels(sandbox):
    iot = sandbox.iot
    with pytest.raises(ClientError) as e:
        iot.list_v2_logging_levels()
    assert error_code(e) == "NotConfiguredException"
    iot.set_v2_logging_options(roleArn="arn:aws:iam::123456789012:role/IoTLoggingRole", defaultLogLevel="WARN")
    iot.set_v2_logging_level(logTarget={"targetType": "THING_GROUP", "targetName": "Sensors"}, logLevel="DEBUG")
    iot.set_v2_logging_level(logTarget={"targetType": "DEFAULT"}, logLevel="ERROR")
    levels = iot.list_v2_logging_levels()
    assert_valid("ListV2LoggingLevels", levels)
    assert len(levels["logTargetConfigurations"]) == 2
    iot.delete_v2_logging_level(targetType="THING_GROUP", targetName="Sensors")
    assert len(iot.list_v2_logging_levels()["logTargetConfigurations"]) == 1
    with pytest.raises(ClientError) as e:
        iot.set_v2_logging_level(logTarget={"targetType": "DEFAULT"}, logLevel="LOUD")
    assert error_code(e) == "InvalidRequestException"


# -- notifications ------------------------------------------------------------------------------------------------
def test_completed_audit_notifies_the_sns_target(audit_env):
    iot, sns, sqs, iam = audit_env.iot, audit_env.client("sns"), audit_env.client("sqs"), audit_env.client("iam")
    topic = sns.create_topic(Name="BadDevices")["TopicArn"]
    queue = sqs.create_queue(QueueName="audit-notifications")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    role = make_role(iam, "SNSTopicRole", managed=SNS_POLICY)
    iot.update_account_audit_configuration(auditNotificationTargetConfigurations={
        "SNS": {"targetArn": topic, "roleArn": role, "enabled": True}})
    task_id, _ = run_audit(iot, [SHARED, LOGGING])
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=2)["Messages"]
    body = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert body["taskId"] == task_id and body["taskStatus"] == "COMPLETED"
    assert body["accountId"] == "123456789012" and body["taskType"] == "ON_DEMAND_AUDIT_TASK"
    assert body["nonCompliantChecksCount"] == 2 and body["totalChecksCount"] == 2
    assert {d["checkName"] for d in body["auditDetails"]} == {SHARED, LOGGING}


def test_notification_with_a_role_that_cannot_publish_is_not_delivered(audit_env):
    iot, sns = audit_env.iot, audit_env.client("sns")
    topic = sns.create_topic(Name="BadDevices")["TopicArn"]
    role = make_role(audit_env.client("iam"), "NoPublish", managed=None)
    iot.update_account_audit_configuration(auditNotificationTargetConfigurations={
        "SNS": {"targetArn": topic, "roleArn": role, "enabled": True}})
    run_audit(iot, [LOGGING])
    (entry,) = control(audit_env, "GET", "/_sandbox/iot/notifications?region=us-east-1")["notifications"]
    assert entry["status"] == "FAILED" and "sns:Publish" in entry["reason"]


# -- moto gaps ----------------------------------------------------------------------------------------------------
def test_certificate_validity_comes_from_the_pem(sandbox):
    cert_id = register_cert(sandbox.iot, days=400)
    validity = sandbox.iot.describe_certificate(certificateId=cert_id)["certificateDescription"]["validity"]
    assert (validity["notAfter"] - validity["notBefore"]).days == 400


def test_list_operations_really_page(sandbox):
    iot = sandbox.iot
    for i in range(3):
        register_cert(iot)
        iot.create_thing(thingName=f"t{i}")
        iot.create_policy(policyName=f"p{i}", policyDocument=PERMISSIVE)
    control(sandbox, "POST", "/_sandbox/config?region=us-east-1", {"maxPageSize": 1})
    for op, key in (("list_certificates", "certificates"), ("list_things", "things"), ("list_policies", "policies")):
        pages = list(iot.get_paginator(op).paginate())
        assert len(pages) == 3 and sum(len(p[key]) for p in pages) == 3, op
    assert iot.list_certificates()["nextMarker"]


def test_ca_certificates_and_tags(sandbox):
    from tests.builders import make_cert_pem

    iot = sandbox.iot
    pem, _ = make_cert_pem("Fleet CA")
    ca = iot.register_ca_certificate(caCertificate=pem, setAsActive=True, allowAutoRegistration=False,
                                     tags=[{"Key": "workshop", "Value": "iot-audit-module2"}])
    listed = iot.list_ca_certificates()
    assert_valid("ListCACertificates", listed)
    assert [c["certificateId"] for c in listed["certificates"]] == [ca["certificateId"]]
    assert iot.list_tags_for_resource(resourceArn=ca["certificateArn"])["tags"] == [
        {"Key": "workshop", "Value": "iot-audit-module2"}]
    policy = iot.create_policy(policyName="DevicePolicy", policyDocument=PERMISSIVE)["policyArn"]
    iot.tag_resource(resourceArn=policy, tags=[{"Key": "workshop", "Value": "iot-audit-module2"}, {"Key": "run", "Value": "r1"}])
    iot.untag_resource(resourceArn=policy, tagKeys=["run"])
    tags = iot.list_tags_for_resource(resourceArn=policy)
    assert_valid("ListTagsForResource", tags)
    assert tags["tags"] == [{"Key": "workshop", "Value": "iot-audit-module2"}]
    with pytest.raises(ClientError) as e:
        iot.tag_resource(resourceArn="arn:aws:iot:us-east-1:123456789012:policy/Nope", tags=[{"Key": "a", "Value": "b"}])
    assert error_code(e) == "ResourceNotFoundException"


def test_the_scheduler_runs_due_audits_of_every_account(audit_env):
    from helpers.sandbox.models import devicedefender_backends
    from helpers.sandbox.server import run_due_everywhere

    audit_env.iot.create_scheduled_audit(scheduledAuditName="Weekly", frequency="WEEKLY", dayOfWeek="MON",
                                         targetCheckNames=[LOGGING])
    backend = devicedefender_backends["123456789012"]["us-east-1"]
    assert run_due_everywhere() == []
    backend.clock_offset += timedelta(days=8)
    (task_id,) = run_due_everywhere()
    assert wait_audit(audit_env.iot, task_id)["scheduledAuditName"] == "Weekly"


def test_bulk_register_builds_the_same_state_as_the_api(sandbox):
    from tests.builders import make_cert_pem

    iot = sandbox.iot
    iot.create_policy(policyName="DevicePolicy", policyDocument=PERMISSIVE)
    pem_a, pem_b = make_cert_pem("a")[0], make_cert_pem("b")[0]
    devices = [{"thingName": "d1", "certificatePem": pem_a, "policyNames": ["DevicePolicy"], "attributes": {"k": "v"}},
               {"thingName": "d2", "certificatePem": pem_a, "policyNames": ["DevicePolicy"]},
               {"thingName": "d3", "certificatePem": pem_b, "certificateStatus": "INACTIVE"}]
    assert control(sandbox, "POST", "/_sandbox/iot/bulk-register?region=us-east-1", {"devices": devices}) == {
        "things": 3, "certificates": 2}
    certs = {c["certificateId"]: c for c in iot.list_certificates()["certificates"]}
    assert sorted(c["status"] for c in certs.values()) == ["ACTIVE", "INACTIVE"]
    shared = next(c for c in certs.values() if c["status"] == "ACTIVE")
    assert sorted(iot.list_principal_things(principal=shared["certificateArn"])["things"]) == ["d1", "d2"]
    assert iot.list_attached_policies(target=shared["certificateArn"])["policies"][0]["policyName"] == "DevicePolicy"
    assert iot.describe_thing(thingName="d1")["attributes"] == {"k": "v"}


BULK_PEM = make_cert_pem("bulk")[0]


@pytest.mark.parametrize("devices,needle", [
    ([{"thingName": "bad name!", "certificatePem": BULK_PEM}], "thingName"),
    ([{"thingName": "d1", "certificatePem": "nope"}], "PEM"),
    ([{"thingName": "d1", "certificatePem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}],
     "does not parse"),
    ([{"thingName": "d1", "certificatePem": BULK_PEM, "policyNames": ["Missing"]}], "Missing"),
    ([{"thingName": "d1", "certificatePem": BULK_PEM}] * 2, "already exists"),
    ("not a list", "list"),
])
def test_bulk_register_refuses_bad_input_and_changes_nothing(sandbox, devices, needle):
    req = urllib.request.Request(sandbox.endpoint + "/_sandbox/iot/bulk-register?region=us-east-1",
                                 data=json.dumps({"devices": devices}).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req)
    assert e.value.code == 400 and needle in json.loads(e.value.read())["error"]
    assert sandbox.iot.list_things()["things"] == []
