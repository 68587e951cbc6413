"""Small builders for tests: real certificates, roles and audit settings in the sandbox."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ACCOUNT = "123456789012"
IOT_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
AUDIT_POLICY = "arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderAudit"
SNS_POLICY = "arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderPublishFindingsToSNSMitigationAction"
PERMISSIVE = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]})


def make_cert_pem(cn: str = "device", days: int = 365, not_before: datetime | None = None,
                  issuer: tuple | None = None) -> tuple[str, ec.EllipticCurvePrivateKey]:
    """Return (PEM, key) of an EC P-256 certificate, self-signed or signed by ``issuer`` = (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or datetime.now(timezone.utc) - timedelta(days=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + timedelta(days=days)).sign(signing_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key


def register_cert(iot, cn: str = "device", days: int = 365, status: str = "ACTIVE") -> str:
    """Register a fresh certificate in the sandbox and return its id."""
    pem, _ = make_cert_pem(cn, days)
    return iot.register_certificate_without_ca(certificatePem=pem, status=status)["certificateId"]


def make_role(iam, name: str, managed: str | None = AUDIT_POLICY, trust: dict | None = None) -> str:
    """Create an IAM role trusted by IoT with an optional managed policy; return its ARN."""
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or IOT_TRUST))["Role"]["Arn"]
    if managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    return arn


def configure_audit(iot, iam, checks: list[str], role_name: str = "IoTAuditRole") -> str:
    """Create the audit role and enable ``checks``; return the role ARN."""
    role = make_role(iam, role_name)
    iot.update_account_audit_configuration(roleArn=role, auditCheckConfigurations={c: {"enabled": True} for c in checks})
    return role


def wait_audit(iot, task_id: str, timeout: float = 20) -> dict:
    """Wait until the audit leaves IN_PROGRESS; return DescribeAuditTask."""
    deadline = time.monotonic() + timeout
    while True:
        resp = iot.describe_audit_task(taskId=task_id)
        if resp["taskStatus"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return resp
        time.sleep(0.05)


def shared_sessions(cert_id: str, clients=("SensorDevice01", "SensorDevice02"), hours_ago: float = 3,
                    count: int = 3) -> list[dict]:
    """Return overlapping connection events of several clients on one certificate, ``hours_ago`` back."""
    base = time.time() - hours_ago * 3600
    events = []
    for i in range(count):
        for j, client in enumerate(clients):
            start = base + i * 10 + j * 0.2
            events.append({"clientId": client, "certificateId": cert_id, "connectedAt": start,
                           "disconnectedAt": start + 2, "sourceIp": f"192.0.2.{j + 1}"})
    return events
