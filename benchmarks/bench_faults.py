"""Measure what throttling costs the Module 2 flow: the helpers build the Module 1 environment, audit, read the
findings, deactivate the shared certificate and verify it, against a sandbox throttling 0%, 10% and 20% of calls
(seeded). The extra time is botocore's standard-mode back-off.

Run: .venv/bin/python benchmarks/bench_faults.py [--rates 0 0.1 0.2]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import audits, findings, fleet, mitigation, settings, target  # noqa: E402
from helpers.sandbox import SandboxServer  # noqa: E402


def control(endpoint: str, method: str, path: str, body: dict | None = None) -> dict:
    """Return the JSON answer of a sandbox control."""
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}{path}", data=data, method=method)) as r:
        return json.loads(r.read())


def flow() -> None:
    """Run the module's steps with the helpers, as notebooks 01–04 do."""
    env = fleet.build_workshop_environment()
    audit = audits.run_on_demand_audit(settings.enabled_checks(), poll_interval=0.2, progress=None)
    table = findings.list_findings(audit["taskId"])
    shared = table[table["check"] == "DEVICE_CERTIFICATE_SHARED_CHECK"]
    mitigation.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    task = mitigation.start_mitigation_task({"DEVICE_CERTIFICATE_SHARED_CHECK": ["Update-device-certificate"]},
                                            finding_ids=list(shared["finding id"]))
    mitigation.wait_for_mitigation_task(task, poll_interval=0.2, progress=None)
    assert mitigation.certificate_status(env.certificate_id) == "INACTIVE"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.1, 0.2])
    rates = parser.parse_args().rates
    server = SandboxServer(port=0).start()
    os.environ.update(WORKSHOP_TARGET="sandbox", AWS_ENDPOINT_URL=server.endpoint, AWS_DEFAULT_REGION="us-east-1")
    print("| throttled | calls answered | throttled calls | seconds |\n|---|---|---|---|")
    for rate in rates:
        with tempfile.TemporaryDirectory() as state_dir:
            os.environ["WORKSHOP_STATE_DIR"] = state_dir
            control(server.endpoint, "POST", "/moto-api/reset")
            control(server.endpoint, "DELETE", "/_sandbox/operations")
            control(server.endpoint, "POST", "/_sandbox/faults", {"throttleRate": rate, "seed": 1})
            target.clear_client_cache()
            start = time.perf_counter()
            flow()
            seconds = time.perf_counter() - start
            injected = control(server.endpoint, "GET", "/_sandbox/faults")["injected"]
            answered = sum(o["count"] for o in control(server.endpoint, "GET", "/_sandbox/operations")["operations"])
            print(f"| {rate:.0%} | {answered} | {injected['throttled']} | {seconds:.1f} |", flush=True)
    control(server.endpoint, "DELETE", "/_sandbox/faults")
    server.stop()


if __name__ == "__main__":
    main()
