"""A complete audit flow through the AWS CLI against `python -m helpers.sandbox serve` (started by conftest)."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

from tests.builders import IOT_TRUST, make_cert_pem
from tests.test_cli_sandbox import AWS, aws

pytestmark = [pytest.mark.cli, pytest.mark.skipif(AWS is None, reason="the AWS CLI is part of the test extra")]


def fresh_sandbox_with_audit_role() -> str:
    """Reset the served sandbox and create the audit role through the CLI; return the role's ARN."""
    import os

    urllib.request.urlopen(urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/reset", data=b"",
                                                  method="POST")).close()
    role = aws("iam", "create-role", "--role-name", "IoTAuditRole", "--assume-role-policy-document",
               json.dumps(IOT_TRUST))["Role"]["Arn"]
    aws("iam", "attach-role-policy", "--role-name", "IoTAuditRole", "--policy-arn",
        "arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderAudit")
    return role


def test_cli_audit_flow(tmp_path):
    role = fresh_sandbox_with_audit_role()
    aws("iot", "update-account-audit-configuration", "--role-arn", role, "--audit-check-configurations",
        json.dumps({"LOGGING_DISABLED_CHECK": {"enabled": True}, "DEVICE_CERTIFICATE_EXPIRING_CHECK": {"enabled": True}}))
    pem_file = tmp_path / "cert.pem"
    pem_file.write_text(make_cert_pem("soon", days=10)[0])
    cert = aws("iot", "register-certificate-without-ca", "--certificate-pem", f"file://{pem_file}",
               "--status", "ACTIVE")["certificateId"]
    task_id = aws("iot", "start-on-demand-audit-task", "--target-check-names", "LOGGING_DISABLED_CHECK",
                  "DEVICE_CERTIFICATE_EXPIRING_CHECK")["taskId"]
    for _ in range(50):
        task = aws("iot", "describe-audit-task", "--task-id", task_id)
        if task["taskStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.2)
    assert task["taskStatus"] == "COMPLETED"
    assert task["taskStatistics"]["nonCompliantChecks"] >= 1
    findings = aws("iot", "list-audit-findings", "--task-id", task_id)["findings"]
    assert {f["checkName"] for f in findings} >= {"LOGGING_DISABLED_CHECK"}
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    tasks = aws("iot", "list-audit-tasks", "--start-time", (now - timedelta(days=1)).isoformat(),
                "--end-time", (now + timedelta(days=1)).isoformat())
    assert task_id in [t["taskId"] for t in tasks["tasks"]]
    aws("iot", "create-scheduled-audit", "--scheduled-audit-name", "WeeklyAudit", "--frequency", "WEEKLY",
        "--day-of-week", "MON", "--target-check-names", "LOGGING_DISABLED_CHECK")
    assert aws("iot", "list-scheduled-audits")["scheduledAudits"][0]["dayOfWeek"] == "MON"
    expiring = [f for f in findings if f["checkName"] == "DEVICE_CERTIFICATE_EXPIRING_CHECK"]
    if expiring:  # the certificate checks come from helpers/sandbox/checks/certificates.py
        assert expiring[0]["nonCompliantResource"]["resourceIdentifier"]["deviceCertificateId"] == cert


def test_cli_mitigation_flow(tmp_path):
    """define-action -> start-task -> describe-task -> list-executions, as the AWS CLI sends them."""
    from tests.builders import PERMISSIVE

    role = fresh_sandbox_with_audit_role()
    blank_role = aws("iam", "create-role", "--role-name", "BlankPolicyRole", "--assume-role-policy-document",
                     json.dumps(IOT_TRUST))["Role"]["Arn"]
    aws("iam", "attach-role-policy", "--role-name", "BlankPolicyRole", "--policy-arn",
        "arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderReplaceDefaultPolicyMitigationAction")
    aws("iot", "create-policy", "--policy-name", "DevicePolicy", "--policy-document", PERMISSIVE)
    aws("iot", "update-account-audit-configuration", "--role-arn", role, "--audit-check-configurations",
        json.dumps({"IOT_POLICY_OVERLY_PERMISSIVE_CHECK": {"enabled": True}}))
    audit = aws("iot", "start-on-demand-audit-task", "--target-check-names", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")["taskId"]
    for _ in range(50):
        if aws("iot", "describe-audit-task", "--task-id", audit)["taskStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.2)
    (finding,) = aws("iot", "list-audit-findings", "--task-id", audit)["findings"]
    aws("iot", "create-mitigation-action", "--action-name", "ResetPolicyVersionAction", "--role-arn", blank_role,
        "--action-params", json.dumps({"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}}))
    aws("iot", "start-audit-mitigation-actions-task", "--task-id", "ResetPolicyTask", "--target",
        json.dumps({"findingIds": [finding["findingId"]]}), "--audit-check-to-actions-mapping",
        json.dumps({"IOT_POLICY_OVERLY_PERMISSIVE_CHECK": ["ResetPolicyVersionAction"]}),
        "--client-request-token", "cli-token")
    for _ in range(50):
        task = aws("iot", "describe-audit-mitigation-actions-task", "--task-id", "ResetPolicyTask")
        if task["taskStatus"] != "IN_PROGRESS":
            break
        time.sleep(0.2)
    assert task["taskStatus"] == "COMPLETED"
    (execution,) = aws("iot", "list-audit-mitigation-actions-executions", "--task-id", "ResetPolicyTask",
                       "--finding-id", finding["findingId"])["actionsExecutions"]
    assert execution["status"] == "COMPLETED"
    assert aws("iot", "get-policy", "--policy-name", "DevicePolicy")["defaultVersionId"] == "2"
