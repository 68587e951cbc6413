"""The data plane's view of the sandbox: :class:`~helpers.sandbox.dataplane.Directory` over moto's IoT registry and
the Device Defender backend's connection history, every call under the one state lock.
"""
from __future__ import annotations

from typing import AbstractSet, Any, Mapping, Sequence

from moto.iot.models import iot_backends
from moto.utilities.utils import get_partition

from . import data_endpoint
from .dataplane import CertificateState, DataPlane, RegisteredCertificate, ThingInfo
from .locking import STATE_LOCK
from .models import devicedefender_backends


def _iot(account: str, region: str) -> Any:
    """Return moto's IoT backend of an account and region (created on first use, as moto does)."""
    return iot_backends[account][region]


class SandboxDirectory:
    """The registry and connection history of every account and region of this sandbox process."""

    def new_certificates(self, known: AbstractSet[tuple[str, str, str]]) -> Sequence[RegisteredCertificate]:
        """Return the registered device certificates whose (account, region, id) is not in ``known``."""
        with STATE_LOCK:
            return [RegisteredCertificate(account, region, cert_id, cert.certificate_pem)
                    for account, region, backend in list(iot_backends.iter_backends())
                    for cert_id, cert in list(backend.certificates.items())
                    if (account, region, cert_id) not in known]

    def certificate(self, account: str, region: str, certificate_id: str) -> CertificateState | None:
        """Return the certificate's ARN and status now, or None when it is not registered."""
        with STATE_LOCK:
            cert = _iot(account, region).certificates.get(certificate_id)
            return None if cert is None else CertificateState(cert.arn, cert.status)

    def policy_documents(self, account: str, region: str, certificate_arn: str) -> Sequence[str | Mapping[str, Any]]:
        """Return the default-version documents of the policies attached to the certificate and to the thing groups
        (and their parents) of the things attached to it."""
        with STATE_LOCK:
            iot = _iot(account, region)
            targets = {certificate_arn} | self._group_arns(iot, certificate_arn)
            return [policy.document for (target, _), (_, policy) in list(iot.principal_policies.items())
                    if target in targets]

    @staticmethod
    def _group_arns(iot: Any, certificate_arn: str) -> set[str]:
        """Return the ARNs of the thing groups (with their ancestors) holding a thing attached to the certificate."""
        if not iot.thing_groups:
            return set()
        thing_arns = {thing.arn for (principal, _), (_, thing) in list(iot.principal_things.items())
                      if principal == certificate_arn}
        groups = {g.thing_group_name: g for g in iot.thing_groups.values()}
        arns: set[str] = set()
        for group in list(groups.values()):
            if thing_arns & set(group.things):
                while group is not None and group.arn not in arns:
                    arns.add(group.arn)
                    group = groups.get(group.parent_group_name) if group.parent_group_name else None
        return arns

    def thing(self, account: str, region: str, thing_name: str) -> ThingInfo | None:
        """Return the thing named ``thing_name``, or None."""
        with STATE_LOCK:
            iot = _iot(account, region)
            arn = f"arn:{get_partition(region)}:iot:{region}:{account}:thing/{thing_name}"
            thing = iot.things.get(arn)
            if thing is None:
                return None
            type_name = getattr(thing.thing_type, "thing_type_name", None) if thing.thing_type else None
            return ThingInfo(thing.thing_name, type_name, dict(thing.attributes or {}))

    def is_attached(self, account: str, region: str, certificate_arn: str, thing_name: str) -> bool:
        """Return True when the thing is attached to the certificate."""
        with STATE_LOCK:
            return (certificate_arn, thing_name) in _iot(account, region).principal_things

    def now(self, account: str, region: str) -> float:
        """Return the sandbox clock of the account and region, in epoch seconds."""
        return devicedefender_backends[account][region].now().timestamp()

    def open_session(self, account: str, region: str, client_id: str, certificate_id: str, source_ip: str,
                     at: float) -> Any:
        """Record a live session in the connection history; return (backend, event) for :meth:`close_session`."""
        backend = devicedefender_backends[account][region]
        return backend, backend.open_session(client_id, certificate_id, source_ip, at)

    def close_session(self, handle: Any, at: float) -> None:
        """Record the end of the session ``handle``."""
        backend, event = handle
        backend.close_session(event, at)


def start_data_plane(port: int, host: str = "127.0.0.1") -> DataPlane:
    """Start the broker on ``host:port`` (0 picks a free port), publish its endpoint, and return it."""
    plane = DataPlane(SandboxDirectory(), host, port).start()
    data_endpoint.publish(data_endpoint.DataEndpoint(host, plane.port, plane.root_ca_pem))
    return plane


def stop_data_plane(plane: DataPlane) -> None:
    """Withdraw the broker's endpoint and stop it."""
    data_endpoint.withdraw(data_endpoint.DataEndpoint(plane.host, plane.port, plane.root_ca_pem))
    plane.stop()
