"""The sandbox controls that stand in for data AWS has and moto lacks, end to end through an audit:
a published CRL, Cognito identity pool roles and activity, role alias usage."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.builders import configure_audit, make_role, wait_audit

NOW = datetime.now(timezone.utc)


def post(sandbox, path, body):
    req = urllib.request.Request(f"{sandbox.endpoint}{path}?region=us-east-1", data=json.dumps(body).encode(),
                                 method="POST")
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def audit(sandbox, checks):
    configure_audit(sandbox.iot, sandbox.client("iam"), checks, role_name=f"AuditRole{int(time.time() * 1000) % 10**6}")
    task_id = sandbox.iot.start_on_demand_audit_task(targetCheckNames=checks)["taskId"]
    wait_audit(sandbox.iot, task_id)
    return {f["checkName"]: f for f in sandbox.iot.list_audit_findings(taskId=task_id)["findings"]}


def _ca():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fleet CA")])
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False).sign(key, hashes.SHA256()))
    return cert, key


def _device(ca, ca_key, serial):
    key = ec.generate_private_key(ec.SECP256R1())
    return (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"d{serial}")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(serial)
            .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=365))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))


def _crl(ca, ca_key, serials, signer=None):
    builder = x509.CertificateRevocationListBuilder().issuer_name(ca.subject).last_update(NOW).next_update(
        NOW + timedelta(days=7))
    for s in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(s).revocation_date(NOW).build())
    return builder.sign(signer or ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def test_published_crl_drives_the_revoked_device_certificate_check(sandbox):
    iot = sandbox.iot
    ca, ca_key = _ca()
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM).decode()  # noqa: E731
    iot.register_ca_certificate(caCertificate=pem(ca), setAsActive=True)
    revoked, fine = _device(ca, ca_key, 1001), _device(ca, ca_key, 1002)
    ids = [iot.register_certificate_without_ca(certificatePem=pem(c), status="ACTIVE")["certificateId"]
           for c in (revoked, fine)]
    status, body = post(sandbox, "/_sandbox/iot/crls", {"crl": _crl(ca, ca_key, [1001])})
    assert status == 200 and body["revokedSerialNumbers"] == [format(1001, "x")]
    findings = audit(sandbox, ["REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK"])
    finding = findings["REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK"]
    assert finding["nonCompliantResource"]["resourceIdentifier"] == {"deviceCertificateId": ids[0]}


@pytest.mark.parametrize("crl,needle", [
    ("-----BEGIN X509 CRL-----\nbm9wZQ==\n-----END X509 CRL-----\n", "parse"),
    ("not base64!", "neither PEM nor base64"),
    ("forged", "signature"),
    ("unknown-issuer", "No registered CA"),
])
def test_bad_crls_are_refused(sandbox, crl, needle):
    ca, ca_key = _ca()
    sandbox.iot.register_ca_certificate(caCertificate=ca.public_bytes(serialization.Encoding.PEM).decode(),
                                        setAsActive=True)
    if crl == "forged":
        crl = _crl(ca, ca_key, [5], signer=ec.generate_private_key(ec.SECP256R1()))
    elif crl == "unknown-issuer":
        other, other_key = _ca()
        other = other  # same subject name, different key: signature cannot verify against the registered CA
        crl = _crl(other, other_key, [5])
        needle = "signature"
    status, body = post(sandbox, "/_sandbox/iot/crls", {"crl": crl})
    assert status == 400 and needle.lower() in body["error"].lower()


def test_cognito_pool_roles_and_activity_drive_the_cognito_checks(sandbox):
    cognito, iam = sandbox.client("cognito-identity"), sandbox.client("iam")
    pool = cognito.create_identity_pool(IdentityPoolName="sensors", AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                                                     "Action": "sts:AssumeRoleWithWebIdentity"}]}
    unauth = iam.create_role(RoleName="Unauth", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="Unauth", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:DeleteThing", "Resource": "*"}]}))
    cognito.set_identity_pool_roles(IdentityPoolId=pool, Roles={"unauthenticated": unauth})
    assert cognito.get_identity_pool_roles(IdentityPoolId=pool)["Roles"] == {"unauthenticated": unauth}
    check = "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"
    assert check not in audit(sandbox, [check])  # no IoT activity in the last 31 days: not audited
    assert post(sandbox, "/_sandbox/cognito/pool-activity", {"identityPoolId": pool})[0] == 200
    finding = audit(sandbox, [check])[check]
    assert finding["nonCompliantResource"]["resourceIdentifier"] == {"cognitoIdentityPoolId": pool}
    assert finding["reasonForNonComplianceCode"] == "ALLOWS_ACCESS_TO_IOT_ADMIN_ACTIONS"


def test_role_alias_usage_drives_the_unused_services_check(sandbox):
    iot, iam = sandbox.iot, sandbox.client("iam")
    role = make_role(iam, "CameraRole", managed=None, trust={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "credentials.iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.put_role_policy(RoleName="CameraRole", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject", "dynamodb:PutItem"],
                                                "Resource": "*"}]}))
    alias = iot.create_role_alias(roleAlias="camera", roleArn=role)["roleAliasArn"]
    status, body = post(sandbox, "/_sandbox/iot/role-alias-usage", {"roleAliasArn": alias, "services": ["s3"]})
    assert status == 200 and body["services"] == ["s3"]
    check = "IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK"
    finding = audit(sandbox, [check])[check]
    assert finding["nonCompliantResource"]["resourceIdentifier"] == {"roleAliasArn": alias}
    assert "dynamodb" in finding["reasonForNonCompliance"]
    assert post(sandbox, "/_sandbox/iot/role-alias-usage", {"roleAliasArn": "nope", "services": ["s3"]})[0] == 400
