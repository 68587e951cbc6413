"""helpers.audit_choice: which audit §1.2 reads under AWS's 2-hour connection lag (the new one, an earlier one that
already shows the shared certificate, or the new one with when the finding will appear)."""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from helpers import audit_choice, audits, state, target
from helpers.sandbox import forget_connections, record_connections
from tests.builders import shared_sessions
from tests.test_audits import FAST, build_module1

MODULE_CHECKS = ["DEVICE_CERTIFICATE_SHARED_CHECK", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "LOGGING_DISABLED_CHECK"]


def run_audit() -> str:
    return audits.run_on_demand_audit(MODULE_CHECKS, **FAST)["taskId"]


def environment(built, run_id: str = "m-test") -> SimpleNamespace:
    return SimpleNamespace(certificate_id=built.shared, run_id=run_id)


def test_the_new_audit_is_read_when_it_shows_the_shared_certificate(sandbox):
    built = build_module1(sandbox, checks=MODULE_CHECKS)  # connections 3 hours ago: past the lag
    task_id = run_audit()
    choice = audit_choice.choose_audit(environment(built), task_id)
    assert (choice.task_id, choice.source, choice.shows_shared_certificate) == (task_id, "new", True)
    assert choice.expected == set(MODULE_CHECKS)


def test_an_earlier_audit_that_shows_it_is_used_when_the_new_one_does_not(sandbox):
    built = build_module1(sandbox, checks=MODULE_CHECKS)
    earlier = run_audit()
    forget_connections([built.shared])  # as if the new audit came before the connections reached it
    task_id = run_audit()
    choice = audit_choice.choose_audit(environment(built), task_id)
    assert (choice.task_id, choice.source) == (earlier, "earlier")
    assert task_id in choice.message and "2 hours" in choice.message


def test_without_any_it_says_when_the_finding_appears_and_expects_what_the_account_shows_now(sandbox, monkeypatch):
    built = build_module1(sandbox, checks=MODULE_CHECKS)
    forget_connections([built.shared])
    record_connections(shared_sessions(built.shared, clients=("Thing01", "Thing02"), hours_ago=0.1))
    connected = time.time() - 360
    monkeypatch.setattr(state, "get_run", lambda run_id: {"devices_connected_at": connected})
    task_id = run_audit()
    choice = audit_choice.choose_audit(environment(built), task_id)
    assert (choice.task_id, choice.source, choice.shows_shared_certificate) == (task_id, "waiting", False)
    assert choice.expected == {"IOT_POLICY_OVERLY_PERMISSIVE_CHECK", "LOGGING_DISABLED_CHECK"}
    assert choice.shared_finding_from.timestamp() == pytest.approx(connected + 2 * 3600 + audit_choice.MARGIN.total_seconds())
    assert f"{choice.shared_finding_from:%H:%M} UTC" in choice.message


def test_devices_never_connected_from_here_are_named(sandbox, monkeypatch):
    built = build_module1(sandbox, checks=MODULE_CHECKS)
    forget_connections([built.shared])
    monkeypatch.setattr(state, "get_run", lambda run_id: None)
    choice = audit_choice.choose_audit(environment(built), run_audit())
    assert choice.shared_finding_from is None and "fleet.connect_devices(env)" in choice.message
    assert target.is_sandbox()  # the same code in every target
