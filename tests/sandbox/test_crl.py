"""load_crl: parse a PEM or DER CRL, find the registered CA that issued it and verify its signature."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from helpers.sandbox.checks import get_check
from helpers.sandbox.crl import load_crl

from .test_checks_certificates import (DAY, INTERMEDIATE, NOW, OTHER_ROOT, ROOT, Issued, ca_cert, device, issue,
                                       snapshot)
from .test_keyquality import ordinary_rsa_key


def build_crl(issuer: Issued, serials: Sequence[int] = (), *, signing_key: Any = None, aki: bool = True,
              issuer_name: x509.Name | None = None) -> x509.CertificateRevocationList:
    """Return a CRL naming ``issuer`` (or ``issuer_name``) revoking ``serials``, signed by ``signing_key`` or the
    issuer's key."""
    key = signing_key or issuer.key
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer_name or issuer.cert.subject)
               .last_update(NOW - DAY).next_update(NOW + 6 * DAY))
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(NOW - DAY).build())
    if aki:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), False)
    return builder.sign(key, hashes.SHA256())


def pem(crl: x509.CertificateRevocationList) -> str:
    """Return the CRL as PEM text."""
    return crl.public_bytes(serialization.Encoding.PEM).decode()


def der(crl: x509.CertificateRevocationList) -> bytes:
    """Return the CRL as DER bytes."""
    return crl.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("encode", [pem, der, lambda c: pem(c).encode()], ids=["pem-str", "der-bytes", "pem-bytes"])
@pytest.mark.parametrize("aki", [True, False])
def test_a_crl_of_a_registered_ca_loads(encode: Any, aki: bool) -> None:
    root, intermediate = ca_cert(ROOT), ca_cert(INTERMEDIATE)
    info = load_crl(encode(build_crl(INTERMEDIATE, [5, 7, 2**150], aki=aki)), [root, intermediate])
    assert info.issuer_ca_certificate_id == intermediate.certificate_id
    assert info.revoked_serials == frozenset({5, 7, 2**150})
    assert (info.this_update, info.next_update) == (NOW - DAY, NOW + 6 * DAY)


def test_an_empty_crl_revokes_nothing() -> None:
    root = ca_cert(ROOT)
    assert load_crl(pem(build_crl(ROOT)), [root]).revoked_serials == frozenset()


def test_an_inactive_ca_can_still_publish_a_crl() -> None:
    intermediate = ca_cert(INTERMEDIATE, "INACTIVE")
    assert load_crl(pem(build_crl(INTERMEDIATE, [1])), [intermediate]).issuer_ca_certificate_id == \
        intermediate.certificate_id


def test_an_rsa_ca_crl_loads() -> None:
    key = ordinary_rsa_key(2048)
    rsa_ca = issue("RSA CA", ROOT, key=key, ca=True)
    info = load_crl(der(build_crl(rsa_ca, [9])), [ca_cert(ROOT), ca_cert(rsa_ca)])
    assert info.revoked_serials == frozenset({9})


@pytest.mark.parametrize("aki", [True, False])
@pytest.mark.parametrize("signed_by_first", [True, False])
def test_two_registered_cas_of_the_same_name(aki: bool, signed_by_first: bool) -> None:
    first, second = issue("Twin CA", ROOT, ca=True), issue("Twin CA", OTHER_ROOT, ca=True)
    cas = [ca_cert(first), ca_cert(second)]
    info = load_crl(pem(build_crl(first if signed_by_first else second, [3], aki=aki)), cas)
    assert info.issuer_ca_certificate_id == cas[0 if signed_by_first else 1].certificate_id


@pytest.mark.parametrize("data", ["", "not a CRL", b"", b"\x30\x03\x02\x01\x00",
                                  "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"])
def test_what_does_not_parse_is_rejected(data: str | bytes) -> None:
    with pytest.raises(ValueError, match="does not parse"):
        load_crl(data, [ca_cert(ROOT)])


def test_a_certificate_is_not_a_crl() -> None:
    with pytest.raises(ValueError, match="does not parse"):
        load_crl(ROOT.cert.public_bytes(serialization.Encoding.PEM).decode(), [ca_cert(ROOT)])


def test_a_crl_of_an_unregistered_ca_is_rejected() -> None:
    with pytest.raises(ValueError, match="No registered CA certificate issued this CRL"):
        load_crl(pem(build_crl(OTHER_ROOT, [1])), [ca_cert(ROOT), ca_cert(INTERMEDIATE)])


def test_unparsable_registered_cas_are_ignored() -> None:
    broken = ca_cert(ROOT)
    broken.pem = "garbage"
    with pytest.raises(ValueError, match="No registered CA certificate issued this CRL"):
        load_crl(pem(build_crl(ROOT, [1])), [broken])


@pytest.mark.parametrize("aki", [True, False])
def test_a_crl_in_a_registered_name_signed_by_another_key_is_rejected(aki: bool) -> None:
    forged = build_crl(INTERMEDIATE, [1], signing_key=ec.generate_private_key(ec.SECP256R1()), aki=aki)
    with pytest.raises(ValueError, match="signature is not valid"):
        load_crl(pem(forged), [ca_cert(ROOT), ca_cert(INTERMEDIATE)])


def test_a_tampered_crl_is_rejected() -> None:
    data = bytearray(der(build_crl(INTERMEDIATE, [0x0102030405])))
    at = data.index(bytes.fromhex("0102030405"))
    data[at + 4] ^= 0x01  # revoke serial ...04 instead of ...05
    with pytest.raises(ValueError, match="signature is not valid"):
        load_crl(bytes(data), [ca_cert(INTERMEDIATE)])


def test_a_loaded_crl_drives_the_revoked_device_check() -> None:
    root, intermediate = ca_cert(ROOT), ca_cert(INTERMEDIATE)
    revoked, kept = device(issue("revoked", INTERMEDIATE, serial=501)), device(issue("kept", INTERMEDIATE, serial=502))
    info = load_crl(der(build_crl(INTERMEDIATE, [501])), [root, intermediate])
    result = get_check("REVOKED_DEVICE_CERTIFICATE_STILL_ACTIVE_CHECK")(
        snapshot([revoked, kept], [root, intermediate], [info]))
    assert [f.resource_identifier for f in result.findings] == [{"deviceCertificateId": revoked.certificate_id}]
