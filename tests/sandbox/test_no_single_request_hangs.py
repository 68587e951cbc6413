"""No single request takes the sandbox down (issue 18): the wildcard-heavy policy that used to pin a core and hang
the server is audited promptly, /_sandbox/health answers within 100 ms while an audit runs, and a check that runs
past its budget is reported FAILED while the other checks complete."""
from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError

from helpers.sandbox import audit_tasks
from helpers.sandbox.checks import CheckResult
from helpers.sandbox.models import DeviceDefenderBackend
from helpers.sandbox.snapshot import Snapshot
from helpers.spec.policies import action_matches, resource_matches
from tests.builders import configure_audit, wait_audit

POLICY_CHECKS = ["IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK"]
HOSTILE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iot:" + "*a" * 40 + "!",
     "Resource": ["arn:aws:iot:*:*:topic/" + "*a" * 40 + "!", "arn:aws:iot:*:*:topicfilter/" + "?*" * 60 + "x"]},
    {"Effect": "Deny", "Action": "iot:Subscribe", "Resource": "arn:aws:iot:*:*:topicfilter/" + "*+" * 50 + "#"}]}


def control(endpoint: str, path: str, body: dict | None = None) -> dict:
    """POST (with ``body``) or GET a /_sandbox/ control and return its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}{path}", data=data), timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("pattern, text, expected", [
    ("iot:" + "*a" * 40 + "!", "iot:" + "a" * 4000, False),
    ("iot:" + "*a" * 40 + "!", "iot:" + "a" * 4000 + "!", True),
    ("*a" * 200 + "b", "a" * 20000, False),
    ("?*" * 60 + "x", "y" * 20000, False),
    ("?*" * 60 + "x", "y" * 20000 + "x", True),
    ("a*" * 300, "a" * 300 + "b" * 10000, True),
])
def test_adversarial_wildcards_are_matched_in_bounded_time(pattern: str, text: str, expected: bool) -> None:
    start = time.perf_counter()
    assert resource_matches(pattern, text) is expected
    assert action_matches(pattern, text.upper()) is expected  # actions ignore case
    # a backtracking matcher takes minutes to years on these; the bound is generous for a loaded 2-core machine
    assert time.perf_counter() - start < 2.0


def test_the_hostile_policy_is_audited_while_health_answers_within_100_ms(sandbox) -> None:
    iam = sandbox.client("iam")
    sandbox.iot.create_policy(policyName="Hostile", policyDocument=json.dumps(HOSTILE))
    configure_audit(sandbox.iot, iam, POLICY_CHECKS)
    latencies: list[float] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            start = time.perf_counter()
            control(sandbox.endpoint, "/_sandbox/health")
            latencies.append(time.perf_counter() - start)
            time.sleep(0.01)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        task = sandbox.iot.start_on_demand_audit_task(targetCheckNames=POLICY_CHECKS)["taskId"]
        result = wait_audit(sandbox.iot, task, timeout=30)
    finally:
        done.set()
        prober.join(5)
    assert result["taskStatus"] == "COMPLETED"
    statuses = {name: d["checkRunStatus"] for name, d in result["auditDetails"].items()}
    assert set(statuses.values()) <= {"COMPLETED_COMPLIANT", "COMPLETED_NON_COMPLIANT"}, statuses
    assert latencies, "health was never probed"
    assert max(latencies) < 0.1, f"slowest health answer {max(latencies) * 1000:.0f} ms"


def test_a_check_over_its_budget_fails_alone(sandbox, monkeypatch) -> None:
    release = threading.Event()

    def stuck(snap: Snapshot) -> CheckResult:
        release.wait(30)
        return CheckResult(findings=[], total_resources=0)

    real = audit_tasks.get_check
    monkeypatch.setattr(audit_tasks, "get_check",
                        lambda name: stuck if name == "IOT_POLICY_OVERLY_PERMISSIVE_CHECK" else real(name))
    configure_audit(sandbox.iot, sandbox.client("iam"), [*POLICY_CHECKS, "LOGGING_DISABLED_CHECK"])
    assert control(sandbox.endpoint, "/_sandbox/config", {"checkBudgetSeconds": 0.2})["checkBudgetSeconds"] == 0.2
    try:
        task = sandbox.iot.start_on_demand_audit_task(targetCheckNames=[*POLICY_CHECKS, "LOGGING_DISABLED_CHECK"])
        result = wait_audit(sandbox.iot, task["taskId"], timeout=20)
        assert control(sandbox.endpoint, "/_sandbox/health")["sandbox"] == "iot-device-defender"
    finally:
        release.set()
    details = result["auditDetails"]
    assert details["IOT_POLICY_OVERLY_PERMISSIVE_CHECK"]["checkRunStatus"] == "FAILED"
    assert "budget" in details["IOT_POLICY_OVERLY_PERMISSIVE_CHECK"]["message"]
    assert details["LOGGING_DISABLED_CHECK"]["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"
    assert result["taskStatus"] == "COMPLETED"


def test_the_budget_control_refuses_nonsense(sandbox) -> None:
    for bad in (0, -1, 601, "5", True, None):
        req = urllib.request.Request(f"{sandbox.endpoint}/_sandbox/config",
                                     data=json.dumps({"checkBudgetSeconds": bad}).encode())
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 400


def test_an_operation_that_fails_part_way_changes_nothing(sandbox, monkeypatch) -> None:
    """CreateScheduledAudit stores the audit, then tags it: a surprise failure in between is rolled back."""
    configure_audit(sandbox.iot, sandbox.client("iam"), ["LOGGING_DISABLED_CHECK"])

    def broken_tag(self, arn, tags):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(DeviceDefenderBackend, "tag", broken_tag)
    with pytest.raises(ClientError) as e:
        sandbox.iot.create_scheduled_audit(scheduledAuditName="Weekly", frequency="DAILY",
                                           targetCheckNames=["LOGGING_DISABLED_CHECK"],
                                           tags=[{"Key": "team", "Value": "sec"}])
    assert e.value.response["Error"]["Code"] == "InternalFailureException"
    assert sandbox.iot.list_scheduled_audits()["scheduledAudits"] == []
    monkeypatch.undo()
    sandbox.iot.create_scheduled_audit(scheduledAuditName="Weekly", frequency="DAILY",
                                       targetCheckNames=["LOGGING_DISABLED_CHECK"])
    assert [a["scheduledAuditName"] for a in sandbox.iot.list_scheduled_audits()["scheduledAudits"]] == ["Weekly"]
