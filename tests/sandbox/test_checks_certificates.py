"""The certificate audit checks on snapshots of real X.509 certificates (EC P-256 unless a key's kind matters).

Every check runs through ``run()``, which also validates each finding against the catalog and, strictly, against the
botocore shapes (``tests.shapes._check`` cannot: Python's ``re`` rejects Java's ``\\p{Graph}`` and its ``re.search``
does not anchor patterns the way the service does).
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from helpers.spec.checks import CHECKS
from helpers.sandbox.checks import get_check
from helpers.sandbox.checks.base import CheckResult, Finding
from helpers.sandbox.snapshot import CACertificateInfo, CertificateInfo, CrlInfo, Snapshot
from tests.shapes import iot_model

from .test_keyquality import debian_weak_public_key, ordinary_rsa_key, roca_private_key

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
PAST, APPROACHING = "CERTIFICATE_PAST_EXPIRATION", "CERTIFICATE_APPROACHING_EXPIRATION"
ROCA, DEBIAN = "CERTIFICATE_KEY_VULNERABILITY_CVE-2017-15361", "CERTIFICATE_KEY_VULNERABILITY_CVE-2008-0166"
AUDITED = ("ACTIVE", "PENDING_TRANSFER")
NOT_AUDITED = ("INACTIVE", "REVOKED", "REGISTER_INACTIVE", "PENDING_ACTIVATION")
CERTIFICATE_CHECKS = ("DEVICE_CERTIFICATE_EXPIRING_CHECK", "CA_CERTIFICATE_EXPIRING_CHECK",
                      "DEVICE_CERTIFICATE_AGE_CHECK", "DEVICE_CERTIFICATE_KEY_QUALITY_CHECK",
                      "CA_CERTIFICATE_KEY_QUALITY_CHECK", "REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK",
                      "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK",
                      "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK")
DEVICE_KEY = ec.generate_private_key(ec.SECP256R1())  # device certificates differ by serial and dates, not by key


# -- a small PKI -----------------------------------------------------------------------------------------------------
class Issued:
    """A certificate and its private key (None when only the public key is known)."""

    def __init__(self, cert: x509.Certificate, key: Any) -> None:
        self.cert, self.key = cert, key


def name(common_name: str, *extra: x509.NameAttribute) -> x509.Name:
    """Return a distinguished name: O=Workshop, the extra attributes, CN=common_name."""
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Workshop"), *extra,
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issue(subject: str | x509.Name, issuer: Issued | None = None, *, key: Any = None, public_key: Any = None,
          ca: bool = False, serial: int | None = None, not_before: datetime | None = None,
          not_after: datetime = NOW + 365 * DAY, aki: bool = True, ski: bool = True) -> Issued:
    """Return a certificate issued by ``issuer`` (self-signed when None) for ``key`` or ``public_key``."""
    if key is None and public_key is None:
        key = ec.generate_private_key(ec.SECP256R1()) if ca or issuer is None else DEVICE_KEY
    public_key = public_key or key.public_key()
    subject_name = subject if isinstance(subject, x509.Name) else name(subject)
    signer = issuer.key if issuer else key
    not_before = not_before or min(NOW - 30 * DAY, not_after - DAY)
    builder = (x509.CertificateBuilder().subject_name(subject_name)
               .issuer_name(issuer.cert.subject if issuer else subject_name).public_key(public_key)
               .serial_number(serial if serial is not None else x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ski:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    if aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def certificate_id(cert: x509.Certificate) -> str:
    """Return the IoT certificate ID: the SHA-256 of the DER certificate, in hex."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def device(issued: Issued, status: str = "ACTIVE", created: datetime = NOW - 10 * DAY,
           ca_certificate_id: str | None = None) -> CertificateInfo:
    """Return a registered device certificate."""
    cert = issued.cert
    cid = certificate_id(cert)
    return CertificateInfo(cid, f"arn:aws:iot:us-east-1:123456789012:cert/{cid}", status,
                           cert.public_bytes(serialization.Encoding.PEM).decode(), created, ca_certificate_id)


def ca_cert(issued: Issued, status: str = "ACTIVE") -> CACertificateInfo:
    """Return a registered CA certificate."""
    cert = issued.cert
    cid = certificate_id(cert)
    return CACertificateInfo(cid, f"arn:aws:iot:us-east-1:123456789012:cacert/{cid}", status,
                             cert.public_bytes(serialization.Encoding.PEM).decode(), NOW - 100 * DAY)


def crl(issuer: CACertificateInfo, *serials: int) -> CrlInfo:
    """Return a (verified) CRL published by ``issuer`` revoking ``serials``."""
    return CrlInfo(issuer.certificate_id, frozenset(serials), NOW - DAY, NOW + 6 * DAY)


def snapshot(devices: Sequence[CertificateInfo] = (), cas: Sequence[CACertificateInfo] = (),
             crls: Sequence[CrlInfo] = (), **thresholds: int) -> Snapshot:
    """Return a snapshot at NOW holding these certificates and CRLs."""
    return Snapshot("123456789012", "us-east-1", NOW, certificates=list(devices), ca_certificates=list(cas),
                    crls=list(crls), **thresholds)


ROOT = issue("Workshop Root CA", ca=True)
OTHER_ROOT = issue("Other Root CA", ca=True)
INTERMEDIATE = issue("Workshop Intermediate CA", ROOT, ca=True)


# -- strict shape validation -----------------------------------------------------------------------------------------
def _python_pattern(pattern: str) -> str:
    """Return a botocore (Java) pattern as a Python one: \\p{Graph} is printable ASCII without space."""
    return pattern.replace(r"\p{Graph}", r"\x21-\x7e")


def shape_problems(shape: Any, value: Any, path: str) -> list[str]:
    """Return how ``value`` breaks ``shape``: members, types, enums, lengths and fully matched patterns."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: expected an object"]
        problems = [f"{path}: missing {m}" for m in shape.required_members if m not in value]
        for key, sub in value.items():
            problems += (shape_problems(shape.members[key], sub, f"{path}.{key}") if key in shape.members
                         else [f"{path}: unknown member {key}"])
        return problems
    if kind == "list":
        return [p for i, item in enumerate(value) for p in shape_problems(shape.member, item, f"{path}[{i}]")]
    if kind == "map":
        return [p for k, v in value.items()
                for p in shape_problems(shape.key, k, f"{path}<{k}>") + shape_problems(shape.value, v, f"{path}.{k}")]
    if kind != "string" or not isinstance(value, str):
        return [f"{path}: expected {kind}, got {type(value).__name__}"]
    meta, problems = shape.metadata, []
    if shape.enum and value not in shape.enum:
        problems.append(f"{path}: {value!r} not in enum")
    if not meta.get("min", 0) <= len(value) <= meta.get("max", len(value)):
        problems.append(f"{path}: length {len(value)} outside {meta.get('min')}..{meta.get('max')}")
    if "pattern" in meta and not re.fullmatch(_python_pattern(meta["pattern"]), value):
        problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
    return problems


def finding_problems(check: str, finding: Finding) -> list[str]:
    """Return how a finding breaks the catalog entry of ``check`` or the botocore AuditFinding shapes."""
    spec, model = CHECKS[check], iot_model()
    problems = [] if finding.resource_type == spec.resource_type else [f"resource type {finding.resource_type}"]
    if list(finding.resource_identifier) != [spec.identifier]:
        problems.append(f"identifier members {list(finding.resource_identifier)}")
    if finding.reason_code not in spec.reason_codes:
        problems.append(f"reason code {finding.reason_code}")
    if not finding.reason:
        problems.append("empty reason")
    problems += shape_problems(model.shape_for("ResourceType"), finding.resource_type, "resourceType")
    problems += shape_problems(model.shape_for("ResourceIdentifier"), finding.resource_identifier, "resourceIdentifier")
    problems += shape_problems(model.shape_for("StringMap"), finding.additional_info, "additionalInfo")
    problems += shape_problems(model.shape_for("RelatedResources"), finding.related_resources, "relatedResources")
    return problems


def run(check: str, snap: Snapshot) -> CheckResult:
    """Return the result of ``check`` (looked up like the audit engine does) after validating every finding."""
    result = get_check(check)(snap)
    for finding in result.findings:
        assert not finding_problems(check, finding), finding_problems(check, finding)
    return result


def flagged(result: CheckResult) -> list[tuple[str, str]]:
    """Return (resource id, reason code) of each finding."""
    return [(next(iter(f.resource_identifier.values())), f.reason_code) for f in result.findings]


@pytest.mark.parametrize("check", CERTIFICATE_CHECKS)
def test_the_registry_points_at_these_checks(check: str) -> None:
    assert get_check(check).__module__ == "helpers.sandbox.checks.certificates"


@pytest.mark.parametrize("identifier", [
    {"deviceCertificateId": "g" * 64},
    {"deviceCertificateId": "a" * 63},
    {"caCertificateId": "a" * 64, "bogus": "x"},
    {"issuerCertificateIdentifier": {"issuerCertificateSerialNumber": "a" * 21}},
    {"issuerCertificateIdentifier": {"issuerCertificateSerialNumber": "0x12"}},
    {"issuerCertificateIdentifier": {"issuerCertificateSubject": "CN=M\u00fcller"}},
    {"issuerCertificateIdentifier": {"issuerId": "a" * 66}},
])
def test_the_shape_validation_catches_bad_identifiers(identifier: dict[str, Any]) -> None:
    assert shape_problems(iot_model().shape_for("ResourceIdentifier"), identifier, "resourceIdentifier")


# -- DEVICE_CERTIFICATE_EXPIRING_CHECK / CA_CERTIFICATE_EXPIRING_CHECK ---------------------------------------------
@pytest.mark.parametrize("status", AUDITED + NOT_AUDITED)
def test_device_expiring_audits_only_active_and_pending_transfer(status: str) -> None:
    cert = device(issue("dev", ROOT, not_after=NOW - DAY), status)
    result = run("DEVICE_CERTIFICATE_EXPIRING_CHECK", snapshot([cert]))
    audited = status in AUDITED
    assert result.total_resources == int(audited)
    assert flagged(result) == ([(cert.certificate_id, PAST)] if audited else [])


@pytest.mark.parametrize("threshold, not_after, expected", [
    (30, NOW - 365 * DAY, PAST),
    (30, NOW - SECOND, PAST),
    (30, NOW, APPROACHING),  # notAfter is still a valid instant
    (30, NOW + DAY, APPROACHING),
    (30, NOW + 29 * DAY, APPROACHING),
    (30, NOW + 30 * DAY, APPROACHING),  # exactly at the threshold: "within" is inclusive
    (30, NOW + 30 * DAY + SECOND, None),
    (30, NOW + 31 * DAY, None),
    (90, NOW + 30 * DAY, APPROACHING),
    (90, NOW + 89 * DAY, APPROACHING),
    (90, NOW + 90 * DAY, APPROACHING),
    (90, NOW + 91 * DAY, None),
    (3652, NOW + 3652 * DAY, APPROACHING),
    (3652, NOW + 3653 * DAY, None),
])
def test_device_expiring_thresholds(threshold: int, not_after: datetime, expected: str | None) -> None:
    cert = device(issue("dev", ROOT, not_after=not_after))
    result = run("DEVICE_CERTIFICATE_EXPIRING_CHECK", snapshot([cert], expiration_threshold_days=threshold))
    assert flagged(result) == ([(cert.certificate_id, expected)] if expected else [])
    if expected:
        finding = result.findings[0]
        assert finding.additional_info == {"EXPIRATION_TIME": str(int(not_after.timestamp()) * 1000)}
        assert finding.reason == ("Certificate is past its expiration." if expected == PAST
                                  else "Certificate is approaching its expiration.")


@pytest.mark.parametrize("not_after, device_threshold, expected", [
    (NOW - DAY, 30, PAST),
    (NOW, 30, APPROACHING),
    (NOW + 30 * DAY, 30, APPROACHING),
    (NOW + 30 * DAY + SECOND, 30, None),
    (NOW + 31 * DAY, 365, None),  # the CA window stays 30 days whatever the device threshold
])
def test_ca_expiring_uses_a_fixed_30_day_window(not_after: datetime, device_threshold: int,
                                                 expected: str | None) -> None:
    ca = ca_cert(issue("Expiring CA", ROOT, ca=True, not_after=not_after))
    result = run("CA_CERTIFICATE_EXPIRING_CHECK", snapshot(cas=[ca], expiration_threshold_days=device_threshold))
    assert result.total_resources == 1
    assert flagged(result) == ([(ca.certificate_id, expected)] if expected else [])


@pytest.mark.parametrize("status, audited", [("ACTIVE", True), ("PENDING_TRANSFER", True), ("INACTIVE", False)])
def test_ca_expiring_status_scope(status: str, audited: bool) -> None:
    ca = ca_cert(issue("Expired CA", ROOT, ca=True, not_after=NOW - DAY), status)
    result = run("CA_CERTIFICATE_EXPIRING_CHECK", snapshot(cas=[ca]))
    assert (result.total_resources, len(result.findings)) == ((1, 1) if audited else (0, 0))


def test_ca_expiring_ignores_device_certificates_and_vice_versa() -> None:
    dev = device(issue("dev", ROOT, not_after=NOW - DAY))
    ca = ca_cert(issue("Expired CA", ROOT, ca=True, not_after=NOW - DAY))
    snap = snapshot([dev], [ca])
    assert flagged(run("CA_CERTIFICATE_EXPIRING_CHECK", snap)) == [(ca.certificate_id, PAST)]
    assert flagged(run("DEVICE_CERTIFICATE_EXPIRING_CHECK", snap)) == [(dev.certificate_id, PAST)]


# -- DEVICE_CERTIFICATE_AGE_CHECK ------------------------------------------------------------------------------------
@pytest.mark.parametrize("threshold, age, expected", [
    (365, 365 * DAY, True),  # "greater than or equal to" the threshold
    (365, 365 * DAY - SECOND, False),
    (365, 364 * DAY, False),
    (365, 366 * DAY, True),
    (30, 30 * DAY, True),
    (30, 29 * DAY, False),
    (30, 31 * DAY, True),
    (3652, 3652 * DAY, True),
    (3652, 3651 * DAY, False),
])
def test_device_age_thresholds(threshold: int, age: timedelta, expected: bool) -> None:
    cert = device(issue("dev", ROOT), created=NOW - age)
    result = run("DEVICE_CERTIFICATE_AGE_CHECK", snapshot([cert], age_threshold_days=threshold))
    assert flagged(result) == ([(cert.certificate_id, "CERTIFICATE_PAST_AGE_THRESHOLD")] if expected else [])


@pytest.mark.parametrize("status", AUDITED + NOT_AUDITED)
def test_device_age_status_scope(status: str) -> None:
    cert = device(issue("dev", ROOT), status, created=NOW - 1000 * DAY)
    result = run("DEVICE_CERTIFICATE_AGE_CHECK", snapshot([cert]))
    assert len(result.findings) == result.total_resources == int(status in AUDITED)


@pytest.mark.parametrize("not_before, created, expected", [
    (NOW - 1000 * DAY, NOW - DAY, False),  # an old certificate registered yesterday is young in IoT
    (NOW - DAY, NOW - 400 * DAY, True),
])
def test_device_age_counts_from_the_iot_creation_date(not_before: datetime, created: datetime,
                                                       expected: bool) -> None:
    cert = device(issue("dev", ROOT, not_before=not_before), created=created)
    assert bool(run("DEVICE_CERTIFICATE_AGE_CHECK", snapshot([cert])).findings) is expected


def test_device_age_accepts_a_naive_creation_date() -> None:
    cert = device(issue("dev", ROOT), created=(NOW - 365 * DAY).replace(tzinfo=None))
    assert len(run("DEVICE_CERTIFICATE_AGE_CHECK", snapshot([cert])).findings) == 1


# -- certificates whose PEM does not parse ---------------------------------------------------------------------------
@pytest.mark.parametrize("check, findings", [
    ("DEVICE_CERTIFICATE_EXPIRING_CHECK", 0),
    ("DEVICE_CERTIFICATE_KEY_QUALITY_CHECK", 0),
    ("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", 0),
    ("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK", 0),
    ("DEVICE_CERTIFICATE_AGE_CHECK", 1),  # judged on the IoT creation date, no X.509 needed
])
def test_unparsable_device_pem_is_counted_but_not_judged_on_x509(check: str, findings: int) -> None:
    broken = CertificateInfo("ab" * 32, "arn:aws:iot:us-east-1:123456789012:cert/" + "ab" * 32, "ACTIVE",
                             "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", NOW - 999 * DAY)
    int_ca, root_ca = ca_cert(INTERMEDIATE), ca_cert(ROOT)
    result = run(check, snapshot([broken], [root_ca, int_ca], [crl(root_ca, INTERMEDIATE.cert.serial_number)]))
    assert (result.total_resources, len(result.findings)) == (1, findings)


@pytest.mark.parametrize("check", ["CA_CERTIFICATE_EXPIRING_CHECK", "CA_CERTIFICATE_KEY_QUALITY_CHECK",
                                   "REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK"])
def test_unparsable_ca_pem_is_counted_but_not_judged(check: str) -> None:
    broken = CACertificateInfo("cd" * 32, "arn:aws:iot:us-east-1:123456789012:cacert/" + "cd" * 32, "ACTIVE",
                               "garbage", NOW - 999 * DAY)
    result = run(check, snapshot(cas=[broken]))
    assert (result.total_resources, result.findings) == (1, [])


# -- DEVICE/CA_CERTIFICATE_KEY_QUALITY_CHECK -------------------------------------------------------------------------
KEYS = {
    "roca": lambda: roca_private_key().public_key(),
    "debian": debian_weak_public_key,
    "p256": lambda: DEVICE_KEY.public_key(),
    "rsa2048": lambda: ordinary_rsa_key(2048).public_key(),
}


@pytest.mark.parametrize("key, status, expected", [
    ("roca", "ACTIVE", ROCA),
    ("roca", "PENDING_TRANSFER", ROCA),
    ("roca", "INACTIVE", None),
    ("debian", "ACTIVE", DEBIAN),
    ("debian", "PENDING_TRANSFER", DEBIAN),
    ("debian", "REVOKED", None),
    ("p256", "ACTIVE", None),
    ("rsa2048", "ACTIVE", None),
])
def test_device_key_quality(key: str, status: str, expected: str | None) -> None:
    cert = device(issue("dev", ROOT, public_key=KEYS[key]()), status)
    result = run("DEVICE_CERTIFICATE_KEY_QUALITY_CHECK", snapshot([cert]))
    assert result.total_resources == int(status in AUDITED)
    assert flagged(result) == ([(cert.certificate_id, expected)] if expected else [])


@pytest.mark.parametrize("key, status, expected", [
    ("roca", "ACTIVE", ROCA),
    ("roca", "INACTIVE", None),
    ("debian", "ACTIVE", DEBIAN),
    ("debian", "PENDING_TRANSFER", DEBIAN),
    ("p256", "ACTIVE", None),
    ("rsa2048", "ACTIVE", None),
])
def test_ca_key_quality(key: str, status: str, expected: str | None) -> None:
    ca = ca_cert(issue("Weak CA", ROOT, public_key=KEYS[key](), ca=True), status)
    result = run("CA_CERTIFICATE_KEY_QUALITY_CHECK", snapshot(cas=[ca]))
    assert flagged(result) == ([(ca.certificate_id, expected)] if expected else [])


def test_a_self_signed_roca_ca_is_flagged() -> None:
    key = roca_private_key()
    root = Issued(issue("ROCA Root", key=key, ca=True).cert, key)
    ca = ca_cert(root)
    assert flagged(run("CA_CERTIFICATE_KEY_QUALITY_CHECK", snapshot(cas=[ca]))) == [(ca.certificate_id, ROCA)]


# -- REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK -------------------------------------------------------------------
@pytest.mark.parametrize("status, crl_by, lists_it, aki, registered_with_ca, expected", [
    ("ACTIVE", "issuer", True, True, False, True),
    ("PENDING_TRANSFER", "issuer", True, True, False, True),
    ("INACTIVE", "issuer", True, True, False, False),
    ("REVOKED", "issuer", True, True, False, False),  # revoked in IoT too: nothing left to do
    ("ACTIVE", "issuer", False, True, False, False),  # the issuer's CRL revokes other serials only
    ("ACTIVE", "other CA", True, True, False, False),  # the same serial in another CA's CRL is not this cert
    ("ACTIVE", None, True, True, False, False),
    ("ACTIVE", "issuer", True, False, False, True),  # no AKI: issuer found by name and signature
    ("ACTIVE", "other CA", True, False, False, False),
    ("ACTIVE", "issuer", True, False, True, True),  # registered with its CA (caCertificateId)
])
def test_revoked_device_certificate(status: str, crl_by: str | None, lists_it: bool, aki: bool,
                                    registered_with_ca: bool, expected: bool) -> None:
    issuer, other = ca_cert(INTERMEDIATE), ca_cert(OTHER_ROOT)
    issued = issue("dev", INTERMEDIATE, aki=aki, serial=0x1001)
    cert = device(issued, status, ca_certificate_id=issuer.certificate_id if registered_with_ca else None)
    crls = [] if crl_by is None else [crl(issuer if crl_by == "issuer" else other, 0x1001 if lists_it else 0x1002)]
    result = run("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", snapshot([cert], [issuer, other], crls))
    assert result.total_resources == int(status in AUDITED)
    assert flagged(result) == ([(cert.certificate_id, "CERTIFICATE_REVOKED_BY_ISSUER")] if expected else [])


@pytest.mark.parametrize("aki", [True, False])
@pytest.mark.parametrize("crl_by_real_issuer", [True, False])
def test_revoked_device_with_two_cas_of_the_same_name(aki: bool, crl_by_real_issuer: bool) -> None:
    # two registered CAs share a subject name but not a key: only the CRL of the one that signed the cert counts
    real = issue("Twin CA", ROOT, ca=True)
    twin = issue("Twin CA", OTHER_ROOT, ca=True)
    real_ca, twin_ca = ca_cert(real), ca_cert(twin)
    cert = device(issue("dev", real, aki=aki, serial=77))
    revoker = real_ca if crl_by_real_issuer else twin_ca
    result = run("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK",
                 snapshot([cert], [twin_ca, real_ca], [crl(revoker, 77)]))
    assert len(result.findings) == int(crl_by_real_issuer)


def test_revoked_device_whose_issuer_is_not_registered() -> None:
    unregistered = issue("Twin CA", OTHER_ROOT, ca=True)
    same_name = ca_cert(issue("Twin CA", ROOT, ca=True))
    cert = device(issue("dev", unregistered, aki=False, serial=78))
    result = run("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", snapshot([cert], [same_name], [crl(same_name, 78)]))
    assert result.findings == []


def test_a_crl_applies_to_every_registration_of_its_ca() -> None:
    # a renewed CA certificate (same name and key, new serial): the CRL published against the old one still revokes
    renewed = Issued(issue(INTERMEDIATE.cert.subject, ROOT, key=INTERMEDIATE.key, ca=True).cert, INTERMEDIATE.key)
    old_ca, new_ca = ca_cert(INTERMEDIATE), ca_cert(renewed)
    cert = device(issue("dev", renewed, serial=79), ca_certificate_id=new_ca.certificate_id)
    result = run("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK", snapshot([cert], [old_ca, new_ca], [crl(old_ca, 79)]))
    assert flagged(result) == [(cert.certificate_id, "CERTIFICATE_REVOKED_BY_ISSUER")]


# -- REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK -----------------------------------------------------------------------
@pytest.mark.parametrize("status, crl_by, lists_it, expected", [
    ("ACTIVE", "root", True, True),
    ("PENDING_TRANSFER", "root", True, True),
    ("INACTIVE", "root", True, False),
    ("ACTIVE", "root", False, False),
    ("ACTIVE", "other root", True, False),  # a CRL from a CA that did not issue it
    ("ACTIVE", None, True, False),
])
def test_revoked_ca_certificate(status: str, crl_by: str | None, lists_it: bool, expected: bool) -> None:
    root, other, intermediate = ca_cert(ROOT), ca_cert(OTHER_ROOT), ca_cert(INTERMEDIATE, status)
    serial = INTERMEDIATE.cert.serial_number if lists_it else INTERMEDIATE.cert.serial_number + 1
    crls = [] if crl_by is None else [crl(root if crl_by == "root" else other, serial)]
    result = run("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK", snapshot(cas=[root, other, intermediate], crls=crls))
    assert result.total_resources == 2 + int(status in AUDITED)
    assert flagged(result) == ([(intermediate.certificate_id, "CERTIFICATE_REVOKED_BY_ISSUER")] if expected else [])


def test_a_self_signed_ca_in_its_own_crl_is_not_revoked_by_an_issuer() -> None:
    root = ca_cert(ROOT)
    result = run("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK",
                 snapshot(cas=[root], crls=[crl(root, ROOT.cert.serial_number)]))
    assert result.findings == []


def test_revoked_ca_without_aki_is_matched_by_name_and_signature() -> None:
    sub = issue("Sub CA without AKI", ROOT, ca=True, aki=False)
    root, sub_ca = ca_cert(ROOT), ca_cert(sub)
    result = run("REVOKED_CA_CERTIFICATE_STILL_ACTIVE_CHECK",
                 snapshot(cas=[root, sub_ca], crls=[crl(root, sub.cert.serial_number)]))
    assert flagged(result) == [(sub_ca.certificate_id, "CERTIFICATE_REVOKED_BY_ISSUER")]


# -- INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK ----------------------------------------------------
def _intermediate_fleet(intermediate_status: str = "ACTIVE",
                        device_statuses: Sequence[str] = ("ACTIVE", "PENDING_TRANSFER", "INACTIVE", "REVOKED"),
                        ) -> tuple[list[CertificateInfo], CACertificateInfo, CACertificateInfo, CACertificateInfo]:
    """Return device certificates of the intermediate (one per status) plus one of the root, and the three CAs."""
    devices = [device(issue(f"dev-{i}", INTERMEDIATE), status) for i, status in enumerate(device_statuses)]
    devices.append(device(issue("dev-of-root", ROOT)))
    return devices, ca_cert(ROOT), ca_cert(INTERMEDIATE, intermediate_status), ca_cert(OTHER_ROOT)


@pytest.mark.parametrize("case, intermediate_status, device_statuses, expected", [
    ("revoked by its root", "ACTIVE", ("ACTIVE", "PENDING_TRANSFER", "INACTIVE", "REVOKED"), [0, 1]),
    ("IoT status of the CA does not matter", "INACTIVE", ("ACTIVE", "INACTIVE"), [0]),
    ("only inactive devices", "ACTIVE", ("INACTIVE", "REVOKED"), None),
    ("not revoked", "ACTIVE", ("ACTIVE",), None),
    ("revoked by another CA's CRL", "ACTIVE", ("ACTIVE",), None),
    ("a root in its own CRL", "ACTIVE", ("ACTIVE",), None),
])
def test_intermediate_ca_revoked(case: str, intermediate_status: str, device_statuses: Sequence[str],
                                 expected: list[int] | None) -> None:
    devices, root, intermediate, other = _intermediate_fleet(intermediate_status, device_statuses)
    crls = {"not revoked": [crl(root, 12345)],
            "revoked by another CA's CRL": [crl(other, INTERMEDIATE.cert.serial_number)],
            "a root in its own CRL": [crl(root, ROOT.cert.serial_number)],
            }.get(case, [crl(root, INTERMEDIATE.cert.serial_number)])
    result = run("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK",
                 snapshot(devices, [root, intermediate, other], crls))
    assert result.total_resources == sum(d.status in AUDITED for d in devices)
    if expected is None:
        assert result.findings == []
        return
    [finding] = result.findings
    assert finding.reason_code == "INTERMEDIATE_CA_REVOKED_BY_ISSUER"
    assert finding.related_resources == [
        {"resourceType": "DEVICE_CERTIFICATE", "resourceIdentifier": {"deviceCertificateId": devices[i].certificate_id}}
        for i in expected]
    ski = INTERMEDIATE.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert finding.resource_identifier == {"issuerCertificateIdentifier": {
        "issuerCertificateSubject": "CN=Workshop Intermediate CA,O=Workshop",
        "issuerId": ski.hex(),
        "issuerCertificateSerialNumber": _even_hex(INTERMEDIATE.cert.serial_number)[:20],
    }}


def _even_hex(serial: int) -> str:
    """Return a serial as lowercase hex in whole octets."""
    digits = format(serial, "x")
    return "0" * (len(digits) % 2) + digits


def test_two_revoked_intermediates_give_two_findings() -> None:
    second = issue("Second Intermediate CA", ROOT, ca=True)
    root, first_ca, second_ca = ca_cert(ROOT), ca_cert(INTERMEDIATE), ca_cert(second)
    first_devs = [device(issue(f"a{i}", INTERMEDIATE)) for i in range(2)]
    # no AKI: these are matched to their issuer by name and signature
    second_devs = [device(issue(f"b{i}", second, aki=False)) for i in range(3)]
    snap = snapshot(first_devs + second_devs, [root, first_ca, second_ca],
                    [crl(root, INTERMEDIATE.cert.serial_number, second.cert.serial_number)])
    result = run("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK", snap)
    related = {f.resource_identifier["issuerCertificateIdentifier"]["issuerCertificateSubject"]:
               [r["resourceIdentifier"]["deviceCertificateId"] for r in f.related_resources] for f in result.findings}
    assert related == {"CN=Workshop Intermediate CA,O=Workshop": [d.certificate_id for d in first_devs],
                       "CN=Second Intermediate CA,O=Workshop": [d.certificate_id for d in second_devs]}


@pytest.mark.parametrize("serial, expected", [
    (0x1234, "1234"),
    (0xABC, "0abc"),  # whole octets, as OpenSSL prints serials
    (0x0102030405060708090A, "0102030405060708090a"),  # 10 octets fit exactly
    (0x0102030405060708090A0B0C, "0102030405060708090a"),  # longer: the 10 most significant octets
    ((1 << 158) + 5, "40000000000000000000"),  # 159 bits, the most x509.random_serial_number() gives
])
def test_issuer_serial_number_fits_the_shape(serial: int, expected: str) -> None:
    sub = issue("Serial CA", ROOT, ca=True, serial=serial)
    root, sub_ca = ca_cert(ROOT), ca_cert(sub)
    snap = snapshot([device(issue("dev", sub))], [root, sub_ca], [crl(root, serial)])
    [finding] = run("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK", snap).findings
    assert finding.resource_identifier["issuerCertificateIdentifier"]["issuerCertificateSerialNumber"] == expected
    assert f"serial {serial:x}" in finding.reason


@pytest.mark.parametrize("subject, expected", [
    (name("Zwischen-CA Müller"), "CN=Zwischen-CA M\\C3\\BCller,O=Workshop"),  # printable ASCII only
    (name("CA, with comma"), "CN=CA\\, with comma,O=Workshop"),
    (name("Long CA", *[x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{i:02d}" + "u" * 60)
                       for i in range(20)]), None),  # longer than 1000 characters: cut to 1000
])
def test_issuer_subject_fits_the_shape(subject: x509.Name, expected: str | None) -> None:
    sub = issue(subject, ROOT, ca=True, ski=False)
    root, sub_ca = ca_cert(ROOT), ca_cert(sub)
    snap = snapshot([device(issue("dev", sub))], [root, sub_ca], [crl(root, sub.cert.serial_number)])
    [finding] = run("INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK", snap).findings
    identifier = finding.resource_identifier["issuerCertificateIdentifier"]
    if expected is None:
        assert len(subject.rfc4514_string()) > 1000 and len(identifier["issuerCertificateSubject"]) == 1000
    else:
        assert identifier["issuerCertificateSubject"] == expected
    # without a Subject Key Identifier extension, the issuerId is computed from the key (RFC 5280 method 1)
    assert identifier["issuerId"] == x509.SubjectKeyIdentifier.from_public_key(sub.cert.public_key()).digest.hex()


# -- speed -----------------------------------------------------------------------------------------------------------


def test_thousands_of_device_certificates_are_each_judged() -> None:
    """Scale correctness (the speed is measured in benchmarks/bench_checks.py, not asserted here)."""
    pems = []
    for i in range(2_000):
        issued = issue(f"dev-{i}", INTERMEDIATE if i % 2 else ROOT, serial=10_000 + i,
                       not_after=NOW + (i % 400) * DAY, aki=i % 10 != 0)
        pems.append((issued.cert.public_bytes(serialization.Encoding.PEM).decode(), certificate_id(issued.cert)))
    root, intermediate = ca_cert(ROOT), ca_cert(INTERMEDIATE)
    crls = [crl(root, INTERMEDIATE.cert.serial_number), crl(intermediate, *range(10_001, 10_200, 2))]
    statuses = ("ACTIVE", "ACTIVE", "ACTIVE", "INACTIVE", "PENDING_TRANSFER")
    # fresh CertificateInfo objects: nothing parsed yet, so the timing includes parsing every PEM once
    devices = [CertificateInfo(cid, f"arn:aws:iot:us-east-1:123456789012:cert/{cid}", statuses[i % 5], pem,
                               NOW - (i % 700) * DAY) for i, (pem, cid) in enumerate(pems)]
    snap = snapshot(devices, [root, intermediate], crls)
    results = {check: get_check(check)(snap) for check in CERTIFICATE_CHECKS}
    audited = sum(d.audited for d in devices)
    assert results["DEVICE_CERTIFICATE_EXPIRING_CHECK"].total_resources == audited
    assert len(results["DEVICE_CERTIFICATE_EXPIRING_CHECK"].findings) == sum(
        d.audited and i % 400 <= 30 for i, d in enumerate(devices))
    assert len(results["REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK"].findings) == sum(
        d.audited and i % 2 == 1 and 10_000 + i in range(10_001, 10_200, 2) for i, d in enumerate(devices))
    [finding] = results["INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK"].findings
    assert len(finding.related_resources) == sum(d.audited and i % 2 for i, d in enumerate(devices))
