"""Bulk registration of devices straight into moto's dictionaries: the sandbox's stand-in for AWS's bulk
provisioning, so a fleet of 10,000 devices is seeded in seconds (one request per device through moto's API layer
takes minutes, and moto's per-item look-ups make it quadratic). The state is the same the API would build."""
from __future__ import annotations

import re
from typing import Any

from cryptography import x509
from moto.iot import models as iot_models

from .exceptions import InvalidRequestException

THING_NAME_RE = re.compile(r"^[a-zA-Z0-9:_-]{1,128}$")
STATUSES = ("ACTIVE", "INACTIVE", "REVOKED", "PENDING_TRANSFER", "REGISTER_INACTIVE", "PENDING_ACTIVATION")
MAX_BATCH = 20_000


def _validated(devices: Any, iot: Any) -> list[dict[str, Any]]:
    if not isinstance(devices, list) or not 1 <= len(devices) <= MAX_BATCH:
        raise InvalidRequestException(f'"devices" must be a list of 1 to {MAX_BATCH} devices.')
    existing = {t.thing_name for t in iot.things.values()}
    seen: set[str] = set()
    parsed: set[str] = set()  # PEMs that parsed already (a fleet may share one certificate)
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
                x509.load_pem_x509_certificate(pem.encode())
            except (ValueError, TypeError, UnicodeEncodeError):
                raise InvalidRequestException(f"{where}.certificatePem does not parse as an X.509 certificate in "
                                              "PEM format: send the certificate's PEM as issued.") from None
            parsed.add(pem)
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


def bulk_register(iot: Any, devices: Any) -> dict[str, int]:
    """Register things, certificates (one per distinct PEM), attachments; return the counts created."""
    _validated(devices, iot)
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
