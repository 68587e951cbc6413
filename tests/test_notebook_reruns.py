"""Instructors re-run notebooks on the same sandbox: every notebook must pass its own "check your work" cells when run
again, after any other. First the causes that once broke re-runs, one test each against the in-process sandbox; then
a re-run sequence of real notebooks against a sandbox process of their own (like tests/notebook_fault_run.py).

The causes: a mitigation task name already used (the helpers' token, derived from the name alone, handed back the
old task); Module 2's mitigations left in place (certificate INACTIVE, blank default policy version, logging on)
where a later notebook needs the Module 1 findings; connection history piling up or outliving its devices
(conflicting-client-id findings from repeated connections or from a deleted fleet).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from helpers import audits, devices, findings, fleet, mitigation, target
from helpers.errors import WorkshopError
from helpers.spec.checks import ORIGINAL_14
from tests.builders import wait_audit
from tests.notebook_runs import ARTIFACTS, execute_notebook, sandbox_process

SHARED = "DEVICE_CERTIFICATE_SHARED_CHECK"
CONFLICTING = "CONFLICTING_CLIENT_IDS_CHECK"


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    return tmp_path / ".workshop"


def audit(iot, checks) -> tuple[str, set[str]]:
    """Return an on-demand audit's task id and its non-compliant checks."""
    task_id = iot.start_on_demand_audit_task(targetCheckNames=list(checks))["taskId"]
    result = wait_audit(iot, task_id, timeout=60)
    assert result["taskStatus"] == "COMPLETED", result
    return task_id, {c for c, d in result["auditDetails"].items() if d["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"}


def events() -> list[dict]:
    return target.sandbox_control("GET", "/_sandbox/iot/connections")["events"]


# -- the causes ---------------------------------------------------------------------------------------------------
def spans(client_id: str) -> list[tuple[float, float]]:
    """Return the (connected, disconnected) times of a client id's recorded sessions, oldest first."""
    return sorted((e["connectedAt"], e["disconnectedAt"]) for e in events() if e["clientId"] == client_id)


def test_connecting_again_never_overlaps_sessions_of_the_same_client_ids(sandbox, state_dir):
    env = fleet.build_workshop_environment()
    first = events()
    assert sorted(e["clientId"] for e in first) == sorted(fleet.MODULE1_THINGS * 3)  # 3 real rounds
    assert fleet.devices_seen_by_audit(env)
    fleet.build_workshop_environment()  # an audit already sees them: no new sessions, no clock move
    assert len(events()) == len(first)
    again = fleet.connect_devices(env, progress=None)  # asked for explicitly (as 02 does): 3 more rounds
    assert len(again.sessions) == 6 and len(events()) == 12 and again.clock_advanced_seconds > 2 * 3600
    for client in fleet.MODULE1_THINGS:
        times = spans(client)
        assert all(a[1] < b[0] for a, b in zip(times, times[1:])), f"{client}: sessions overlap {times}"
    assert audit(sandbox.iot, ORIGINAL_14)[1] == set(fleet.MODULE1_NON_COMPLIANT)
    rebuilt = fleet.build_workshop_environment(rebuild=True)  # a new certificate: the deleted one's history goes
    assert {e["certificateId"] for e in events()} == {rebuilt.certificate_id}
    assert audit(sandbox.iot, ORIGINAL_14)[1] == set(fleet.MODULE1_NON_COMPLIANT)


def test_a_device_still_connected_is_named_not_knocked_off(sandbox, state_dir, monkeypatch):
    env = fleet.build_workshop_environment()
    waited = devices.wait_until_offline
    monkeypatch.setattr(devices, "wait_until_offline", lambda ids: waited(ids, timeout=0.5))
    held = devices.hold_connection(devices.DeviceIdentity("SensorDevice01", Path(env.cert_file), Path(env.key_file)),
                                   devices.data_broker())
    try:
        with pytest.raises(WorkshopError) as e:
            fleet.connect_devices(env, progress=None)
        assert "SensorDevice01 is connected" in e.value.problem and "CONFLICTING_CLIENT_IDS" in e.value.problem
        assert held.connected, "the held device was knocked off"
    finally:
        held.close()
    assert len(fleet.connect_devices(env, progress=None).sessions) == 6  # once it is gone
    assert CONFLICTING not in audit(sandbox.iot, ORIGINAL_14)[1]


def test_a_scheduled_audit_sees_the_devices_that_connected_since_its_previous_run(sandbox, state_dir):
    """02 runs WeeklyAudit now after the devices connect: three checks every time; without a connection in between,
    the shared certificate is outside its window (from 2 hours before its previous run) and two remain."""
    env = fleet.build_workshop_environment(connect=False)
    audits.create_scheduled_audit("WeeklyAudit", frequency="WEEKLY", day_of_week="MON")

    def weekly() -> set[str]:
        task = audits.run_scheduled_audit_now("WeeklyAudit")
        audits.wait_for_audit(task, progress=None, poll_interval=0.1)
        return set(findings.non_compliant_checks(task)["check"])

    for _ in range(2):
        fleet.connect_devices(env, progress=None)
        assert weekly() == set(fleet.MODULE1_NON_COMPLIANT)
    assert weekly() == set(fleet.MODULE1_NON_COMPLIANT) - {SHARED}


def test_building_again_gives_back_what_the_mitigations_changed(sandbox, state_dir, capsys):
    env = fleet.build_workshop_environment()
    iot = sandbox.iot
    iot.update_certificate(certificateId=env.certificate_id, newStatus="INACTIVE")  # 04's mitigation
    for _ in range(4):  # 05's REPLACE_DEFAULT_POLICY_VERSION, run four times: the policy's 5-version limit
        iot.create_policy_version(policyName=env.policy_name, policyDocument='{"Version": "2012-10-17", '
                                  '"Statement": []}', setAsDefault=True)
    role = mitigation.create_mitigation_role("ENABLE_IOT_LOGGING", role_name="IoTLoggingRole-workshop")
    iot.set_v2_logging_options(roleArn=role, defaultLogLevel="ERROR", disableAllLogs=False)  # 05's mitigation
    assert audit(iot, ORIGINAL_14)[1] == set()
    capsys.readouterr()

    again = fleet.build_workshop_environment()
    said = capsys.readouterr().out
    assert again == env and "its Module 1 state was given back" in said, said
    assert "INACTIVE -> ACTIVE" in said and "(iot:* on *) is the default again" in said and "ERROR -> off" in said
    assert mitigation.certificate_status(env.certificate_id) == "ACTIVE"
    versions = iot.list_policy_versions(policyName=env.policy_name)["policyVersions"]
    assert len(versions) == 1 and json.loads(iot.get_policy(policyName=env.policy_name)["policyDocument"]) == \
        fleet.PERMISSIVE_POLICY
    assert audit(iot, ORIGINAL_14)[1] == set(fleet.MODULE1_NON_COMPLIANT)
    fleet.build_workshop_environment()
    assert "nothing was changed" in capsys.readouterr().out


def test_aws_mode_gives_back_the_module1_state_only_when_confirmed(sandbox, state_dir, monkeypatch):
    env = fleet.build_workshop_environment(connect=False)
    sandbox.iot.update_certificate(certificateId=env.certificate_id, newStatus="INACTIVE")
    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    with pytest.raises(WorkshopError) as e:
        fleet.build_workshop_environment(connect=False)
    assert f"certificate {env.certificate_id}: INACTIVE -> ACTIVE" in e.value.problem and "confirm=True" in e.value.fix
    assert mitigation.certificate_status(env.certificate_id) == "INACTIVE"
    fleet.build_workshop_environment(connect=False, confirm=True)
    assert mitigation.certificate_status(env.certificate_id) == "ACTIVE"


def test_a_task_name_used_for_other_findings_is_refused_not_handed_back(sandbox, state_dir):
    env = fleet.build_workshop_environment()
    mitigation.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    mapping = {SHARED: ["Update-device-certificate"]}
    first, second = (sandbox.iot.list_audit_findings(taskId=audit(sandbox.iot, [SHARED])[0])["findings"][0]["findingId"]
                     for _ in range(2))
    task = mitigation.start_mitigation_task(mapping, finding_ids=[first], task_name="Deactivate")
    assert mitigation.start_mitigation_task(mapping, finding_ids=[first], task_name="Deactivate") == task
    with pytest.raises(WorkshopError) as e:
        mitigation.start_mitigation_task(mapping, finding_ids=[second], task_name="Deactivate")
    assert "TaskAlreadyExistsException" in e.value.problem and "choose another task_name" in e.value.fix
    assert mitigation.wait_for_mitigation_task(task, progress=None, poll_interval=0.05)["taskStatus"] == "COMPLETED"
    assert mitigation.certificate_status(env.certificate_id) == "INACTIVE"


def test_cleanup_forgets_the_connection_history_of_what_it_deletes(sandbox, state_dir):
    fleet.build_workshop_environment(connect=False)  # the audit configuration
    built = fleet.build_fleet(40, seed=3)
    assert built.expected_findings[CONFLICTING] and CONFLICTING in audit(sandbox.iot, [CONFLICTING])[1]
    fleet.cleanup(run_id=built.run_id, dry_run=False)
    assert events() == []
    assert CONFLICTING not in audit(sandbox.iot, [CONFLICTING])[1]


def test_forgetting_connections_needs_certificate_ids(sandbox):
    with pytest.raises(target.TargetError, match="certificateIds"):
        target.sandbox_control("DELETE", "/_sandbox/iot/connections", {})
    with pytest.raises(target.TargetError, match="certificateIds"):
        target.sandbox_control("DELETE", "/_sandbox/iot/connections", {"certificateIds": "abc"})


# -- notebooks re-run on one sandbox --------------------------------------------------------------------------------
# (notebook, what broke when it ran there) in order; 04 and 05 build what they need themselves
SEQUENCE = (
    ("04-apply-mitigation-actions.ipynb", "first run"),
    ("04-apply-mitigation-actions.ipynb", "same task name, new findings: the old task came back"),
    ("05-automate-at-scale.ipynb", "first run (the Module 1 devices are built without connections)"),
    ("05-automate-at-scale.ipynb", "the deleted fleet's conflicting client ids; the policy's blank version"),
    ("02-on-demand-audit.ipynb", "after 05: policy and logging mitigated, no connections, fleet history"),
    ("99-cleanup.ipynb", "clean-up"),
    ("02-on-demand-audit.ipynb", "rebuilt after clean-up: logging left on, old sessions of the same client ids"),
)


def test_notebooks_pass_their_checks_when_re_run_on_the_same_sandbox(tmp_path):
    """The sequence above, on one sandbox process with no reset between notebooks: every cell runs."""
    out_dir = ARTIFACTS / "executed-reruns"
    out_dir.mkdir(parents=True, exist_ok=True)
    errors: dict[str, str] = {}
    with sandbox_process("sandbox-reruns.log") as endpoint:
        env = {**os.environ, "WORKSHOP_TARGET": "sandbox", "AWS_ENDPOINT_URL": endpoint,
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "MPLBACKEND": "Agg", "WORKSHOP_STATE_DIR": str(tmp_path / ".workshop"), "WORKSHOP_FLEET_SIZE": "40"}
        for step, (name, why) in enumerate(SEQUENCE):
            nb, error = execute_notebook(name, env)  # every step runs; all failures are reported together
            if error:
                errors[f"step {step}: {name} ({why})"] = error
            nbformat.write(nb, out_dir / f"{step}-{name}")
    assert not errors, "\n\n".join(f"{where}:\n{what}" for where, what in errors.items())
