"""Measure the audit check functions alone on 10,000 resources (no HTTP, no moto): certificates and policies.

Run: .venv/bin/python benchmarks/bench_checks.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.sandbox.checks import get_check  # noqa: E402
from helpers.sandbox.snapshot import CertificateInfo  # noqa: E402
from tests.sandbox import test_checks_certificates as tc  # noqa: E402
from tests.sandbox import test_checks_policies as tp  # noqa: E402


def certificates(n: int = 10_000) -> float:
    """Return the seconds the 8 certificate checks take over ``n`` fresh device certificates (PEM parsing included)."""
    from cryptography.hazmat.primitives import serialization

    pems = []
    for i in range(n):
        issued = tc.issue(f"dev-{i}", tc.INTERMEDIATE if i % 2 else tc.ROOT, serial=10_000 + i,
                          not_after=tc.NOW + (i % 400) * tc.DAY)
        pems.append((issued.cert.public_bytes(serialization.Encoding.PEM).decode(), tc.certificate_id(issued.cert)))
    root, intermediate = tc.ca_cert(tc.ROOT), tc.ca_cert(tc.INTERMEDIATE)
    devices = [CertificateInfo(cid, f"arn:aws:iot:us-east-1:123456789012:cert/{cid}", "ACTIVE", pem, tc.NOW)
               for pem, cid in pems]
    snap = tc.snapshot(devices, [root, intermediate], [tc.crl(root, tc.INTERMEDIATE.cert.serial_number)])
    start = time.perf_counter()
    for check in tc.CERTIFICATE_CHECKS:
        get_check(check)(snap)
    return time.perf_counter() - start


def policies(n: int = 10_000) -> float:
    """Return the seconds both policy checks take over ``n`` policies (10 distinct documents)."""
    variants = [tp.doc(tp.allow("iot:*", "*", Sid=f"bench-{i}")) for i in range(10)]
    snap = tp.snapshot(*(variants[i % 10] for i in range(n)))
    start = time.perf_counter()
    tp.iot_policy_overly_permissive(snap)
    tp.iot_policy_potential_misconfiguration(snap)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"8 certificate checks over 10,000 device certificates: {certificates():.2f} s")
    print(f"2 policy checks over 10,000 policies: {policies():.2f} s")
