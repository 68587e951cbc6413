"""Fidelity gaps closed by reading AWS's documentation against the sandbox (issue 14, item 5): each test fails on the
behaviour the sandbox had before."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from helpers import sandbox as sb
from helpers.sandbox.models import devicedefender_backends
from tests.builders import configure_audit, make_cert_pem, register_cert, shared_sessions, wait_audit
from tests.sandbox.test_mitigation import DEACTIVATE, action_role, module, start, wait_task  # noqa: F401 (fixture)
from tests.shapes import assert_valid

SHARED = "DEVICE_CERTIFICATE_SHARED_CHECK"
LOGGING = "LOGGING_DISABLED_CHECK"


def error_code(exc_info) -> str:
    return exc_info.value.response["Error"]["Code"]


# -- ListAuditSuppressions keeps description ------------------------------------------------------------------------
def test_listed_suppressions_carry_their_description(sandbox):
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [LOGGING])
    iot.create_audit_suppression(checkName=LOGGING, resourceIdentifier={"account": sandbox.account},
                                 suppressIndefinitely=True, description="lab account, logging costs money")
    listed = iot.list_audit_suppressions()
    assert_valid("ListAuditSuppressions", listed)
    assert [s.get("description") for s in listed["suppressions"]] == ["lab account, logging costs money"]


# -- clientRequestToken reuse -----------------------------------------------------------------------------------
def test_a_suppression_token_is_idempotent_for_the_same_request_and_refused_for_another(sandbox):
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [SHARED])
    one, two = register_cert(iot), register_cert(iot)
    request = {"checkName": SHARED, "resourceIdentifier": {"deviceCertificateId": one}, "suppressIndefinitely": True,
               "clientRequestToken": "token-1"}
    iot.create_audit_suppression(**request)
    iot.create_audit_suppression(**request)  # a retry of the same request: succeeds, creates nothing new
    assert len(iot.list_audit_suppressions()["suppressions"]) == 1
    with pytest.raises(ClientError) as e:
        iot.create_audit_suppression(**{**request, "resourceIdentifier": {"deviceCertificateId": two}})
    assert error_code(e) == "ResourceAlreadyExistsException" and "token-1" in str(e.value)
    with pytest.raises(ClientError) as e:  # same resource, different request
        iot.create_audit_suppression(**{**request, "description": "changed my mind"})
    assert error_code(e) == "ResourceAlreadyExistsException"
    assert len(iot.list_audit_suppressions()["suppressions"]) == 1


def test_a_new_mitigation_task_with_a_used_token_is_refused(module):
    iot = module.iot
    iot.create_mitigation_action(actionName="Deactivate", roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"),
                                 actionParams=DEACTIVATE)
    target = {"findingIds": [module.findings[SHARED]["findingId"]]}
    mapping = {SHARED: ["Deactivate"]}
    iot.start_audit_mitigation_actions_task(taskId="first", target=target, auditCheckToActionsMapping=mapping,
                                            clientRequestToken="same-token")
    again = iot.start_audit_mitigation_actions_task(taskId="first", target=target, auditCheckToActionsMapping=mapping,
                                                    clientRequestToken="same-token")
    assert again["taskId"] == "first"  # the idempotent retry
    with pytest.raises(ClientError) as e:
        iot.start_audit_mitigation_actions_task(taskId="second", target=target, auditCheckToActionsMapping=mapping,
                                                clientRequestToken="same-token")
    assert error_code(e) == "TaskAlreadyExistsException" and "first" in str(e.value)
    with pytest.raises(ClientError):
        iot.describe_audit_mitigation_actions_task(taskId="second")


# -- ListAuditMitigationActionsTasks: endTime bounds when a task ended -----------------------------------------
def test_end_time_bounds_when_a_mitigation_task_ended(module):
    iot = module.iot
    iot.create_mitigation_action(actionName="Deactivate", roleArn=action_role(module, "UPDATE_DEVICE_CERTIFICATE"),
                                 actionParams=DEACTIVATE)
    task_id = start(iot, "LongRunning", {"findingIds": [module.findings[SHARED]["findingId"]]},
                    {SHARED: ["Deactivate"]})
    began = wait_task(iot, task_id)["startTime"]
    task = devicedefender_backends[module.account]["us-east-1"].mitigation_tasks[task_id]
    task.end_time = task.start_time + timedelta(hours=2)  # as if it had run for two hours

    def listed(end):
        resp = iot.list_audit_mitigation_actions_tasks(startTime=began - timedelta(minutes=1), endTime=end)
        assert_valid("ListAuditMitigationActionsTasks", resp)
        return [t["taskId"] for t in resp["tasks"]]

    assert listed(began + timedelta(hours=1)) == []  # began in the range, but ended after it
    assert listed(began + timedelta(hours=3)) == [task_id]


# -- ListV2LoggingLevels lists the DEFAULT target ------------------------------------------------------------------
def test_v2_logging_levels_list_the_default_level(sandbox):
    iot = sandbox.iot
    iot.set_v2_logging_options(roleArn="arn:aws:iam::123456789012:role/IoTLoggingRole", defaultLogLevel="WARN")
    levels = iot.list_v2_logging_levels()
    assert_valid("ListV2LoggingLevels", levels)
    assert levels["logTargetConfigurations"] == [{"logTarget": {"targetType": "DEFAULT"}, "logLevel": "WARN"}]
    iot.set_v2_logging_level(logTarget={"targetType": "CLIENT_ID", "targetName": "sensor-1"}, logLevel="DEBUG")
    iot.set_v2_logging_level(logTarget={"targetType": "DEFAULT"}, logLevel="ERROR")  # the same, account-wide level
    assert iot.get_v2_logging_options()["defaultLogLevel"] == "ERROR"
    assert iot.list_v2_logging_levels()["logTargetConfigurations"] == [
        {"logTarget": {"targetType": "DEFAULT"}, "logLevel": "ERROR"},
        {"logTarget": {"targetType": "CLIENT_ID", "targetName": "sensor-1"}, "logLevel": "DEBUG"}]
    assert [r["logTarget"]["targetType"] for r in
            iot.list_v2_logging_levels(targetType="CLIENT_ID")["logTargetConfigurations"]] == ["CLIENT_ID"]


# -- DEVICE_CERTIFICATE_SHARED_CHECK names every session -----------------------------------------------------------
def test_shared_certificate_finding_names_one_client_id_per_session_newest_first(sandbox):
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [SHARED])
    cert = register_cert(iot)
    sb.record_connections(shared_sessions(cert, count=3))  # 3 overlapping sessions of 2 clients
    task_id = iot.start_on_demand_audit_task(targetCheckNames=[SHARED])["taskId"]
    wait_audit(iot, task_id)
    (finding,) = iot.list_audit_findings(taskId=task_id)["findings"]
    related = finding["relatedResources"]
    assert [r["resourceIdentifier"]["clientId"] for r in related] == ["SensorDevice02", "SensorDevice01"] * 3
    times = [int(r["additionalInfo"]["CONNECTION_TIME"]) for r in related]
    assert times == sorted(times, reverse=True) and len(set(times)) == 6


# -- bulk registration with a registration date (DEVICE_CERTIFICATE_AGE_CHECK has ground truth) ----------------
AGE = "DEVICE_CERTIFICATE_AGE_CHECK"
BULK = "/_sandbox/iot/bulk-register?region=us-east-1"
DAY = 86400


def bulk(sandbox, devices):
    """POST the bulk-register control; return (HTTP status, JSON reply)."""
    req = urllib.request.Request(sandbox.endpoint + BULK, data=json.dumps({"devices": devices}).encode(), method="POST")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_bulk_registered_certificates_keep_their_registration_date_and_the_age_check_sees_it(sandbox):
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [AGE])
    old_pem = make_cert_pem("old", days=1000, not_before=datetime.now(timezone.utc) - timedelta(days=500))[0]
    new_pem = make_cert_pem("new")[0]
    registered = time.time() - 400 * DAY
    assert bulk(sandbox, [{"thingName": "old-device", "certificatePem": old_pem, "registeredAt": registered},
                          {"thingName": "new-device", "certificatePem": new_pem}]) == (200, {"things": 2,
                                                                                           "certificates": 2})
    dates = {c["certificateId"]: c["creationDate"] for c in iot.list_certificates()["certificates"]}
    old_id = next(cid for cid, when in dates.items() if when.timestamp() < time.time() - 300 * DAY)
    assert abs(dates[old_id].timestamp() - registered) < 1
    task_id = iot.start_on_demand_audit_task(targetCheckNames=[AGE])["taskId"]
    assert wait_audit(iot, task_id)["auditDetails"][AGE]["nonCompliantResourcesCount"] == 1
    (finding,) = iot.list_audit_findings(taskId=task_id)["findings"]
    assert finding["nonCompliantResource"]["resourceIdentifier"] == {"deviceCertificateId": old_id}
    assert finding["reasonForNonComplianceCode"] == "CERTIFICATE_PAST_AGE_THRESHOLD"


@pytest.mark.parametrize("registered_at,needle", [
    (time.time() + 3600, "in the future"),
    (time.time() - 30 * DAY, "before the certificate's notBefore"),  # the PEM was issued a day ago
    ("2020-01-01", "epoch seconds"),
    (True, "epoch seconds"),
])
def test_bulk_registration_dates_are_validated(sandbox, registered_at, needle):
    pem = make_cert_pem("device")[0]
    status, reply = bulk(sandbox, [{"thingName": "d1", "certificatePem": pem, "registeredAt": registered_at}])
    assert status == 400 and needle in reply["error"], reply
    assert sandbox.iot.list_things()["things"] == [] and sandbox.iot.list_certificates()["certificates"] == []


def test_one_certificate_has_one_registration_date(sandbox):
    pem = make_cert_pem("shared", not_before=datetime.now(timezone.utc) - timedelta(days=10))[0]
    status, reply = bulk(sandbox, [{"thingName": "d1", "certificatePem": pem, "registeredAt": time.time() - 5 * DAY},
                                   {"thingName": "d2", "certificatePem": pem, "registeredAt": time.time() - 6 * DAY}])
    assert status == 400 and "devices[0].registeredAt" in reply["error"], reply


def test_the_sandbox_clock_bounds_the_registration_date(sandbox):
    pem = make_cert_pem("device")[0]
    later = time.time() + 2 * DAY
    assert bulk(sandbox, [{"thingName": "d1", "certificatePem": pem, "registeredAt": later}])[0] == 400
    req = urllib.request.Request(sandbox.endpoint + "/_sandbox/clock", data=json.dumps({"advanceSeconds": 3 * DAY})
                                 .encode(), method="POST")
    urllib.request.urlopen(req).close()
    assert bulk(sandbox, [{"thingName": "d1", "certificatePem": pem, "registeredAt": later}])[0] == 200


# -- WAITING_FOR_DATA_COLLECTION, and disabling a check deletes its data ------------------------------------------
CLIENTS = "CONFLICTING_CLIENT_IDS_CHECK"


def audit(iot, checks):
    """Run an on-demand audit; return DescribeAuditTask once it ended."""
    return wait_audit(iot, iot.start_on_demand_audit_task(targetCheckNames=checks)["taskId"])


def advance_clock(sandbox, seconds):
    req = urllib.request.Request(sandbox.endpoint + "/_sandbox/clock", data=json.dumps({"advanceSeconds": seconds})
                                 .encode(), method="POST")
    urllib.request.urlopen(req).close()


def test_connection_checks_wait_for_data_right_after_they_are_enabled(sandbox):
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [SHARED, CLIENTS, LOGGING])
    task = audit(iot, [SHARED, CLIENTS, LOGGING])
    assert_valid("DescribeAuditTask", task)
    assert task["taskStatus"] == "COMPLETED"
    assert task["taskStatistics"]["waitingForDataCollectionChecks"] == 2
    for check in (SHARED, CLIENTS):
        detail = task["auditDetails"][check]
        assert detail["checkRunStatus"] == "WAITING_FOR_DATA_COLLECTION" and "enabled" in detail["message"]
        assert "nonCompliantResourcesCount" not in detail
    assert task["auditDetails"][LOGGING]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"  # needs no collected data
    advance_clock(sandbox, 3 * 3600)  # the look-back window now ends after the checks were enabled
    task = audit(iot, [SHARED, CLIENTS])
    assert {d["checkRunStatus"] for d in task["auditDetails"].values()} == {"COMPLETED_COMPLIANT"}


def test_recorded_history_is_audited_at_once(sandbox):
    iot = sandbox.iot
    cert = register_cert(iot)
    sb.record_connections(shared_sessions(cert))  # imported history, three hours old
    configure_audit(iot, sandbox.client("iam"), [SHARED])
    assert audit(iot, [SHARED])["auditDetails"][SHARED]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"


def test_disabling_a_check_deletes_its_collected_data(sandbox):
    iot = sandbox.iot
    configure_audit(iot, sandbox.client("iam"), [SHARED, CLIENTS])
    cert = register_cert(iot)
    sb.record_connections(shared_sessions(cert) + shared_sessions(cert, clients=("Twin", "Twin")))
    task = audit(iot, [SHARED, CLIENTS])
    assert {d["checkRunStatus"] for d in task["auditDetails"].values()} == {"COMPLETED_NON_COMPLIANT"}
    iot.update_account_audit_configuration(auditCheckConfigurations={SHARED: {"enabled": False}})
    iot.update_account_audit_configuration(auditCheckConfigurations={SHARED: {"enabled": True}})
    task = audit(iot, [SHARED, CLIENTS])
    assert task["auditDetails"][SHARED]["checkRunStatus"] == "WAITING_FOR_DATA_COLLECTION"  # its sessions are gone
    assert task["auditDetails"][CLIENTS]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"  # the other check kept its own
    sb.record_connections(shared_sessions(cert, hours_ago=4))  # history recorded after re-enabling is its data
    assert audit(iot, [SHARED])["auditDetails"][SHARED]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"
