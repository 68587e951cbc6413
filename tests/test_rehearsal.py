"""make rehearse as part of make test: the aws path of the CLI course and every notebook against a stack playing a
real account (random account, eu-west-1, the attendee IAM policy enforced), after the event's set-up. It fails on
any stage that fails and on any AccessDenied, naming the action and the resource."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_real_account_path_passes_with_only_the_attendee_policy():
    run = subprocess.run([sys.executable, "tools/rehearse.py", "--audit-seconds", "10"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900, check=False)
    report = json.loads((ROOT / "test-artifacts" / "rehearsal.json").read_text())
    refused = [d for stage in report["stages"] for d in stage["denied"]]
    assert not refused, f"AccessDenied in the rehearsal: {refused}"
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert report["account"] != "123456789012" and report["region"] == "eu-west-1"
    assert [s["name"] for s in report["stages"]][:2] == [
        "event set-up (administrator): iot-audit setup --yes, 2 hours later an audit", "iot-audit workshop --yes"]
