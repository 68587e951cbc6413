"""The Module 1 environment and seeded fleets, end to end in the sandbox: what they create, and what an audit of them
finds (exactly the ground truth)."""
from __future__ import annotations

import json
import stat

import pytest

from helpers import certs, fleet, state, target
from helpers.errors import WorkshopError
from helpers.spec.checks import CHECK_NAMES, ORIGINAL_14
from tests.builders import configure_audit, wait_audit


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    """A private .workshop folder for each test."""
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    return tmp_path / ".workshop"


@pytest.fixture
def aws_mode(monkeypatch):
    """The helpers believe they talk to a real account (111122223333); the clients still reach the sandbox."""
    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    monkeypatch.setattr(target, "caller_identity",
                        lambda: {"account": "111122223333", "arn": "arn:aws:iam::111122223333:user/attendee"})


def run_audit(iot, checks) -> tuple[str, dict]:
    task_id = iot.start_on_demand_audit_task(targetCheckNames=list(checks))["taskId"]
    result = wait_audit(iot, task_id, timeout=60)
    assert result["taskStatus"] == "COMPLETED", result
    return task_id, result


def non_compliant(result: dict) -> set[str]:
    return {name for name, d in result["auditDetails"].items() if d["checkRunStatus"] == "COMPLETED_NON_COMPLIANT"}


# -- Module 1 -------------------------------------------------------------------------------------------------------
def test_module1_audit_finds_exactly_the_three_workshop_problems(sandbox):
    env = fleet.build_workshop_environment()
    task_id, result = run_audit(sandbox.iot, ORIGINAL_14)
    assert non_compliant(result) == set(fleet.MODULE1_NON_COMPLIANT)
    assert {d["checkRunStatus"] for d in result["auditDetails"].values()} == {"COMPLETED_COMPLIANT",
                                                                            "COMPLETED_NON_COMPLIANT"}
    findings = sandbox.iot.list_audit_findings(taskId=task_id)["findings"]
    by_check = {f["checkName"]: f for f in findings}
    assert len(findings) == 3
    shared = by_check["DEVICE_CERTIFICATE_SHARED_CHECK"]
    assert shared["nonCompliantResource"]["resourceIdentifier"] == {"deviceCertificateId": env.certificate_id}
    assert {r["resourceIdentifier"]["clientId"] for r in shared["relatedResources"]} == set(fleet.MODULE1_THINGS)
    policy = by_check["IOT_POLICY_OVERLY_PERMISSIVE_CHECK"]["nonCompliantResource"]["resourceIdentifier"]
    assert policy["policyVersionIdentifier"]["policyName"] == env.policy_name
    assert by_check["LOGGING_DISABLED_CHECK"]["nonCompliantResource"]["resourceIdentifier"] == {
        "account": sandbox.account}


def test_module1_resources_match_the_original_stack(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    iot, iam = sandbox.iot, sandbox.client("iam")
    for thing in fleet.MODULE1_THINGS:
        attrs = iot.describe_thing(thingName=thing)["attributes"]
        assert attrs == {"SensorType": "DHT22", "workshop": "iot-audit-module2", "workshop-run": env.run_id}
        assert iot.list_thing_principals(thingName=thing)["principals"] == [env.certificate_arn]
    assert json.loads(iot.get_policy(policyName=env.policy_name)["policyDocument"]) == fleet.PERMISSIVE_POLICY
    config = iot.describe_account_audit_configuration()
    assert config["roleArn"] == env.audit_role_arn
    assert {c for c, v in config["auditCheckConfigurations"].items() if v["enabled"]} == set(ORIGINAL_14)
    audit_role = env.audit_role_arn.rsplit("/", 1)[1]
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=audit_role)["AttachedPolicies"]] == [
        fleet.AUDIT_POLICY_ARN]
    for role_arn in (env.audit_role_arn, env.sns_role_arn):  # trusted by IoT, for this account and region only
        trust = iam.get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]["AssumeRolePolicyDocument"]
        assert trust["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"},
                                       "Action": "sts:AssumeRole",
                                       "Condition": {"StringEquals": {"aws:SourceAccount": sandbox.account},
                                                     "ArnLike": {"aws:SourceArn":
                                                                 f"arn:aws:iot:us-east-1:{sandbox.account}:*"}}}]
    assert env.sns_topic_arn == f"arn:aws:sns:us-east-1:{sandbox.account}:BadDevices"
    config = iot.describe_account_audit_configuration()
    assert not (config.get("auditNotificationTargetConfigurations") or {}).get("SNS", {}).get("enabled")


def test_verify_is_a_table_with_a_fix_for_each_gap(sandbox):
    env = fleet.build_workshop_environment()
    table = fleet.verify_workshop_environment(env)
    assert list(table.columns) == ["item", "expected", "actual", "ok", "fix"]
    assert set(table["ok"]) == {"✓"} and set(table["fix"]) == {""}, table.to_string()
    assert len(table) >= 14
    sandbox.iot.update_certificate(certificateId=env.certificate_id, newStatus="INACTIVE")  # Module 2's mitigation
    sandbox.iot.detach_thing_principal(thingName="SensorDevice02", principal=env.certificate_arn)
    table = fleet.verify_workshop_environment()
    gaps = table[table["ok"] == "✗"].set_index("item")
    assert list(gaps.index) == ["SensorDevice02 uses the shared certificate", "shared certificate status"]
    assert gaps.loc["shared certificate status", "actual"] == "INACTIVE"
    assert "reactivate_certificate()" in gaps.loc["shared certificate status", "fix"]
    assert "attach_thing_principal(thingName='SensorDevice02'" in gaps.loc[
        "SensorDevice02 uses the shared certificate", "fix"]


def test_reactivate_certificate_undoes_the_deactivation_and_is_idempotent(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    status = lambda: sandbox.iot.describe_certificate(certificateId=env.certificate_id)[  # noqa: E731
        "certificateDescription"]["status"]
    assert "already ACTIVE" in fleet.reactivate_certificate()
    sandbox.iot.update_certificate(certificateId=env.certificate_id, newStatus="INACTIVE")
    assert "ACTIVE again" in fleet.reactivate_certificate(env)
    assert status() == "ACTIVE"
    assert "already ACTIVE" in fleet.reactivate_certificate(certificate_id=env.certificate_id)
    assert status() == "ACTIVE"


def test_reactivate_certificate_refuses_what_it_cannot_or_may_not_change(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    foreign = sandbox.iot.create_keys_and_certificate(setAsActive=False)["certificateId"]
    with pytest.raises(WorkshopError) as e:
        fleet.reactivate_certificate(certificate_id=foreign)
    assert "not created by the workshop" in e.value.problem
    sandbox.iot.update_certificate(certificateId=env.certificate_id, newStatus="REVOKED")
    with pytest.raises(WorkshopError) as e:
        fleet.reactivate_certificate()
    assert "REVOKED" in e.value.problem and "rebuild=True" in e.value.fix


def test_aws_mode_reactivation_needs_confirmation(sandbox, monkeypatch):
    env = fleet.build_workshop_environment(connect=False)
    sandbox.iot.update_certificate(certificateId=env.certificate_id, newStatus="INACTIVE")
    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    with pytest.raises(WorkshopError) as e:
        fleet.reactivate_certificate()
    assert f"certificate {env.certificate_id}: INACTIVE -> ACTIVE" in e.value.problem and "confirm=True" in e.value.fix
    assert sandbox.iot.describe_certificate(certificateId=env.certificate_id)["certificateDescription"][
        "status"] == "INACTIVE"
    assert "ACTIVE again" in fleet.reactivate_certificate(confirm=True)
    assert "already ACTIVE" in fleet.reactivate_certificate(confirm=False)


def test_aws_mode_stops_at_a_bad_devices_topic_the_workshop_did_not_create(sandbox, monkeypatch):
    arn = sandbox.client("sns").create_topic(Name="BadDevices")["TopicArn"]  # e.g. made by hand for the module
    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    with pytest.raises(WorkshopError) as e:
        fleet.build_workshop_environment(confirm=True, connect=False)
    assert "SNS topic named BadDevices already exists" in e.value.problem and arn in e.value.problem
    assert "Delete or rename that topic" in e.value.fix
    assert sandbox.iot.list_things()["things"] == [] and state.runs() == []


def test_sandbox_reuses_a_foreign_bad_devices_topic_and_cleanup_leaves_it(sandbox):
    sns = sandbox.client("sns")
    arn = sns.create_topic(Name="BadDevices")["TopicArn"]
    env = fleet.build_workshop_environment(connect=False)
    assert env.sns_topic_arn == arn
    assert "topics" not in fleet.cleanup().planned
    fleet.cleanup(dry_run=False)
    assert [t["TopicArn"] for t in sns.list_topics()["Topics"]] == [arn]


def test_everything_created_is_tagged_with_the_workshop_and_run(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    want = {"workshop": "iot-audit-module2", "workshop-run": env.run_id}
    policy_arn = sandbox.iot.get_policy(policyName=env.policy_name)["policyArn"]
    tags = sandbox.iot.list_tags_for_resource(resourceArn=policy_arn)["tags"]
    assert {t["Key"]: t["Value"] for t in tags} == want
    for role_arn in (env.audit_role_arn, env.sns_role_arn):
        role_tags = sandbox.client("iam").list_role_tags(RoleName=role_arn.rsplit("/", 1)[1])["Tags"]
        assert {t["Key"]: t["Value"] for t in role_tags} == want
    topic_tags = sandbox.client("sns").list_tags_for_resource(ResourceArn=env.sns_topic_arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in topic_tags} == want


def test_private_key_is_0600_in_a_git_ignored_folder_and_never_in_the_state(sandbox, state_dir):
    env = fleet.build_workshop_environment(connect=False)
    key = state_dir / "keys" / env.run_id / "SensorDevices.private.key"
    assert str(key) == env.key_file and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    pem = key.read_text()
    assert "PRIVATE KEY" in pem and "PRIVATE KEY" not in state.state_file().read_text()
    assert "PRIVATE" not in repr(env) and "PRIVATE" not in repr(certs.issue("x"))
    ignored = (state.PROJECT_ROOT / ".gitignore").read_text().split()
    assert ".workshop/" in ignored


def test_building_again_returns_the_existing_environment(sandbox, capsys):
    first = fleet.build_workshop_environment()
    again = fleet.build_workshop_environment()
    assert again == first and again.reused and not first.reused
    assert "already existed; nothing was changed" in capsys.readouterr().out
    assert len(state.runs("module1")) == 1
    assert len(sandbox.iot.list_certificates()["certificates"]) == 1


def test_rebuild_replaces_the_environment(sandbox):
    first = fleet.build_workshop_environment(connect=False)
    second = fleet.build_workshop_environment(connect=False, rebuild=True)
    assert second.run_id != first.run_id
    assert [r["run_id"] for r in state.runs("module1")] == [second.run_id]
    assert [c["certificateId"] for c in sandbox.iot.list_certificates()["certificates"]] == [second.certificate_id]


def test_foreign_things_with_the_same_names_are_not_taken_over(sandbox):
    sandbox.iot.create_thing(thingName="SensorDevice01")
    with pytest.raises(WorkshopError) as e:
        fleet.build_workshop_environment()
    assert "SensorDevice01 already exists" in e.value.problem and "cleanup" in e.value.fix


def test_aws_mode_changes_nothing_without_confirmation(sandbox, aws_mode):
    with pytest.raises(WorkshopError) as e:
        fleet.build_workshop_environment()
    assert "real AWS account ••••••••3333" in e.value.problem and "DevicePolicy-" in e.value.problem
    assert "SNS topic BadDevices" in e.value.problem
    assert "confirm=True" in e.value.fix
    with pytest.raises(WorkshopError):
        fleet.build_fleet(40)
    assert sandbox.iot.list_things()["things"] == [] and state.runs() == []


def test_aws_mode_caps_fleet_size(sandbox, aws_mode):
    with pytest.raises(WorkshopError) as e:
        fleet.build_fleet(fleet.MAX_AWS_FLEET + 1, confirm=True)
    assert "sandbox" in e.value.fix and f"max_aws_devices={fleet.MAX_AWS_FLEET + 1}" in e.value.fix
    with pytest.raises(WorkshopError) as e:  # explicitly allowed: past the cap, stopped only by the confirmation
        fleet.build_fleet(fleet.MAX_AWS_FLEET + 1, max_aws_devices=fleet.MAX_AWS_FLEET + 1)
    assert "confirm=True" in e.value.fix and state.runs() == []


# -- fleets ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("devices,seed", [(40, 0), (120, 1), (300, 2)])
def test_fleet_audit_matches_the_ground_truth_for_every_check(sandbox, devices, seed):
    built = fleet.build_fleet(devices, seed)
    assert set(built.expected_findings) == set(CHECK_NAMES)
    assert len(built.things) == devices
    # every check has something to find (the age check: the certificates bulk-registered with an old registeredAt)
    assert {c for c, found in built.expected_findings.items() if not found} == set()
    configure_audit(sandbox.iot, sandbox.client("iam"), list(CHECK_NAMES))
    task_id, result = run_audit(sandbox.iot, CHECK_NAMES)
    assert fleet.compare_findings(built.expected_findings, task_id) == {}
    for check, details in result["auditDetails"].items():
        assert details["nonCompliantResourcesCount"] == len(built.expected_findings[check]), check


def test_fleet_plan_is_deterministic_per_seed():
    def layout(plan: fleet.FleetPlan) -> list[tuple[str, str, str]]:
        return [(d.scenario, d.cert, d.policy) for d in plan.devices]

    assert layout(fleet.plan_fleet(200, 7, "r")) == layout(fleet.plan_fleet(200, 7, "r"))
    counts = {tuple(sorted(fleet.plan_fleet(200, s, "r").scenario_counts().items())) for s in range(6)}
    assert len(counts) > 1, "different seeds should give different mixes"
    plan = fleet.plan_fleet(200, 7, "r")
    assert sum(plan.scenario_counts().values()) == 200 and plan.scenario_counts()["healthy"] > 150


def test_fleet_too_small_for_its_scenarios_is_refused():
    with pytest.raises(WorkshopError) as e:
        fleet.plan_fleet(10, 0, "r")
    assert "at least" in e.value.problem


def test_fleet_certificates_are_ec_p256_except_the_weak_ones(sandbox):
    plan = fleet.plan_fleet(40, 3, "r")
    pki = fleet.make_pki(plan)
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from helpers.sandbox.keyquality import key_vulnerabilities

    for key, issued in pki.device_certs.items():
        public = issued.cert.public_key()
        if plan.certs[key].weak:
            assert isinstance(public, rsa.RSAPublicKey) and key_vulnerabilities(public)
        else:
            assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    assert key_vulnerabilities(pki.weak_ca.cert.public_key()) == ["CERTIFICATE_KEY_VULNERABILITY_CVE-2017-15361"]


def test_fleet_connection_history_is_outside_the_last_two_hours():
    plan = fleet.plan_fleet(60, 4, "r")
    built = fleet.Fleet("r", 4, plan, {k: k for k in plan.certs}, {}, {}, {})
    now = 2_000_000_000.0
    events = fleet.fleet_sessions(built, now)
    assert max(e["disconnectedAt"] for e in events) < now - 2 * 3600
    assert len({e["clientId"] for e in events}) == len(plan.devices) - len(plan.conflicts)
