"""Cleanup: preview first, then delete exactly what the workshop made (by state file, tags and thing attribute),
give the account its audit configuration back, and never touch anything else."""
from __future__ import annotations

import json

import pytest

from helpers import fleet, state
from tests.builders import configure_audit


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    return tmp_path / ".workshop"


def names(things: dict) -> list[str]:
    return sorted(t["thingName"] for t in things["things"])


def workshop_roles(iam) -> list[str]:
    return [r["RoleName"] for r in iam.list_roles(PathPrefix=fleet.ROLE_PATH)["Roles"]]


def test_cleanup_removes_the_module1_environment_completely(sandbox, state_dir):
    env = fleet.build_workshop_environment()
    report = fleet.cleanup()
    assert report.done and not report.errors, report
    iot, iam = sandbox.iot, sandbox.client("iam")
    assert iot.list_things()["things"] == []
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_policies()["policies"] == []
    assert workshop_roles(iam) == []
    assert sandbox.client("sns").list_topics()["Topics"] == []
    assert iot.describe_account_audit_configuration().get("roleArn") is None
    assert not (state_dir / "keys" / env.run_id).exists()
    assert state.runs() == []
    assert fleet.cleanup_plan().planned == {}


def test_cleanup_gives_back_the_previous_audit_configuration(sandbox):
    iot, iam = sandbox.iot, sandbox.client("iam")
    own_role = configure_audit(iot, iam, ["LOGGING_DISABLED_CHECK"], role_name="AttendeeAuditRole")
    fleet.build_workshop_environment(connect=False)
    fleet.cleanup()
    config = iot.describe_account_audit_configuration()
    assert config["roleArn"] == own_role
    assert {c for c, v in config["auditCheckConfigurations"].items() if v["enabled"]} == {"LOGGING_DISABLED_CHECK"}
    assert iam.get_role(RoleName="AttendeeAuditRole")["Role"]["Arn"] == own_role


def test_cleanup_never_touches_resources_the_workshop_did_not_create(sandbox):
    iot = sandbox.iot
    iot.create_thing(thingName="attendee-thing", attributePayload={"attributes": {"workshop": "something-else"}})
    iot.create_policy(policyName="attendee-policy", policyDocument=json.dumps(fleet.PERMISSIVE_POLICY))
    iot.create_policy(policyName="tagged-elsewhere", policyDocument=json.dumps(fleet.PERMISSIVE_POLICY),
                      tags=[{"Key": "workshop", "Value": "another-workshop"}])
    fleet.build_workshop_environment(connect=False)
    plan = fleet.cleanup_plan()
    assert "attendee-thing" not in plan.planned["things"]
    fleet.cleanup()
    assert names(iot.list_things()) == ["attendee-thing"]
    assert sorted(p["policyName"] for p in iot.list_policies()["policies"]) == ["attendee-policy", "tagged-elsewhere"]


def test_cleanup_finds_resources_by_tag_and_attribute_when_the_state_file_is_lost(sandbox, state_dir):
    fleet.build_workshop_environment(connect=False)
    state.state_file().unlink()
    plan = fleet.cleanup_plan()
    assert plan.planned["things"] == sorted(fleet.MODULE1_THINGS)
    assert len(plan.planned["roles"]) == 2 and len(plan.planned["topics"]) == 1
    assert plan.planned["audit_configuration"] == ["account"]
    report = fleet.cleanup()
    assert not report.errors, report
    assert sandbox.iot.list_things()["things"] == [] and sandbox.iot.list_certificates()["certificates"] == []
    assert sandbox.iot.describe_account_audit_configuration().get("roleArn") is None


def test_cleanup_of_one_run_leaves_the_others(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    built = fleet.build_fleet(40, seed=5)
    report = fleet.cleanup(run_id=built.run_id)
    assert not report.errors, report
    assert names(sandbox.iot.list_things()) == sorted(fleet.MODULE1_THINGS)
    assert sandbox.iot.list_ca_certificates()["certificates"] == []
    assert sandbox.client("cognito-identity").list_identity_pools(MaxResults=60)["IdentityPools"] == []
    assert sandbox.iot.list_role_aliases()["roleAliases"] == []
    assert [p["policyName"] for p in sandbox.iot.list_policies()["policies"]] == [env.policy_name]
    assert [r["run_id"] for r in state.runs()] == [env.run_id]
    assert sorted(workshop_roles(sandbox.client("iam"))) == sorted(
        a.rsplit("/", 1)[1] for a in (env.audit_role_arn, env.sns_role_arn))


def test_cleanup_deletes_tagged_mitigation_actions(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    iot = sandbox.iot
    params = {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}}
    iot.create_mitigation_action(actionName="Update-device-certificate", roleArn=env.sns_role_arn,
                                 actionParams=params, tags=fleet.iot_tags(env.run_id))
    iot.create_mitigation_action(actionName="attendee-action", roleArn=env.sns_role_arn, actionParams=params)
    assert fleet.cleanup_plan().planned["mitigation_actions"] == ["Update-device-certificate"]
    report = fleet.cleanup()
    assert not report.errors, report
    assert [a["actionName"] for a in iot.list_mitigation_actions()["actionIdentifiers"]] == ["attendee-action"]


def test_cleanup_deletes_scheduled_audits_recorded_in_the_state(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    sandbox.iot.create_scheduled_audit(scheduledAuditName="workshop-daily", frequency="DAILY",
                                       targetCheckNames=["LOGGING_DISABLED_CHECK"])
    state.add_resources(env.run_id, "scheduled_audits", ["workshop-daily"])
    report = fleet.cleanup()
    assert not report.errors, report
    assert sandbox.iot.list_scheduled_audits()["scheduledAudits"] == []


def test_cleanup_finds_tagged_scheduled_audits(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    sandbox.iot.create_scheduled_audit(scheduledAuditName="workshop-daily", frequency="DAILY",
                                       targetCheckNames=["LOGGING_DISABLED_CHECK"], tags=fleet.iot_tags(env.run_id))
    assert fleet.cleanup_plan().planned.get("scheduled_audits") == ["workshop-daily"]


def test_aws_mode_cleanup_only_previews_without_confirmation(sandbox, monkeypatch):
    fleet.build_workshop_environment(connect=False)
    monkeypatch.setattr(fleet, "is_sandbox", lambda: False)
    report = fleet.cleanup()
    assert not report.done and "Would delete" in repr(report) and "confirm=True" in repr(report)
    assert names(sandbox.iot.list_things()) == sorted(fleet.MODULE1_THINGS)
    assert len(state.runs()) == 1
    done = fleet.cleanup(confirm=True)
    assert done.done and not done.errors and sandbox.iot.list_things()["things"] == []


def test_cleanup_tolerates_resources_already_gone(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    sandbox.client("sns").delete_topic(TopicArn=env.sns_topic_arn)
    report = fleet.cleanup()
    assert not report.errors, report
    assert report.already_gone.get("topics") == [env.sns_topic_arn] or env.sns_topic_arn in report.deleted["topics"]
