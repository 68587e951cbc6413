"""Authentication as AWS IoT Core does it: the client certificate must be registered in the account and region and
ACTIVE (certificates registered without a CA and from CreateKeysAndCertificate alike).

The TLS trust store only lets registered certificates (and, for a registered CA:TRUE certificate, what its key
signed) complete the handshake; the exact gate is here: the SHA-256 fingerprint of the presented certificate must be
a registered certificate, read fresh from the registry, in status ACTIVE, when CONNECT arrives.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .directory import CertificateState, Directory, RegisteredCertificate
from .tls import ServerTls

ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class Identity:
    """Who a connection is: the certificate it authenticated with, in which account and region."""

    account: str
    region: str
    certificate_id: str
    certificate_arn: str
    certificate: x509.Certificate


@dataclass(frozen=True)
class Refusal:
    """Why a connection was refused (shown in the broker's log and to tests)."""

    reason: str


def fingerprint(der: bytes) -> str:
    """Return the SHA-256 fingerprint of a DER certificate, as lower-case hex (AWS's certificate id scheme)."""
    return hashlib.sha256(der).hexdigest()


def _der(pem: str) -> bytes | None:
    """Return the DER bytes of a PEM certificate, or None when it does not parse."""
    try:
        return x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    except (ValueError, TypeError):
        return None


class Authenticator:
    """Maps presented certificates to registered ones and decides whether they may connect."""

    def __init__(self, directory: Directory, tls: ServerTls) -> None:
        self.directory = directory
        self.tls = tls
        self._known: set[tuple[str, str, str]] = set()
        self._by_fingerprint: dict[str, list[RegisteredCertificate]] = {}

    def pending(self) -> list[RegisteredCertificate]:
        """Return the certificates registered since they were last learnt."""
        return list(self.directory.new_certificates(self._known))

    def sync(self) -> int:
        """Learn the certificates registered since the last call (trusting them in TLS); return how many."""
        return self.learn(self.pending())

    def learn(self, fresh: list[RegisteredCertificate]) -> int:
        """Learn ``fresh`` certificates (trusting them in TLS); return how many were new."""
        learnt = 0
        for cert in fresh:
            if cert.key in self._known:
                continue
            learnt += 1
            self._known.add(cert.key)
            der = _der(cert.pem)
            if der is None:
                continue
            self._by_fingerprint.setdefault(fingerprint(der), []).append(cert)
            self.tls.trust(cert.pem)
        return learnt

    def forget_all(self) -> None:
        """Forget every certificate learnt (after a sandbox reset) and start a new trust store."""
        self._known.clear()
        self._by_fingerprint.clear()
        self.tls.rebuild()

    def authenticate(self, der: bytes | None) -> Identity | Refusal:
        """Return the identity of the presented certificate, or why it may not connect."""
        if not der:
            return Refusal("no client certificate was presented")
        candidates = self._by_fingerprint.get(fingerprint(der), [])
        states: list[tuple[RegisteredCertificate, CertificateState]] = []
        for cert in candidates:
            state = self.directory.certificate(cert.account, cert.region, cert.certificate_id)
            if state is not None:
                states.append((cert, state))
        if not states:
            return Refusal(f"certificate {fingerprint(der)} is not registered in this sandbox")
        for cert, state in states:
            if state.status == ACTIVE:
                return Identity(cert.account, cert.region, cert.certificate_id, state.arn,
                                x509.load_der_x509_certificate(der))
        cert, state = states[0]
        return Refusal(f"certificate {cert.certificate_id} is {state.status}, not ACTIVE")

    def still_active(self, identity: Identity) -> bool:
        """Return True while the identity's certificate is registered and ACTIVE."""
        state = self.directory.certificate(identity.account, identity.region, identity.certificate_id)
        return state is not None and state.status == ACTIVE
