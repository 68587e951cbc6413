"""Every notebook, in workshop order, against a sandbox that throttles one call in five: all complete (botocore's
retries plus the helpers' own waiting). Their executed outputs are then scanned for private keys, credentials and
account ids, and the operations they made are kept for the attendee IAM policy's coverage test.

This is a second, separate run from nbval's: its own sandbox process, its own state folder, seeded faults; it runs in
the background from collection on (see tests/notebook_fault_run.py).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest

from helpers import permissions
from tests.notebook_fault_run import ARTIFACTS, ROOT, RUN

SANDBOX_ACCOUNT = "123456789012"

# What must never reach a notebook's output.
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
ACCESS_KEY = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
SECRET = re.compile(r"aws_secret_access_key|SecretAccessKey|SessionToken", re.IGNORECASE)
ACCOUNT_ID = re.compile(r"(?<![0-9A-Za-z])\d{12}(?![0-9A-Za-z])")


@pytest.fixture(scope="module")
def throttled_run() -> dict[str, Any]:
    """Return the executed notebooks, errors, faults and operations of the background run under throttling."""
    return RUN.result()


def _outputs(nb: nbformat.NotebookNode) -> Iterator[tuple[int, str]]:
    """Yield (cell index, text) of every output of every code cell: streams, results, errors, HTML."""
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            parts = [out.get("text", ""), out.get("evalue", ""), "\n".join(out.get("traceback", []))]
            for mime, value in (out.get("data") or {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    parts.append(value if isinstance(value, str) else json.dumps(value))
            yield i, "\n".join(p for p in parts if p)


def test_every_notebook_completes_under_20_percent_throttling(throttled_run):
    """All notebooks run to the end, in order, although about one call in five was throttled."""
    assert not throttled_run["errors"], "\n\n".join(f"{k}:\n{v}" for k, v in throttled_run["errors"].items())
    injected = throttled_run["faults"]["injected"]
    assert injected["requests"] > 100
    assert 0.1 < injected["throttled"] / injected["requests"] < 0.3, injected


def test_outputs_hold_no_private_keys_or_credentials(throttled_run):
    """No executed output shows private key material, an access key id, or a secret."""
    leaks = [(name, i, pattern.pattern) for name, nb in throttled_run["notebooks"].items() for i, text in _outputs(nb)
             for pattern in (PRIVATE_KEY, ACCESS_KEY, SECRET) if pattern.search(text)]
    assert not leaks, leaks


def test_outputs_hold_no_account_id_but_the_sandboxs(throttled_run):
    """The only 12-digit account id in any output is the sandbox's."""
    found = {(name, i, m) for name, nb in throttled_run["notebooks"].items() for i, text in _outputs(nb)
             for m in ACCOUNT_ID.findall(text) if m != SANDBOX_ACCOUNT}
    assert not found, sorted(found)


def test_the_scan_would_catch_a_leak():
    """The patterns do match what they guard against (so the scans above can fail)."""
    from helpers import certs

    assert PRIVATE_KEY.search(certs.private_key_pem(certs.new_key()).decode())
    assert ACCESS_KEY.search("key AKIAIOSFODNN7EXAMPLE here")
    assert ACCOUNT_ID.findall("arn:aws:iam::111122223333:role/x") == ["111122223333"]
    assert not ACCOUNT_ID.findall("cert 3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1 ms 1764259200000")


def test_operations_were_recorded(throttled_run):
    """The sandbox identified every call the notebooks made (no unidentified requests), and kept them for the policy
    coverage test."""
    ops = throttled_run["operations"]
    (ARTIFACTS / "notebook-operations.json").write_text(json.dumps(ops, indent=1))
    assert [o for o in ops if o["operation"] == "?"] == []
    names = {(o["service"], o["operation"]) for o in ops}
    assert {("iot", "StartOnDemandAuditTask"), ("iot", "StartAuditMitigationActionsTask"),
            ("iot", "UpdateAccountAuditConfiguration")} <= names


def test_the_attendee_policy_covers_what_the_notebooks_called(throttled_run):
    """iam/attendee-policy.json allows every operation this run made, and iam/notebook-operations.json (what the
    README documents) still lists them all."""
    policy = json.loads((ROOT / "iam" / "attendee-policy.json").read_text())
    recorded = {(o["service"], o["operation"]) for o in throttled_run["operations"]}
    assert permissions.missing_actions(policy, recorded) == []
    committed = {(o["service"], o["operation"])
                 for o in json.loads((ROOT / "iam" / "notebook-operations.json").read_text())}
    assert recorded <= committed, sorted(recorded - committed)
