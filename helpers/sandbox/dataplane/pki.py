"""The sandbox's own PKI for the data plane: a root CA made per sandbox process and the broker's server certificate
(valid for ``localhost`` and ``127.0.0.1``), as AWS IoT Core's endpoint is signed under Amazon Root CA 1.

The keys live in memory only; the server certificate and key reach ``ssl`` through a 0600 temporary file that is
deleted at once (``ssl.SSLContext.load_cert_chain`` reads files only).
"""
from __future__ import annotations

import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ("localhost", "127.0.0.1")
VALIDITY = timedelta(days=365)


@dataclass(frozen=True, repr=False)
class SandboxPki:
    """The root CA certificate (PEM) devices trust, and the broker's certificate chain and key (PEM)."""

    root_ca_pem: str
    server_cert_pem: str
    _server_key_pem: bytes = field(repr=False)

    def load_into(self, context: ssl.SSLContext) -> None:
        """Load the server certificate and key into ``context``."""
        fd, path = tempfile.mkstemp(prefix="sandbox-broker-", suffix=".pem")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(self.server_cert_pem.encode() + self._server_key_pem)
            context.load_cert_chain(path)
        finally:
            os.unlink(path)

    def __repr__(self) -> str:  # never show key material
        return "SandboxPki(root CA and broker certificate)"


def _name(common_name: str) -> x509.Name:
    """Return an X.509 name for the sandbox's certificates."""
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "IoT Audit Workshop sandbox"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_alt_names(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    """Return a SAN extension with DNS names and IP addresses."""
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def make_pki(names: tuple[str, ...] = SERVER_NAMES) -> SandboxPki:
    """Return a new root CA and a server certificate it issued for ``names`` (EC P-256, valid one year)."""
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("IoT sandbox root CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + VALIDITY)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(ca_name)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now).not_valid_after(now + VALIDITY)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(_subject_alt_names(names), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return SandboxPki(ca.public_bytes(pem).decode(), server.public_bytes(pem).decode(), key_pem)
