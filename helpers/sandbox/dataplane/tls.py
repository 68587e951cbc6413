"""TLS for the broker: a server context that requires a client certificate and trusts exactly the registered device
certificates, and the per-connection upgrade that always uses the current context.

Python's ``ssl`` has no verify callback, so certificates registered without a CA (AWS accepts them) are made
verifiable by adding each registered certificate itself to the trust store, with ``VERIFY_X509_PARTIAL_CHAIN``.
The store only ever grows (OpenSSL cannot remove a certificate); the exact gate is the fingerprint and status
check at CONNECT (authn.py). Certificates are added one at a time as they are registered: loading thousands in
one call blocks the event loop for seconds.
"""
from __future__ import annotations

import asyncio
import hashlib
import ssl

from .pki import SandboxPki

HANDSHAKE_TIMEOUT = 10.0


class ServerTls:
    """The broker's server-side TLS: one live context, registered certificates added to it as they appear."""

    def __init__(self, pki: SandboxPki) -> None:
        self.pki = pki
        self._trusted: set[str] = set()
        self.context = self._new_context()

    def _new_context(self) -> ssl.SSLContext:
        """Return a fresh server context (TLS 1.2+, client certificate required, nothing trusted yet)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.verify_mode = ssl.CERT_REQUIRED
        context.verify_flags = (context.verify_flags | ssl.VERIFY_X509_PARTIAL_CHAIN) & ~ssl.VERIFY_X509_STRICT
        self.pki.load_into(context)
        return context

    def trust(self, pem: str) -> bool:
        """Add a registered certificate to the trust store; return False when it was there already or does not load."""
        digest = hashlib.sha256(pem.strip().encode()).hexdigest()
        if digest in self._trusted:
            return False
        self._trusted.add(digest)
        try:
            self.context.load_verify_locations(cadata=pem)
        except (ssl.SSLError, ValueError):
            return False  # moto stores PEMs that do not parse; such a certificate can never be presented anyway
        return True

    def rebuild(self) -> None:
        """Start again with an empty trust store (after a sandbox reset)."""
        self._trusted.clear()
        self.context = self._new_context()

    async def upgrade(self, writer: asyncio.StreamWriter, timeout: float = HANDSHAKE_TIMEOUT) -> None:
        """Run the server side of the TLS handshake on an accepted connection, with the context as it is now."""
        await writer.start_tls(self.context, ssl_handshake_timeout=timeout)


def peer_certificate(ssl_object: ssl.SSLObject | None) -> bytes | None:
    """Return the DER of the client's certificate on a TLS connection, or None."""
    if ssl_object is None:
        return None
    return ssl_object.getpeercert(binary_form=True)
