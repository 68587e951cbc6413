"""Fidelity gaps closed by reading AWS's documentation against the sandbox (issue 14, item 5): each test fails on the
behaviour the sandbox had before."""
from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from helpers import sandbox as sb
from helpers.sandbox.models import devicedefender_backends
from tests.builders import configure_audit, register_cert, shared_sessions, wait_audit
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
