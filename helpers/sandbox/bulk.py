"""Bulk registration of devices straight into moto's dictionaries: the sandbox's stand-in for AWS's bulk
provisioning, so a fleet of 10,000 devices is seeded in seconds (one request per device through moto's API layer
takes minutes, and moto's per-item look-ups make it quadratic). The state is the same the API would build.

A device may carry ``registeredAt`` (epoch seconds): when its certificate was registered, for fleets imported from
elsewhere. It becomes the certificate's creationDate, which DEVICE_CERTIFICATE_AGE_CHECK measures age from. It must
lie between the certificate's X.509 notBefore (a certificate is not registered before it exists) and the sandbox's
now (nothing is registered in the future).
"""
from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

from cryptography import x509
from moto.iot import models as iot_models

from .exceptions import InvalidRequestException

THING_NAME_RE = re.compile(r"^[a-zA-Z0-9:_-]{1,128}$")
STATUSES = ("ACTIVE", "INACTIVE", "REVOKED", "PENDING_TRANSFER", "REGISTER_INACTIVE", "PENDING_ACTIVATION")
MAX_BATCH = 20_000


def _validated(devices: Any, iot: Any, now: datetime) -> list[dict[str, Any]]:
    """Return ``devices`` when every one is valid, else raise InvalidRequestException naming the first problem."""
    if not isinstance(devices, list) or not 1 <= len(devices) <= MAX_BATCH:
        raise InvalidRequestException(f'"devices" must be a list of 1 to {MAX_BATCH} devices.')
    existing = {t.thing_name for t in iot.things.values()}
    seen: set[str] = set()
    parsed: dict[str, x509.Certificate] = {}  # PEMs that parsed already (a fleet may share one certificate)
    registered: dict[str, tuple[float, int]] = {}  # PEM -> (registeredAt, index of the device that gave it)
    for i, d in enumerate(devices):
        where = f"devices[{i}]"
        if not isinstance(d, dict):
            raise InvalidRequestException(f"{where} must be an object.")
        name = d.get("thingName")
        if not isinstance(name, str) or not THING_NAME_RE.match(name):
            raise InvalidRequestException(f"{where}.thingName must be 1-128 of [a-zA-Z0-9:_-]; got {name!r}.")
        if name in seen or name in existing:
            raise InvalidRequestException(f"{where}.thingName {name} already exists.")
        seen.add(name)
        attrs = d.get("attributes", {})
        if not isinstance(attrs, dict) or not all(isinstance(v, str) for v in attrs.values()):
            raise InvalidRequestException(f"{where}.attributes must map names to strings.")
        pem = d.get("certificatePem")
        if not isinstance(pem, str) or "-----BEGIN CERTIFICATE-----" not in pem:
            raise InvalidRequestException(f"{where}.certificatePem must be a PEM certificate.")
        if pem not in parsed:
            try:
                parsed[pem] = x509.load_pem_x509_certificate(pem.encode())
            except (ValueError, TypeError, UnicodeEncodeError):
                raise InvalidRequestException(f"{where}.certificatePem does not parse as an X.509 certificate in "
                                              "PEM format: send the certificate's PEM as issued.") from None
        if "registeredAt" in d:
            at = _registered_at(d["registeredAt"], parsed[pem], now, where)
            first = registered.setdefault(pem, (at, i))
            if first[0] != at:
                raise InvalidRequestException(f"{where}.registeredAt differs from devices[{first[1]}].registeredAt "
                                              "for the same certificate: a certificate is registered once.")
        if d.get("certificateStatus", "ACTIVE") not in STATUSES:
            raise InvalidRequestException(f"{where}.certificateStatus must be one of {', '.join(STATUSES)}.")
        ca = d.get("caCertificateId")
        if ca is not None and (not isinstance(ca, str) or ca not in iot.ca_certificates):
            raise InvalidRequestException(f"{where}.caCertificateId {ca!r} is not a registered CA certificate.")
        policies = d.get("policyNames", [])
        if not isinstance(policies, list) or not all(isinstance(p, str) for p in policies):
            raise InvalidRequestException(f"{where}.policyNames must be a list of policy names.")
        for policy in policies:
            if policy not in iot.policies:
                raise InvalidRequestException(f"{where}.policyNames: policy {policy} does not exist.")
    return devices


def _registered_at(value: Any, cert: x509.Certificate, now: datetime, where: str) -> float:
    """Return ``value`` (epoch seconds) when it lies between the certificate's notBefore and ``now``, else refuse."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequestException(f"{where}.registeredAt must be epoch seconds (a number); got {value!r}.")
    issued = cert.not_valid_before_utc
    if value > now.timestamp():
        raise InvalidRequestException(f"{where}.registeredAt {_iso(value)} is in the future (the sandbox clock says "
                                      f"{now.isoformat(timespec='seconds')}): give when it was registered.")
    if value < issued.timestamp():
        raise InvalidRequestException(f"{where}.registeredAt {_iso(value)} is before the certificate's notBefore "
                                      f"({issued.isoformat(timespec='seconds')}): it cannot be registered before it "
                                      "was issued.")
    return float(value)


def _iso(seconds: float) -> str:
    """Return epoch seconds as an ISO 8601 UTC time for a message (or the number when out of range)."""
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return repr(seconds)


def bulk_register(iot: Any, devices: Any, now: datetime) -> dict[str, int]:
    """Register things, certificates (one per distinct PEM, dated ``registeredAt`` when given), attachments; return
    the counts created. ``now`` is the sandbox's clock, the latest registration date allowed."""
    _validated(devices, iot, now)
    account, region = iot.account_id, iot.region_name
    by_pem: dict[str, Any] = {}
    created_certs = 0
    for d in devices:
        pem = d["certificatePem"]
        cert = by_pem.get(pem)
        if cert is None:
            cert = iot_models.FakeCertificate(pem, d.get("certificateStatus", "ACTIVE"), account, region,
                                              d.get("caCertificateId"))
            if cert.certificate_id not in iot.certificates:
                if "registeredAt" in d:  # moto keeps naive UTC datetimes
                    cert.creation_date = datetime.fromtimestamp(d["registeredAt"], timezone.utc).replace(tzinfo=None)
                    cert.last_modified_date = cert.creation_date
                iot.certificates[cert.certificate_id] = cert
                created_certs += 1
            cert = iot.certificates[cert.certificate_id]
            by_pem[pem] = cert
        thing = iot_models.FakeThing(d["thingName"], None, dict(d.get("attributes", {})), account, region)
        iot.things[thing.arn] = thing
        iot.principal_things[(cert.arn, thing.thing_name)] = (cert, thing)
        for policy in d.get("policyNames", []):
            iot.principal_policies[(cert.arn, policy)] = (cert, iot.policies[policy])
    return {"things": len(devices), "certificates": created_certs}
