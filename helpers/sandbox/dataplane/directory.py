"""What the data plane needs to know about the account, as a small protocol the server implements over its state
(moto's IoT registry and the Device Defender connection history). The data plane never imports those backends.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Any, Mapping, Protocol, Sequence


@dataclass(frozen=True)
class RegisteredCertificate:
    """A device certificate registered in an account and region, with its PEM."""

    account: str
    region: str
    certificate_id: str
    pem: str

    @property
    def key(self) -> tuple[str, str, str]:
        """Return (account, region, certificate id)."""
        return self.account, self.region, self.certificate_id


@dataclass(frozen=True)
class CertificateState:
    """The current registry view of a certificate: its ARN and status (ACTIVE, INACTIVE, REVOKED, ...)."""

    arn: str
    status: str


@dataclass(frozen=True)
class ThingInfo:
    """A registry thing: name, type (or None) and attributes."""

    name: str
    thing_type: str | None
    attributes: Mapping[str, str]


class Directory(Protocol):
    """The registry and connection history, as the broker reads and writes them (every call is thread-safe)."""

    def new_certificates(self, known: AbstractSet[tuple[str, str, str]]) -> Sequence[RegisteredCertificate]:
        """Return the registered device certificates (every account and region) whose (account, region,
        certificate id) is not in ``known``."""

    def certificate(self, account: str, region: str, certificate_id: str) -> CertificateState | None:
        """Return the certificate's current state, or None when it is no longer registered."""

    def policy_documents(self, account: str, region: str, certificate_arn: str) -> Sequence[str | Mapping[str, Any]]:
        """Return the default-version documents of the policies that apply to the certificate (its own, and those of
        the thing groups its things belong to)."""

    def thing(self, account: str, region: str, thing_name: str) -> ThingInfo | None:
        """Return the thing named ``thing_name``, or None."""

    def is_attached(self, account: str, region: str, certificate_arn: str, thing_name: str) -> bool:
        """Return True when the thing is attached to the certificate."""

    def now(self, account: str, region: str) -> float:
        """Return the sandbox clock of the account and region, in epoch seconds."""

    def open_session(self, account: str, region: str, client_id: str, certificate_id: str, source_ip: str,
                     at: float) -> Any:
        """Record a session that started at ``at``; return a handle for :meth:`close_session`."""

    def close_session(self, handle: Any, at: float) -> None:
        """Record that the session ``handle`` ended at ``at``."""
