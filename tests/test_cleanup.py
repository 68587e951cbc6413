"""Clean-up: a dry run lists everything the workshop made (state file, tags, thing attributes, every list paged);
deleting it leaves nothing, gives the account its audit configuration back, never touches anything else, and a
second run is a no-op."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from helpers import cleanup as cleanup_module
from helpers import fleet, state, target
from helpers.errors import WorkshopError
from tests.builders import configure_audit


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    return tmp_path / ".workshop"


def names(things: dict) -> list[str]:
    return sorted(t["thingName"] for t in things["things"])


def workshop_roles(iam) -> list[str]:
    return [r["RoleName"] for r in iam.list_roles(PathPrefix=fleet.ROLE_PATH)["Roles"]]


def test_dry_run_lists_then_delete_leaves_nothing_and_a_second_run_is_a_no_op(sandbox, state_dir):
    env = fleet.build_workshop_environment()
    iot, iam = sandbox.iot, sandbox.client("iam")
    preview = fleet.cleanup()  # the default is a dry run, in both targets
    assert not preview.done and "Dry run" in repr(preview) and "cleanup(dry_run=False)" in repr(preview)
    table = preview.table
    assert isinstance(table, pd.DataFrame) and list(table.columns) == ["kind", "name", "run", "found by", "status"]
    kinds = dict(table.groupby("kind").size())
    assert kinds == {"things": 2, "certificates": 1, "policies": 1, "roles": 2, "topics": 1,
                     "audit_configuration": 1, "key_files": 1}
    assert set(table["run"]) == {env.run_id}
    things = table[table["kind"] == "things"]
    assert set(things["found by"]) == {"state file, thing attribute"}
    assert names(iot.list_things()) == sorted(fleet.MODULE1_THINGS), "a dry run deletes nothing"

    report = fleet.cleanup(dry_run=False)
    assert report.done and not report.errors, report
    assert set(report.table["status"]) <= {"deleted", "restored"}
    assert iot.list_things()["things"] == []
    assert iot.list_certificates()["certificates"] == []
    assert iot.list_policies()["policies"] == []
    assert workshop_roles(iam) == []
    assert sandbox.client("sns").list_topics()["Topics"] == []
    assert iot.describe_account_audit_configuration().get("roleArn") is None
    assert not (state_dir / "keys" / env.run_id).exists()
    assert state.runs() == []

    assert fleet.cleanup().table.empty
    again = fleet.cleanup(dry_run=False)
    assert again.items == [] and not again.errors and "Nothing the workshop created" in repr(again)


def test_fleet_cleanup_finds_everything_through_every_page(sandbox):
    built = fleet.build_fleet(40, seed=5)
    target.sandbox_control("POST", "/_sandbox/config", {"maxPageSize": 1})
    try:
        plan = fleet.cleanup().planned
        assert plan["things"] == sorted(built.things)
        assert plan["certificates"] == sorted(set(built.certificate_ids.values()))
        assert len(plan["policies"]) == len(fleet.POLICY_DOCUMENTS) and len(plan["ca_certificates"]) == 4
        assert len(plan["role_aliases"]) == 4 and len(plan["identity_pools"]) == 2
        report = fleet.cleanup(dry_run=False)
    finally:
        target.sandbox_control("POST", "/_sandbox/config", {"maxPageSize": None})
    assert not report.errors, report
    iot = sandbox.iot
    assert iot.list_things()["things"] == [] and iot.list_certificates()["certificates"] == []
    assert iot.list_ca_certificates()["certificates"] == [] and iot.list_policies()["policies"] == []
    assert iot.list_role_aliases()["roleAliases"] == []
    assert sandbox.client("cognito-identity").list_identity_pools(MaxResults=60)["IdentityPools"] == []
    assert workshop_roles(sandbox.client("iam")) == []


def test_cleanup_gives_back_the_previous_audit_configuration(sandbox):
    iot, iam = sandbox.iot, sandbox.client("iam")
    own_role = configure_audit(iot, iam, ["LOGGING_DISABLED_CHECK"], role_name="AttendeeAuditRole")
    fleet.build_workshop_environment(connect=False)
    fleet.cleanup(dry_run=False)
    config = iot.describe_account_audit_configuration()
    assert config["roleArn"] == own_role
    assert {c for c, v in config["auditCheckConfigurations"].items() if v["enabled"]} == {"LOGGING_DISABLED_CHECK"}
    assert iam.get_role(RoleName="AttendeeAuditRole")["Role"]["Arn"] == own_role


def test_cleanup_turns_off_alerts_to_the_workshop_topic(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    iot = sandbox.iot
    iot.update_account_audit_configuration(auditNotificationTargetConfigurations={
        "SNS": {"targetArn": env.sns_topic_arn, "roleArn": env.sns_role_arn, "enabled": True}})
    report = fleet.cleanup(dry_run=False)
    assert not report.errors, report
    assert iot.describe_account_audit_configuration().get("roleArn") is None


def test_cleanup_never_touches_resources_the_workshop_did_not_create(sandbox):
    iot, sns = sandbox.iot, sandbox.client("sns")
    iot.create_thing(thingName="attendee-thing", attributePayload={"attributes": {"workshop": "something-else"}})
    iot.create_policy(policyName="attendee-policy", policyDocument=json.dumps(fleet.PERMISSIVE_POLICY))
    iot.create_policy(policyName="tagged-elsewhere", policyDocument=json.dumps(fleet.PERMISSIVE_POLICY),
                      tags=[{"Key": "workshop", "Value": "another-workshop"}])
    own_topic = sns.create_topic(Name="attendee-topic")["TopicArn"]
    env = fleet.build_workshop_environment(connect=False)
    # an attendee's certificate attached to a workshop thing, and the attendee's policy on the workshop certificate
    own_cert = iot.create_keys_and_certificate(setAsActive=True)
    iot.attach_thing_principal(thingName="SensorDevice01", principal=own_cert["certificateArn"])
    iot.attach_policy(policyName="attendee-policy", target=env.certificate_arn)
    plan = fleet.cleanup().planned
    assert "attendee-thing" not in plan["things"] and plan["certificates"] == [env.certificate_id]
    report = fleet.cleanup(dry_run=False)
    assert not report.errors, report
    assert names(iot.list_things()) == ["attendee-thing"]
    assert sorted(p["policyName"] for p in iot.list_policies()["policies"]) == ["attendee-policy", "tagged-elsewhere"]
    assert [c["certificateId"] for c in iot.list_certificates()["certificates"]] == [own_cert["certificateId"]]
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [own_topic]


def test_cleanup_finds_resources_by_tag_and_attribute_when_the_state_file_is_lost(sandbox, state_dir):
    env = fleet.build_workshop_environment(connect=False)
    built = fleet.build_fleet(40, seed=3, connect=False)
    state.state_file().unlink()
    report = fleet.cleanup()
    plan = report.planned
    assert plan["things"] == sorted([*fleet.MODULE1_THINGS, *built.things])
    assert set(plan["certificates"]) == {env.certificate_id, *built.certificate_ids.values()}
    certs = report.table[report.table["kind"] == "certificates"]
    assert set(certs["found by"]) == {"attached to a workshop thing"}
    assert len(plan["roles"]) == 2 + 4 + 3 and len(plan["topics"]) == 1
    assert plan["audit_configuration"] == ["account"]
    assert sorted(plan["key_files"]) == sorted(str(state.keys_dir(r)) for r in (env.run_id,))
    done = fleet.cleanup(dry_run=False)
    assert not done.errors, done
    assert sandbox.iot.list_things()["things"] == [] and sandbox.iot.list_certificates()["certificates"] == []
    assert sandbox.iot.describe_account_audit_configuration().get("roleArn") is None


def test_cleanup_of_one_run_leaves_the_others(sandbox):
    env = fleet.build_workshop_environment()
    built = fleet.build_fleet(40, seed=5)
    assert set(fleet.cleanup(run_id=built.run_id).table["run"]) == {built.run_id}
    report = fleet.cleanup(run_id=built.run_id, dry_run=False)
    assert not report.errors, report
    assert names(sandbox.iot.list_things()) == sorted(fleet.MODULE1_THINGS)
    assert sandbox.iot.list_ca_certificates()["certificates"] == []
    assert sandbox.client("cognito-identity").list_identity_pools(MaxResults=60)["IdentityPools"] == []
    assert sandbox.iot.list_role_aliases()["roleAliases"] == []
    assert [p["policyName"] for p in sandbox.iot.list_policies()["policies"]] == [env.policy_name]
    assert [r["run_id"] for r in state.runs()] == [env.run_id]
    assert sorted(workshop_roles(sandbox.client("iam"))) == sorted(
        a.rsplit("/", 1)[1] for a in (env.audit_role_arn, env.sns_role_arn))
    assert (fleet.verify_workshop_environment(env)["ok"] == "✓").all()


def test_cleanup_deletes_tagged_mitigation_actions_groups_and_scheduled_audits(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    iot = sandbox.iot
    params = {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}}
    iot.create_mitigation_action(actionName="Update-device-certificate", roleArn=env.sns_role_arn,
                                 actionParams=params, tags=fleet.iot_tags(env.run_id))
    iot.create_mitigation_action(actionName="attendee-action", roleArn=env.sns_role_arn, actionParams=params)
    iot.create_thing_group(thingGroupName="IsolatedDevices", tags=fleet.iot_tags(env.run_id))
    iot.add_thing_to_thing_group(thingGroupName="IsolatedDevices", thingName="SensorDevice02")
    iot.create_scheduled_audit(scheduledAuditName="workshop-daily", frequency="DAILY",
                               targetCheckNames=["LOGGING_DISABLED_CHECK"], tags=fleet.iot_tags(env.run_id))
    plan = fleet.cleanup().planned
    assert plan["mitigation_actions"] == ["Update-device-certificate"]
    assert plan["thing_groups"] == ["IsolatedDevices"] and plan["scheduled_audits"] == ["workshop-daily"]
    report = fleet.cleanup(dry_run=False)
    assert not report.errors, report
    assert [a["actionName"] for a in iot.list_mitigation_actions()["actionIdentifiers"]] == ["attendee-action"]
    assert iot.list_thing_groups()["thingGroups"] == [] and iot.list_scheduled_audits()["scheduledAudits"] == []


def test_cleanup_deletes_suppressions_recorded_or_naming_a_workshop_resource(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    iot = sandbox.iot
    shared = {"deviceCertificateId": env.certificate_id}
    iot.create_audit_suppression(checkName="DEVICE_CERTIFICATE_SHARED_CHECK", resourceIdentifier=shared,
                                 suppressIndefinitely=True, clientRequestToken="t1")
    account = {"account": sandbox.account}
    iot.create_audit_suppression(checkName="LOGGING_DISABLED_CHECK", resourceIdentifier=account,
                                 suppressIndefinitely=True, clientRequestToken="t2")
    plan = fleet.cleanup().table
    found = plan[plan["kind"] == "suppressions"]
    assert list(found["name"]) == [f"DEVICE_CERTIFICATE_SHARED_CHECK {env.certificate_id}"]
    assert list(found["found by"]) == ["names a resource being deleted"]
    state.add_resources(env.run_id, "suppressions",
                        [{"resourceIdentifier": account, "checkName": "LOGGING_DISABLED_CHECK"}])
    assert len(fleet.cleanup().planned["suppressions"]) == 2
    report = fleet.cleanup(dry_run=False)
    assert not report.errors, report
    assert iot.list_audit_suppressions()["suppressions"] == []


def test_cleanup_deletes_scheduled_audits_recorded_in_the_state(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    sandbox.iot.create_scheduled_audit(scheduledAuditName="workshop-daily", frequency="DAILY",
                                       targetCheckNames=["LOGGING_DISABLED_CHECK"])
    state.add_resources(env.run_id, "scheduled_audits", ["workshop-daily"])
    report = fleet.cleanup(dry_run=False)
    assert not report.errors, report
    assert sandbox.iot.list_scheduled_audits()["scheduledAudits"] == []


def test_aws_mode_deletes_only_with_confirmation_and_shows_the_plan(sandbox, monkeypatch):
    fleet.build_workshop_environment(connect=False)
    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    preview = fleet.cleanup()
    assert not preview.done and "confirm=True" in repr(preview)
    with pytest.raises(WorkshopError) as e:
        fleet.cleanup(dry_run=False)
    assert "real AWS account" in e.value.problem and "things: SensorDevice01, SensorDevice02" in e.value.problem
    assert "confirm=True" in e.value.fix
    assert names(sandbox.iot.list_things()) == sorted(fleet.MODULE1_THINGS) and len(state.runs()) == 1
    done = fleet.cleanup(dry_run=False, confirm=True)
    assert done.done and not done.errors and sandbox.iot.list_things()["things"] == []


def test_aws_mode_leaves_runs_this_machine_did_not_record(sandbox, monkeypatch):
    """In a real account shared with other attendees, clean-up deletes only the runs in this machine's state file;
    another run's tagged resources stay until named explicitly."""
    env = fleet.build_workshop_environment(connect=False)
    theirs = fleet.build_fleet(40, seed=4, connect=False)
    state.forget_run(theirs.run_id)  # another attendee's run: tagged like ours, recorded on their machine only
    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    plan = fleet.cleanup()
    assert set(plan.table["run"]) <= {env.run_id, "(none)"}
    assert "other runs" in repr(plan) and "run_id=" in repr(plan)
    assert not fleet.cleanup(dry_run=False, confirm=True).errors
    assert names(sandbox.iot.list_things(maxResults=250)) == sorted(theirs.things)
    named = fleet.cleanup(run_id=theirs.run_id, dry_run=False, confirm=True)
    assert not named.errors and sandbox.iot.list_things()["things"] == []


def test_cleanup_tolerates_resources_already_gone(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    report = fleet.cleanup()
    sandbox.client("sns").delete_topic(TopicArn=env.sns_topic_arn)
    sandbox.iot.detach_thing_principal(thingName="SensorDevice02", principal=env.certificate_arn)
    sandbox.iot.delete_thing(thingName="SensorDevice02")
    for item in report.items:  # delete from the stale plan, as when two notebooks clean up at once
        item.status = "found"
    by_kind: dict[str, list] = {}
    for item in report.items:
        by_kind.setdefault(item.kind, []).append(item)
    for kind in cleanup_module.KINDS:
        if by_kind.get(kind):
            cleanup_module._DELETERS[kind](by_kind[kind], report)
    assert not report.errors, report
    assert report.already_gone == {"things": ["SensorDevice02"], "topics": [env.sns_topic_arn]}
    assert fleet.cleanup(dry_run=False).items == []


def test_something_left_behind_is_named_with_the_fix(sandbox, monkeypatch):
    env = fleet.build_workshop_environment(connect=False)
    original = cleanup_module._DELETERS["topics"]
    monkeypatch.setitem(cleanup_module._DELETERS, "topics", lambda items, report: None)  # a deletion that did nothing
    with pytest.raises(WorkshopError) as e:
        fleet.cleanup(dry_run=False)
    assert f"topics: {env.sns_topic_arn}" in e.value.problem and "cleanup(dry_run=False) again" in e.value.fix
    assert [r["run_id"] for r in state.runs()] == [env.run_id], "the run stays recorded until it is really gone"
    monkeypatch.setitem(cleanup_module._DELETERS, "topics", original)
    assert fleet.cleanup(dry_run=False).planned == {"topics": [env.sns_topic_arn]}
    assert sandbox.client("sns").list_topics()["Topics"] == []


def test_an_audit_configuration_that_must_stay_keeps_its_role_and_says_why(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    iot = sandbox.iot
    iot.create_scheduled_audit(scheduledAuditName="WeeklyAudit", frequency="WEEKLY", dayOfWeek="MON",
                               targetCheckNames=["LOGGING_DISABLED_CHECK"])  # the attendee's, untagged
    with pytest.raises(WorkshopError) as e:
        fleet.cleanup(dry_run=False)
    audit_role = env.audit_role_arn.rsplit("/", 1)[1]
    assert f"roles: {audit_role}" in e.value.problem and "WeeklyAudit" in e.value.problem
    assert "delete_scheduled_audit" in e.value.problem
    assert iot.describe_account_audit_configuration()["roleArn"] == env.audit_role_arn
    assert workshop_roles(sandbox.client("iam")) == [audit_role], "the role the configuration uses is kept"
    assert [a["scheduledAuditName"] for a in iot.list_scheduled_audits()["scheduledAudits"]] == ["WeeklyAudit"]
    iot.delete_scheduled_audit(scheduledAuditName="WeeklyAudit")
    report = fleet.cleanup(dry_run=False)
    assert report.planned == {"audit_configuration": ["account"], "roles": [audit_role]}
    assert iot.describe_account_audit_configuration().get("roleArn") is None and state.runs() == []
