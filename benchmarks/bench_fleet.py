"""Measure helpers.fleet.build_fleet in the sandbox: how long seeding a fleet takes, by phase, and (optionally) the
audit of it and its clean-up (dry run, then deletion).

Run: .venv/bin/python benchmarks/bench_fleet.py [--devices 1000 10000] [--seed 0] [--audit] [--cleanup]
Prints one row per fleet size. The target is 10,000 devices seeded in <= 15 s. A measurement, not a test: nothing
here asserts.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.spec.checks import CHECK_NAMES  # noqa: E402


def _reset(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"", method="POST")).close()


def _audit(n: int) -> tuple[float, int]:
    """Run an audit of every check over the fleet; return (seconds, mismatching checks)."""
    import json

    from helpers import target

    iot, iam = target.client("iot"), target.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=f"BenchAudit{n}", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName=f"BenchAudit{n}",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderAudit")
    iot.update_account_audit_configuration(roleArn=role,
                                           auditCheckConfigurations={c: {"enabled": True} for c in CHECK_NAMES})
    t = time.perf_counter()
    task = iot.start_on_demand_audit_task(targetCheckNames=list(CHECK_NAMES))["taskId"]
    while iot.describe_audit_task(taskId=task)["taskStatus"] == "IN_PROGRESS":
        time.sleep(0.05)
    return time.perf_counter() - t, task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--audit", action="store_true", help="also audit every check and compare with the truth")
    parser.add_argument("--findings-table", action="store_true",
                        help="also time helpers.findings.list_findings (the findings DataFrame) for the audit")
    parser.add_argument("--cleanup", action="store_true",
                        help="also time cleanup(dry_run=False) (slow: about 5 API calls per device)")
    args = parser.parse_args()
    os.environ.update({"WORKSHOP_TARGET": "sandbox", "AWS_DEFAULT_REGION": "us-east-1",
                       "WORKSHOP_STATE_DIR": tempfile.mkdtemp(prefix="bench-fleet-")})
    from helpers.sandbox import SandboxServer

    server = SandboxServer("127.0.0.1", 0).start()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint
    from helpers import fleet, target

    print(f"# python {platform.python_version()}, {os.cpu_count()} cores, in-process sandbox at {server.endpoint}")
    print(f"{'devices':>8} {'certs':>7} {'keys+certs s':>12} {'cas+policies s':>14} {'register s':>10} "
          f"{'history s':>9} {'total s':>8}" + (f" {'audit s':>8} {'match':>6}" if args.audit else "")
          + (f" {'findings':>8} {'table s':>8}" if args.findings_table and args.audit else "")
          + (f" {'cleanup s':>9} {'ms/device':>9}" if args.cleanup else ""))
    rows: list[dict[str, float]] = []
    try:
        for n in args.devices:
            _reset(server.endpoint)
            target.clear_client_cache()
            built = fleet.build_fleet(n, args.seed)
            t = built.timings
            row = (f"{n:>8} {len(built.plan.certs):>7} {t['certificates']:>12.2f} {t['cas_and_policies']:>14.2f} "
                   f"{t['devices']:>10.2f} {t['history']:>9.2f} {t['total']:>8.2f}")
            if args.audit:
                seconds, task = _audit(n)
                mismatches = fleet.compare_findings(built.expected_findings, task)
                row += f" {seconds:>8.2f} {'yes' if not mismatches else 'NO':>6}"
                measured = {"devices": n, "seed": t["total"], "audit": seconds}
                if args.findings_table:
                    from helpers import findings

                    f0 = time.perf_counter()
                    frame = findings.list_findings(task)
                    measured["table"] = time.perf_counter() - f0
                    row += f" {len(frame):>8} {measured['table']:>8.2f}"
                rows.append(measured)
            if args.cleanup:
                c = time.perf_counter()
                fleet.cleanup(dry_run=False)
                seconds = time.perf_counter() - c
                row += f" {seconds:>9.2f} {seconds / n * 1000:>9.1f}"
            print(row, flush=True)
    finally:
        server.stop()
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        ratio = large["devices"] / small["devices"]
        growth = ", ".join(f"{k} {large[k] / max(small[k], 1e-9):.1f}x" for k in ("seed", "audit", "table") if k in large)
        print(f"# growth {large['devices']}/{small['devices']} devices = {ratio:.0f}x: {growth} (linear = {ratio:.0f}x)")
    print(f"# peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
