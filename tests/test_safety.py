"""In aws mode every destructive helper refuses without ``confirm=True``, says what would change, and has made no
change when it refuses: the sandbox's operation log shows only reads."""
from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from helpers import audits, fleet, mitigation, safety, settings, target
from helpers.errors import WorkshopError

SHARED = "DEVICE_CERTIFICATE_SHARED_CHECK"
POLICY = "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"
MUTATING = re.compile(r"^(Create|Update|Delete|Start|Attach|Detach|Set|Register|Cancel|Replace|Put|Tag|Untag|Add|"
                      r"Remove|Accept|Reject|Transfer|Publish|Subscribe|Enable|Disable|Clear)")


def operations(endpoint: str, method: str = "GET") -> list[dict[str, Any]]:
    """Return (or with DELETE, clear) the sandbox's operation log."""
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_sandbox/operations", method=method)) as r:
        return json.loads(r.read())["operations"]


@pytest.fixture(scope="module")
def workshop(sandbox_server, tmp_path_factory) -> Iterator[SimpleNamespace]:
    """The Module 1 environment audited, two mitigation actions, a scheduled audit and SNS alerts, made once in
    sandbox mode (the refusals change nothing, so every case can share it), then seen as a real account."""
    with pytest.MonkeyPatch.context() as mp:
        urllib.request.urlopen(urllib.request.Request(f"{sandbox_server.endpoint}/moto-api/reset", data=b"",
                                                      method="POST")).close()
        for name, value in {"WORKSHOP_TARGET": "sandbox", "AWS_ENDPOINT_URL": sandbox_server.endpoint,
                            "AWS_DEFAULT_REGION": "us-east-1",
                            "WORKSHOP_STATE_DIR": str(tmp_path_factory.mktemp("safety") / ".workshop")}.items():
            mp.setenv(name, value)
        target.clear_client_cache()
        w = SimpleNamespace(endpoint=sandbox_server.endpoint, iot=target.client("iot"))
        w.env = fleet.build_workshop_environment()
        w.audit = audits.run_on_demand_audit(settings.enabled_checks(), poll_interval=0.1, progress=None)["taskId"]
        w.findings = {f["checkName"]: f["findingId"] for f in w.iot.list_audit_findings(taskId=w.audit)["findings"]}
        mitigation.create_mitigation_action("Deactivate", "UPDATE_DEVICE_CERTIFICATE")
        mitigation.create_mitigation_action("BlankPolicy", "REPLACE_DEFAULT_POLICY_VERSION")
        audits.create_scheduled_audit("WeeklyCerts", frequency="WEEKLY", day_of_week="MON", check_names=[SHARED])
        w.iot.update_certificate(certificateId=w.env.certificate_id, newStatus="INACTIVE")
        settings.configure_sns_alerts()
        w.other_audit_role = settings.create_audit_role("AnotherAuditRole")
        mp.setattr(target, "is_sandbox", lambda: False)
        mp.setattr(target, "caller_identity", lambda: {"account": target.SANDBOX_ACCOUNT,
                                                       "arn": f"arn:aws:iam::{target.SANDBOX_ACCOUNT}:user/attendee"})
        yield w
    target.clear_client_cache()


@pytest.fixture
def aws_mode(workshop: SimpleNamespace) -> SimpleNamespace:
    """The shared workshop, with the sandbox's operation log cleared."""
    operations(workshop.endpoint, "DELETE")
    return workshop


CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    ("deactivate a certificate", lambda w: mitigation.start_mitigation_task(
        {SHARED: ["Deactivate"]}, finding_ids=[w.findings[SHARED]]), "deactivate certificate"),
    ("replace a default policy version", lambda w: mitigation.start_mitigation_task(
        {POLICY: ["BlankPolicy"]}, finding_ids=[w.findings[POLICY]]), "DevicePolicy"),
    ("delete a mitigation action", lambda w: mitigation.delete_mitigation_action("Deactivate"), "Deactivate"),
    ("delete a scheduled audit", lambda w: audits.delete_scheduled_audit("WeeklyCerts"), "WeeklyCerts"),
    ("change a scheduled audit", lambda w: audits.update_scheduled_audit("WeeklyCerts", day_of_week="FRI"),
     "'MON' → 'FRI'"),
    ("delete the audit configuration", lambda w: settings.delete_audit_configuration(), "audit configuration"),
    ("replace the audit role", lambda w: settings.set_audit_role(w.other_audit_role), "replacing the audit role"),
    ("replace the audit role while configuring", lambda w: settings.configure_audit(role_arn=w.other_audit_role),
     "replacing the audit role"),
    ("replace the SNS alert target", lambda w: settings.configure_sns_alerts(w.env.sns_topic_arn, w.env.sns_role_arn),
     "replacing the SNS alert target"),
    ("reactivate the certificate", lambda w: fleet.reactivate_certificate(w.env), "INACTIVE -> ACTIVE"),
    ("rebuild the environment", lambda w: fleet.build_workshop_environment(rebuild=True), "delete"),
    ("build a fleet", lambda w: fleet.build_fleet(40), "fleet of 40 devices"),
    ("clean up", lambda w: fleet.cleanup(dry_run=False), "Deleting"),
]


@pytest.mark.parametrize("call,shows", [pytest.param(call, shows, id=name) for name, call, shows in CASES])
def test_destructive_helpers_refuse_without_confirmation(aws_mode, call, shows):
    """Refused with the change listed and the fix (confirm=True), and nothing was written before the refusal."""
    with pytest.raises(WorkshopError) as caught:
        call(aws_mode)
    assert shows in caught.value.problem, caught.value.problem
    assert "confirm=True" in caught.value.fix
    writes = [o for o in operations(aws_mode.endpoint) if MUTATING.match(o["operation"])]
    assert writes == [], writes


def test_the_refusals_left_the_certificate_and_actions_alone(aws_mode):
    """After every refusal the certificate, the actions and the scheduled audit are as they were."""
    for _, call, _ in CASES:
        with pytest.raises(WorkshopError):
            call(aws_mode)
    iot = aws_mode.iot
    assert iot.describe_certificate(certificateId=aws_mode.env.certificate_id)["certificateDescription"]["status"] \
        == "INACTIVE"
    assert {a["actionName"] for a in iot.list_mitigation_actions()["actionIdentifiers"]} == {"Deactivate",
                                                                                               "BlankPolicy"}
    assert iot.describe_scheduled_audit(scheduledAuditName="WeeklyCerts")["dayOfWeek"] == "MON"
    assert iot.list_audit_mitigation_actions_tasks(startTime=0, endTime=4_000_000_000)["tasks"] == []


def test_only_a_rehearsal_can_be_confirmed_in_advance(monkeypatch):
    monkeypatch.setenv("WORKSHOP_CONFIRM", "yes")
    monkeypatch.setenv("WORKSHOP_TARGET", "rehearsal")
    assert safety.confirmed_in_advance()
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    assert not safety.confirmed_in_advance()
    monkeypatch.setenv("WORKSHOP_TARGET", "rehearsal")
    monkeypatch.setenv("WORKSHOP_CONFIRM", "no")
    assert not safety.confirmed_in_advance()


def test_a_rehearsal_confirmed_in_advance_passes_the_guard_and_says_so(monkeypatch, capsys):
    monkeypatch.setenv("WORKSHOP_TARGET", "rehearsal")
    monkeypatch.setenv("WORKSHOP_CONFIRM", "yes")
    safety.require_confirmation("Deleting 2 things", ["thing A", "thing B"], confirm=False)
    assert "confirmed in advance" in capsys.readouterr().err
    monkeypatch.setenv("WORKSHOP_CONFIRM", "")
    monkeypatch.setattr(target, "caller_identity", lambda: {"account": "111122223333", "arn": "arn"})
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with pytest.raises(WorkshopError, match="Deleting 2 things"):
        safety.require_confirmation("Deleting 2 things", ["thing A"], confirm=False)
