"""Load a certificate revocation list published to the sandbox and verify it against the registered CA that issued
it."""
from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from .snapshot import CACertificateInfo, CrlInfo


def _parse(data: str | bytes) -> x509.CertificateRevocationList:
    """Return the parsed CRL from PEM text or DER bytes (PEM bytes are accepted too)."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_crl(raw)
        return x509.load_der_x509_crl(raw)
    except ValueError as exc:
        raise ValueError(f"The CRL does not parse as a PEM or DER X.509 CRL: {exc}") from None


def _authority_key_id(crl: x509.CertificateRevocationList) -> bytes | None:
    """Return the CRL's Authority Key Identifier, or None when it has none."""
    try:
        return crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        return None


def _subject_key_id(cert: x509.Certificate) -> bytes | None:
    """Return the certificate's Subject Key Identifier, or None when it has none."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, ValueError):
        return None


def _candidates(crl: x509.CertificateRevocationList,
                ca_certificates: list[CACertificateInfo]) -> list[tuple[CACertificateInfo, x509.Certificate]]:
    """Return the registered CAs named as the CRL's issuer, those whose SKI matches the CRL's AKI first."""
    named = [(ca, ca.x509) for ca in ca_certificates if ca.x509 is not None and ca.x509.subject == crl.issuer]
    aki = _authority_key_id(crl)
    return sorted(named, key=lambda pair: aki is None or _subject_key_id(pair[1]) != aki)


def _signed_by(crl: x509.CertificateRevocationList, ca: x509.Certificate) -> bool:
    """Return True when the CRL's signature verifies with the CA certificate's public key."""
    try:
        return crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError, UnsupportedAlgorithm):
        return False


def load_crl(data: str | bytes, ca_certificates: list[CACertificateInfo]) -> CrlInfo:
    """Return the revocations of a CRL (PEM text or DER bytes) after verifying it against the registered CA that
    issued it; raise ValueError when it does not parse, no registered CA issued it, or its signature is invalid."""
    crl = _parse(data)
    # Any registered CA counts, whatever its IoT status: an INACTIVE CA can still publish revocations.
    candidates = _candidates(crl, ca_certificates)
    if not candidates:
        raise ValueError("No registered CA certificate issued this CRL "
                         f"(its issuer is {crl.issuer.rfc4514_string()!r}).")
    for ca, cert in candidates:
        if _signed_by(crl, cert):
            return CrlInfo(issuer_ca_certificate_id=ca.certificate_id,
                           revoked_serials=frozenset(entry.serial_number for entry in crl),
                           this_update=crl.last_update_utc, next_update=crl.next_update_utc)
    ids = ", ".join(ca.certificate_id for ca, _ in candidates)
    raise ValueError(f"The CRL signature is not valid for the registered CA certificate(s) named as its issuer "
                     f"({ids}).")
