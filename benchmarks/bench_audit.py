"""Measure the local Device Defender's audit at scale: seeding, a full audit, listing every finding.

Run: .venv/bin/python benchmarks/bench_audit.py [--devices 1000 10000]
Prints one row per fleet size and the 10k/1k growth ratio. A measurement, not a test: nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from helpers.sandbox import SandboxServer  # noqa: E402
from helpers.spec.checks import CHECK_NAMES  # noqa: E402

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _post(endpoint: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def make_pems(n: int) -> list[str]:
    """Return ``n`` distinct EC P-256 device certificates, one key shared (signing cost is what we measure)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    pems = []
    for i in range(n):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"device-{i}")])
        days = 10 if i % 50 == 0 else 365  # 2 % expiring
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(i + 1).not_valid_before(now - timedelta(days=1))
                .not_valid_after(now + timedelta(days=days)).sign(key, hashes.SHA256()))
        pems.append(cert.public_bytes(serialization.Encoding.PEM).decode())
    return pems


def seed(endpoint: str, iot, n: int) -> tuple[float, list[str]]:
    """Seed ``n`` devices with defects; return (seconds, certificate ids that are shared)."""
    t0 = time.perf_counter()
    iot.create_policy(policyName="DevicePolicy", policyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iot:Connect", "Resource": "arn:aws:iot:*:*:client/${iot:Connection.Thing.ThingName}",
         "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}}]}))
    iot.create_policy(policyName="PermissivePolicy", policyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}))
    pems = make_pems(n)
    devices = []
    for i in range(n):
        pem = pems[i - 1] if i % 20 == 1 else pems[i]  # 5 % of devices share the previous device's certificate
        devices.append({"thingName": f"device-{i:05d}", "attributes": {"fleet": "bench"}, "certificatePem": pem,
                        "policyNames": ["PermissivePolicy" if i % 100 == 0 else "DevicePolicy"]})
    for start in range(0, n, 5000):
        _post(endpoint, "/_sandbox/iot/bulk-register?region=us-east-1", {"devices": devices[start:start + 5000]})
    import hashlib

    ids = [hashlib.sha256(p.encode()).hexdigest() for p in pems]  # moto's certificate id
    base = time.time() - 5 * 3600  # all sessions before the on-demand audit's 2-hour lag
    events = []
    for i in range(n):
        shares = i % 20 == 1
        cert = ids[i - 1] if shares else ids[i]
        start = base + ((i - 1 if shares else i) % 600) * 10 + (0.5 if shares else 0)  # overlaps its twin
        events.append({"clientId": f"device-{i:05d}", "certificateId": cert, "connectedAt": start,
                       "disconnectedAt": start + 2, "sourceIp": "192.0.2.10"})
    for start in range(0, n, 10000):
        _post(endpoint, "/_sandbox/iot/connections?region=us-east-1", {"events": events[start:start + 10000]})
    return time.perf_counter() - t0, [ids[i - 1] for i in range(n) if i % 20 == 1]


def measure(n: int) -> dict:
    server = SandboxServer(port=0).start()
    kw = dict(endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id="testing",
              aws_secret_access_key="testing")
    iot, iam = boto3.client("iot", **kw), boto3.client("iam", **kw)
    try:
        seconds_seed, shared = seed(server.endpoint, iot, n)
        role = iam.create_role(RoleName="IoTAuditRole", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.attach_role_policy(RoleName="IoTAuditRole",
                               PolicyArn="arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderAudit")
        iot.update_account_audit_configuration(roleArn=role,
                                               auditCheckConfigurations={c: {"enabled": True} for c in CHECK_NAMES})
        t0 = time.perf_counter()
        task_id = iot.start_on_demand_audit_task(targetCheckNames=list(CHECK_NAMES))["taskId"]
        while (task := iot.describe_audit_task(taskId=task_id))["taskStatus"] == "IN_PROGRESS":
            time.sleep(0.01)
        seconds_audit = time.perf_counter() - t0
        t0 = time.perf_counter()
        findings = [f for page in iot.get_paginator("list_audit_findings").paginate(
            taskId=task_id, PaginationConfig={"PageSize": 250}) for f in page["findings"]]
        seconds_list = time.perf_counter() - t0
        failed = {k: v.get("message", "")[:80] for k, v in task["auditDetails"].items() if v["checkRunStatus"] == "FAILED"}
        return {"devices": n, "seed_s": seconds_seed, "audit_s": seconds_audit, "list_findings_s": seconds_list,
                "findings": len(findings), "shared_expected": len(set(shared)),
                "shared_found": task["auditDetails"]["DEVICE_CERTIFICATE_SHARED_CHECK"].get("nonCompliantResourcesCount"),
                "status": task["taskStatus"], "failed_checks": failed}
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    rows = []
    for n in args.devices:
        from moto.core.base_backend import BackendDict

        BackendDict.reset()
        row = measure(n)
        rows.append(row)
        print(f"{n:>6} devices: seed {row['seed_s']:.2f} s | audit (all {len(CHECK_NAMES)} checks, start->COMPLETED) "
              f"{row['audit_s']:.2f} s | list {row['findings']} findings {row['list_findings_s']:.2f} s | "
              f"shared certs {row['shared_found']}/{row['shared_expected']} | {row['status']}"
              + (f" | FAILED: {row['failed_checks']}" if row["failed_checks"] else ""))
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        scale = b["devices"] / a["devices"]
        print(f"growth {b['devices']}/{a['devices']} = {scale:.0f}x devices: audit {b['audit_s'] / a['audit_s']:.1f}x, "
              f"findings listing {b['list_findings_s'] / max(a['list_findings_s'], 1e-9):.1f}x (linear = {scale:.0f}x)")
    print(f"peak memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
