"""Real MQTT sessions feed Device Defender: the on-demand audit after them (sandbox clock moved past AWS's 2-hour
look-back lag) finds the shared certificate and the conflicting client id."""
from __future__ import annotations

from .clients import ACCEPTED, allow, control, policy, wait_until

CHECKS = ["DEVICE_CERTIFICATE_SHARED_CHECK", "CONFLICTING_CLIENT_IDS_CHECK"]


def _audit(plane) -> dict[str, list[dict]]:
    """Run an on-demand audit of the two connection checks; return its findings per check."""
    iam = plane.sandbox.client("iam")
    role = iam.create_role(RoleName="audit", AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":'
                           '"Allow","Principal":{"Service":"iot.amazonaws.com"},"Action":"sts:AssumeRole"}]}')["Role"]
    iam.attach_role_policy(RoleName="audit",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderAudit")
    plane.iot.update_account_audit_configuration(roleArn=role["Arn"], auditCheckConfigurations={
        name: {"enabled": True} for name in CHECKS})
    task = plane.iot.start_on_demand_audit_task(targetCheckNames=CHECKS)["taskId"]
    wait_until(lambda: plane.iot.describe_audit_task(taskId=task)["taskStatus"] == "COMPLETED", what="the audit")
    findings = plane.iot.list_audit_findings(taskId=task)["findings"]
    return {name: [f for f in findings if f["checkName"] == name] for name in CHECKS}


def test_no_findings_without_sessions(plane):
    plane.registry.create(policy_document=policy(allow("iot:Connect")))
    control(plane.endpoint, "POST", "/_sandbox/clock", {"advanceSeconds": 3 * 3600})
    assert _audit(plane) == {name: [] for name in CHECKS}


def test_the_audit_after_real_connections_finds_the_shared_certificate_and_the_conflicting_client_id(plane):
    shared = plane.registry.create(policy_document=policy(allow("iot:Connect")))
    one, two = plane.client(shared, "SensorDevice01"), plane.client(shared, "SensorDevice02")
    assert one.connect() == ACCEPTED and two.connect() == ACCEPTED
    other = plane.registry.create(policy_document=policy(allow("iot:Connect")))
    first, second = plane.client(other, "Conflicted"), plane.client(other, "Conflicted")
    assert first.connect() == ACCEPTED and second.connect() == ACCEPTED
    wait_until(first.disconnected.is_set, what="the duplicate client id knocked off")
    # AWS reports connection findings only after a lag: the audit looks at sessions older than 2 hours
    control(plane.endpoint, "POST", "/_sandbox/clock", {"advanceSeconds": 3 * 3600})
    findings = _audit(plane)
    shared_findings = findings["DEVICE_CERTIFICATE_SHARED_CHECK"]
    assert [f["nonCompliantResource"]["resourceIdentifier"]["deviceCertificateId"] for f in shared_findings] == [
        shared.certificate_id]
    clients = {r["resourceIdentifier"]["clientId"] for r in shared_findings[0]["relatedResources"]}
    assert {"SensorDevice01", "SensorDevice02"} <= clients
    conflicts = findings["CONFLICTING_CLIENT_IDS_CHECK"]
    assert [f["nonCompliantResource"]["resourceIdentifier"]["clientId"] for f in conflicts] == ["Conflicted"]
