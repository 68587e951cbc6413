"""Creating a planned fleet on the target: its CAs, policies, devices (things, certificates, attachments), CRL, role
aliases and Cognito pools, and its connection history. Every resource is tagged and recorded in the local state as
soon as it exists.

The same boto3 calls serve both targets. Sandbox-only controls stand in for data sources AWS has and moto lacks
(bulk registration, recorded connection history, the published CRL, role-alias and Cognito usage); in aws mode the
devices are registered one by one and the problem devices really connect over MQTT.
"""
from __future__ import annotations

from typing import Any

from . import certs, devices, state, target
from .errors import WorkshopError
from .fleet_base import (RUN_TAG, TAG_KEY, TAG_VALUE, after_role_propagation, chunks, create_policy, create_role,
                         iot_tags, is_sandbox, register_ca, target_now, thing_attributes)
from .fleet_plan import POLICY_DOCUMENTS, Fleet, FleetPKI, alias_roles, cognito_roles, fleet_sessions, policy_name

BULK_CHUNK = 5000


def create_cas(fleet: Fleet, pki: FleetPKI) -> None:
    """Register the fleet's four CA certificates.

    AWS operations:
    [GetRegistrationCode](https://docs.aws.amazon.com/iot/latest/apireference/API_GetRegistrationCode.html),
    [RegisterCACertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCACertificate.html).
    """
    for key, ca in (("root", pki.root), ("intermediate", pki.intermediate), ("expiring", pki.expiring_ca),
                    ("weak", pki.weak_ca)):
        fleet.ca_certificate_ids[key] = register_ca(ca, fleet.run_id)


def create_policies(fleet: Fleet, account: str) -> None:
    """Create every fleet policy (one healthy, three overly permissive, one misconfigured).

    AWS operation: [CreatePolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html).
    """
    prefix = f"arn:aws:iot:{target.get_region()}:{account}:"
    for kind, document in POLICY_DOCUMENTS.items():
        fleet.policies[kind] = create_policy(policy_name(fleet.run_id, kind), document(prefix), fleet.run_id)


def _device_records(fleet: Fleet, pki: FleetPKI, now: float) -> list[dict[str, Any]]:
    """Return the bulk-register records of the fleet's devices (old certificates dated ``registered_days_ago``
    before ``now``, epoch seconds)."""
    out = []
    for d in fleet.plan.devices:
        c = fleet.plan.certs[d.cert]
        record = {"thingName": d.thing_name, "attributes": thing_attributes(fleet.run_id, scenario=d.scenario),
                  "certificatePem": pki.device_certs[d.cert].pem, "certificateStatus": c.status,
                  "caCertificateId": fleet.ca_certificate_ids[c.issuer], "policyNames": [fleet.policies[d.policy]]}
        if c.registered_days_ago:
            record["registeredAt"] = now - c.registered_days_ago * 86400
        out.append(record)
    return out


def register_devices(fleet: Fleet, pki: FleetPKI) -> bool:
    """Create things, certificates and attachments: the sandbox's bulk registration, or one device at a time.
    Return True when the old certificates carry their planned registration dates (the sandbox), False when they are
    registered now (AWS dates a certificate when it is registered).

    AWS operations: [AttachPolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_AttachPolicy.html),
    [AttachThingPrincipal](https://docs.aws.amazon.com/iot/latest/apireference/API_AttachThingPrincipal.html),
    [CreateThing](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html),
    [ListCertificates](https://docs.aws.amazon.com/iot/latest/apireference/API_ListCertificates.html),
    [RegisterCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCertificate.html).
    """
    dated = is_sandbox()
    records = _device_records(fleet, pki, target_now() if dated else 0.0)
    state.add_resources(fleet.run_id, "things", [r["thingName"] for r in records])
    if dated:
        for chunk in chunks(records, BULK_CHUNK):
            target.sandbox_control("POST", "/_sandbox/iot/bulk-register", {"devices": chunk})
        fleet.certificate_ids = _resolve_certificate_ids({k: c.pem for k, c in pki.device_certs.items()})
    else:
        if any(c.registered_days_ago for c in fleet.plan.certs.values()):
            fleet.notes.append("AWS dates a certificate when it is registered, so the fleet's 'old' certificates are "
                               "new in your account and DEVICE_CERTIFICATE_AGE_CHECK is not expected to flag them.")
        cert_of = {d.thing_name: d.cert for d in fleet.plan.devices}
        ca_pems = {fleet.ca_certificate_ids["root"]: pki.root.pem,
                   fleet.ca_certificate_ids["intermediate"]: pki.intermediate.pem}
        registered: dict[str, tuple[str, str]] = {}  # certificate key -> (id, ARN)
        for r in records:
            key = cert_of[r["thingName"]]
            if key not in registered:
                registered[key] = _register_one_certificate(r["certificatePem"], ca_pems[r["caCertificateId"]],
                                                            r["certificateStatus"])
                state.add_resources(fleet.run_id, "certificates", [registered[key][0]])
            _register_one_device(r, registered[key][1])
        fleet.certificate_ids = {k: v[0] for k, v in registered.items()}
    state.add_resources(fleet.run_id, "certificates", sorted(set(fleet.certificate_ids.values())))
    return dated


def _register_one_certificate(pem: str, ca_pem: str, status: str) -> tuple[str, str]:
    """Return (id, ARN) of one device certificate registered with its CA (AWS path)."""
    resp = target.client("iot").register_certificate(certificatePem=pem, caCertificatePem=ca_pem, status=status)
    return resp["certificateId"], resp["certificateArn"]


def _register_one_device(record: dict[str, Any], certificate_arn: str) -> None:
    """Create one thing and attach its certificate and policy (AWS path)."""
    iot = target.client("iot")
    iot.create_thing(thingName=record["thingName"], attributePayload={"attributes": record["attributes"]})
    iot.attach_thing_principal(thingName=record["thingName"], principal=certificate_arn)
    for policy in record["policyNames"]:
        iot.attach_policy(policyName=policy, target=certificate_arn)


def _resolve_certificate_ids(pems: dict[str, str]) -> dict[str, str]:
    """Return the id the target gave each certificate (AWS hashes the DER, moto the PEM text), read back from
    ListCertificates."""
    listed: set[str] = set()
    for page in target.client("iot").get_paginator("list_certificates").paginate(PaginationConfig={"PageSize": 250}):
        listed.update(c["certificateId"] for c in page["certificates"])
    out = {}
    for key, pem in pems.items():
        found = [cid for cid in certs.certificate_id_candidates(pem) if cid in listed]
        if not found:
            raise WorkshopError(f"Certificate {key} was registered but ListCertificates does not show it.",
                                "Run build_fleet again; if it persists, report it with the sandbox log.")
        out[key] = found[0]
    return out


def publish_crl(fleet: Fleet, pki: FleetPKI) -> bool:
    """Publish the root CA's CRL in the sandbox (True); in aws mode save it for a distribution point (False)."""
    crl = pki.crl(fleet.plan)
    if is_sandbox():
        target.sandbox_control("POST", "/_sandbox/iot/crls", {"crl": crl})
        return True
    certs.write_text(state.keys_dir(fleet.run_id) / "root-ca.crl.pem", crl)
    fleet.notes.append("AWS reads revocations from the CA's published CRL; the workshop cannot host one, so the "
                       "revoked certificates are not expected to be flagged in your account (the CRL is saved under "
                       ".workshop/keys/).")
    return False


def create_identities(fleet: Fleet) -> dict[str, Any]:
    """Create the role aliases and Cognito pools; record usage in the sandbox. Return what the expectations need.

    AWS operations: [CreateRoleAlias](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateRoleAlias.html),
    [CreateIdentityPool](https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_CreateIdentityPool.html),
    [SetIdentityPoolRoles](https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_SetIdentityPoolRoles.html),
    and those of the helpers it uses.
    """
    run_id, iot = fleet.run_id, target.client("iot")
    aliases: dict[str, tuple[str, set[str]]] = {}
    for alias, (policy, used) in alias_roles(run_id).items():
        role = create_role(alias.replace("fleet-", "fleet-role-"), "credentials.iot.amazonaws.com", run_id,
                            inline=policy)
        arn = after_role_propagation(lambda: iot.create_role_alias(
            roleAlias=alias, roleArn=role, credentialDurationSeconds=3600, tags=iot_tags(run_id)))["roleAliasArn"]
        state.add_resources(run_id, "role_aliases", [alias])
        recorded = set()
        if is_sandbox() and used:
            target.sandbox_control("POST", "/_sandbox/iot/role-alias-usage",
                                   {"roleAliasArn": arn, "services": sorted(used)})
            recorded = used
        aliases[alias] = (arn, recorded)
    pools: dict[str, tuple[str, bool]] = {}
    cognito = target.client("cognito-identity")
    for pool_name, roles in cognito_roles(run_id).items():
        pool_id = cognito.create_identity_pool(IdentityPoolName=pool_name, AllowUnauthenticatedIdentities=True,
                                               IdentityPoolTags={TAG_KEY: TAG_VALUE, RUN_TAG: run_id})["IdentityPoolId"]
        state.add_resources(run_id, "identity_pools", [pool_id])
        arns = {kind: create_role(f"{pool_name}-{kind[:5]}".replace("_", "-"), "cognito-identity.amazonaws.com",
                                   run_id, inline=doc) for kind, doc in roles.items() if doc is not None}
        after_role_propagation(lambda: cognito.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=arns))
        active = is_sandbox()
        if active:
            target.sandbox_control("POST", "/_sandbox/cognito/pool-activity", {"identityPoolId": pool_id})
        pools[pool_name] = (pool_id, active)
    if not is_sandbox():
        fleet.notes.append("Role-alias usage and Cognito connections come from real use in AWS; the new aliases have "
                           "none, so every service they grant counts as unused and the pools are not audited.")
    return {"aliases": aliases, "pools": pools}


def connect_fleet(fleet: Fleet, pki: FleetPKI) -> bool:
    """Record the fleet's connection history (sandbox) or run the problem devices over MQTT (aws); return True.

    AWS operation: [DescribeEndpoint](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeEndpoint.html).
    """
    if is_sandbox():
        events = fleet_sessions(fleet, target_now())
        for chunk in chunks(events, BULK_CHUNK * 2):
            target.sandbox_control("POST", "/_sandbox/iot/connections", {"events": chunk})
        return True
    _run_fleet_mqtt(fleet, pki)
    fleet.notes.append("Shared-certificate and conflicting-client-id findings appear in audits started 2 hours or "
                       "more after these connections.")
    return True


def _run_fleet_mqtt(fleet: Fleet, pki: FleetPKI) -> None:
    """Connect the shared-certificate groups and the conflicting pairs to AWS IoT over MQTT (keys written 0600)."""
    folder = state.keys_dir(fleet.run_id)
    by_thing = {d.thing_name: d for d in fleet.plan.devices}
    broker = devices.data_broker()

    def identity(thing: str, client_id: str | None = None) -> devices.DeviceIdentity:
        d = by_thing[thing]
        issued = pki.device_certs[d.cert]
        key_file = folder / f"{d.cert}.private.key"
        if not key_file.exists():
            certs.write_private_key(key_file, issued.key)  # type: ignore[arg-type]
            certs.write_text(folder / f"{d.cert}.cert.pem", issued.pem)
        return devices.DeviceIdentity(client_id or d.client_id, key_file.with_name(f"{d.cert}.cert.pem"), key_file,
                                      thing)

    for group in fleet.plan.shared_groups:
        if fleet.plan.certs[by_thing[group[0]].cert].status == "ACTIVE":
            devices.run_devices([identity(t) for t in group], broker.host, lambda i: f"fleet/{i.thing_name}/telemetry",
                                port=broker.port, ca_file=broker.ca_file, hold_seconds=3)
    for victim, rogue in fleet.plan.conflicts:
        devices.run_devices([identity(victim), identity(rogue, by_thing[victim].client_id)], broker.host,
                            lambda i: f"fleet/{i.thing_name}/telemetry", port=broker.port, ca_file=broker.ca_file,
                            hold_seconds=3)

