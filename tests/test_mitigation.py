"""helpers.mitigation against the in-process sandbox: roles, actions, mapping validation, preview, task, verify."""
from __future__ import annotations

import pytest

from helpers import fleet, mitigation as m
from helpers.errors import WorkshopError
from tests.sandbox.test_mitigation import LOGGING, POLICY, SHARED
from tests.sandbox.test_mitigation import module  # noqa: F401 - fixture


def test_action_types_table_lists_the_six_types_and_their_checks():
    table = m.action_types()
    assert list(table["action type"]) == list(m.ACTION_TYPES)
    row = table.set_index("action type").loc["UPDATE_DEVICE_CERTIFICATE"]
    assert row["role's managed policy"] == "AWSIoTDeviceDefenderUpdateDeviceCertMitigationAction"
    assert "Device certificate shared" in row["fits checks"]


@pytest.mark.parametrize("kind,kwargs,needle", [
    ("RESET_EVERYTHING", {}, "not a mitigation action type"),
    ("ADD_THINGS_TO_THING_GROUP", {}, "1 to 10"),
    ("ENABLE_IOT_LOGGING", {}, "role_arn_for_logging"),
    ("ENABLE_IOT_LOGGING", {"role_arn_for_logging": "arn:aws:iam::123456789012:role/L", "log_level": "DISABLED"}, "DISABLED"),
    ("PUBLISH_FINDING_TO_SNS", {}, "topic_arn"),
])
def test_bad_parameters_are_caught_before_any_call(kind, kwargs, needle):
    with pytest.raises(WorkshopError, match=needle):
        m.action_params(kind, **kwargs)


def test_create_action_makes_the_right_role_and_is_idempotent(module):  # noqa: F811
    action = m.create_mitigation_action("Update-device-certificate", "update device certificate")
    assert action["actionType"] == "UPDATE_DEVICE_CERTIFICATE"
    role = action["roleArn"].rsplit("/", 1)[-1]
    iam = module.client("iam")
    attached = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    assert attached == ["AWSIoTDeviceDefenderUpdateDeviceCertMitigationAction"]  # the erratum, fixed
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert "iot.amazonaws.com" in str(trust) and "aws:SourceAccount" in str(trust)
    again = m.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    assert again["actionId"] == action["actionId"]
    with pytest.raises(WorkshopError, match="already exists with other settings"):
        m.create_mitigation_action("Update-device-certificate", "REPLACE_DEFAULT_POLICY_VERSION")
    assert list(m.list_mitigation_actions()["action"]) == ["Update-device-certificate"]


def test_mapping_is_validated_before_calling_aws(module):  # noqa: F811
    m.create_mitigation_action("BlankPolicy", "REPLACE_DEFAULT_POLICY_VERSION")
    with pytest.raises(WorkshopError, match="cannot be applied to Device certificate shared"):
        m.validate_mapping({SHARED: ["BlankPolicy"]})
    with pytest.raises(WorkshopError, match="no mitigation action named Nope"):
        m.validate_mapping({POLICY: ["Nope"]})
    with pytest.raises(WorkshopError, match="DEVICE_CERTIFICATE_SHARED_CHECK"):
        m.validate_mapping({"DEVICE_CERT_SHARED": ["BlankPolicy"]})  # suggests the closest check name
    assert m.validate_mapping({"iot_policy_overly_permissive_check": "BlankPolicy"}) == {POLICY: ["BlankPolicy"]}


def test_the_module_flow_deactivates_the_shared_certificate(module):  # noqa: F811
    m.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    finding = module.findings[SHARED]["findingId"]
    preview = m.preview_mitigation({SHARED: ["Update-device-certificate"]}, finding_ids=[finding])
    assert list(preview["will"]) == [f"deactivate certificate(s) {module.cert[:12]}…"]
    task_id = m.start_mitigation_task({SHARED: ["Update-device-certificate"]}, finding_ids=[finding],
                                      task_name="DeactivateSharedCert")
    done = m.wait_for_mitigation_task(task_id, progress=None, poll_interval=0.05)
    assert done["taskStatus"] == "COMPLETED"
    runs = m.mitigation_executions(task_id)
    assert list(runs["status"]) == ["COMPLETED"]
    assert m.verify_certificates([module.cert])["as expected"].all()
    # re-running the notebook cell finds the same task (the token is derived from the name): nothing runs twice
    assert m.start_mitigation_task({SHARED: ["Update-device-certificate"]}, finding_ids=[finding],
                                   task_name="DeactivateSharedCert") == task_id
    assert len(m.mitigation_executions(task_id)) == 1


def test_whole_audit_target_and_progress_text(module, capsys):  # noqa: F811
    log_role = m.create_mitigation_role("ENABLE_IOT_LOGGING", role_name="IoTLoggingRole")
    m.create_mitigation_action("EnableLogging", "ENABLE_IOT_LOGGING", role_arn_for_logging=log_role, log_level="WARN")
    task_id = m.start_mitigation_task({LOGGING: ["EnableLogging"]}, audit_task_id=module.audit_task)
    m.wait_for_mitigation_task(task_id, progress="text", poll_interval=0.05)
    assert "1/1 findings done" in capsys.readouterr().out
    assert module.iot.get_v2_logging_options()["defaultLogLevel"] == "WARN"
    assert list(m.mitigation_executions(task_id)["action"]) == ["EnableLogging"]


def test_target_must_be_named_and_small(module):  # noqa: F811
    m.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    with pytest.raises(WorkshopError, match="Say which findings"):
        m.start_mitigation_task({SHARED: ["Update-device-certificate"]})
    with pytest.raises(WorkshopError, match="1 to 25"):
        m.start_mitigation_task({SHARED: ["Update-device-certificate"]}, finding_ids=[f"f{i}" for i in range(26)])


def test_aws_mode_refuses_without_confirmation_and_shows_the_change(module, monkeypatch):  # noqa: F811
    m.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    monkeypatch.setattr(m.target, "is_sandbox", lambda: False)
    with pytest.raises(WorkshopError, match="deactivate certificate") as e:
        m.start_mitigation_task({SHARED: ["Update-device-certificate"]},
                                finding_ids=[module.findings[SHARED]["findingId"]])
    assert "confirm=True" in str(e.value)
    with pytest.raises(WorkshopError, match="confirm=True"):
        m.delete_mitigation_action("Update-device-certificate")
    assert m.certificate_status(module.cert) == "ACTIVE"


def test_unknown_task_and_cancel_messages(module):  # noqa: F811
    with pytest.raises(WorkshopError, match="no mitigation task"):
        m.describe_mitigation_task("nope")
    m.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    task = m.start_mitigation_task({SHARED: ["Update-device-certificate"]},
                                   finding_ids=[module.findings[SHARED]["findingId"]])
    m.wait_for_mitigation_task(task, progress=None, poll_interval=0.05)
    with pytest.raises(WorkshopError, match="Only IN_PROGRESS"):
        m.cancel_mitigation_task(task)
    assert m.delete_mitigation_action("Update-device-certificate").startswith("Deleted")


def test_ensure_thing_group_is_idempotent_and_tagged(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))  # no Module 1 run recorded
    first = m.ensure_thing_group("Quarantine")
    assert m.ensure_thing_group("Quarantine") == first
    assert sandbox.iot.list_tags_for_resource(resourceArn=first)["tags"] == [
        {"Key": "workshop", "Value": "iot-audit-module2"}]


def test_things_in_a_thing_group_are_listed(sandbox):
    m.ensure_thing_group("Quarantine")
    assert m.things_in_thing_group("Quarantine") == []
    for name in ("Bad1", "Bad2", "Bad3", "Good"):
        sandbox.iot.create_thing(thingName=name)
    for name in ("Bad1", "Bad2", "Bad3"):
        sandbox.iot.add_thing_to_thing_group(thingGroupName="Quarantine", thingName=name)
    assert sorted(m.things_in_thing_group("Quarantine")) == ["Bad1", "Bad2", "Bad3"]
    with pytest.raises(WorkshopError, match="no thing group Quarantaine") as e:
        m.things_in_thing_group("Quarantaine")
    assert "ensure_thing_group('Quarantaine')" in e.value.fix


def test_module2_resources_carry_the_module1_run_so_a_real_account_clean_up_finds_them(sandbox, tmp_path,
                                                                                        monkeypatch):
    """Clean-up in a real account touches only this machine's runs: the audit role, scheduled audits, mitigation
    actions and thing groups of Module 2 carry the run tag of the recorded Module 1 environment."""
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    env = fleet.build_workshop_environment(connect=False)
    action = m.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    group = m.ensure_thing_group("Quarantine")
    for arn in (action["actionArn"], group):
        tags = {t["Key"]: t["Value"] for t in sandbox.iot.list_tags_for_resource(resourceArn=arn)["tags"]}
        assert tags == {"workshop": "iot-audit-module2", "workshop-run": env.run_id}
    planned = {(i.kind, i.name) for i in fleet.cleanup_plan(run_id=env.run_id).items}
    assert ("mitigation_actions", "Update-device-certificate") in planned
    assert ("thing_groups", "Quarantine") in planned
