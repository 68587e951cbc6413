"""helpers.settings against the in-process sandbox: the settings table, the validation of the workshop's needs with
a fix per gap, enabling/disabling checks, SNS alerts, first-time setup (with the daily scheduled audit) and the
confirmation guard for real accounts."""
from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from helpers import audits, settings, target
from helpers.checks import ORIGINAL_14
from helpers.errors import WorkshopError, aws_error, error_code
from tests.builders import AUDIT_POLICY, SNS_POLICY, make_role

LOGGING = "LOGGING_DISABLED_CHECK"
SHARED = "DEVICE_CERTIFICATE_SHARED_CHECK"


@pytest.fixture
def real_account(monkeypatch):
    """Pretend the target is a real account for the confirmation guards (clients still reach the sandbox)."""
    monkeypatch.setattr(target, "is_sandbox", lambda: False)


def rows(validation) -> dict[str, settings.Requirement]:
    return {r.requirement: r for r in validation.requirements}


def test_a_fresh_account_fails_validation_with_a_fix_for_each_gap(sandbox):
    result = settings.validate_audit_settings()
    assert not result.ok
    by_name = rows(result)
    assert by_name["audit role is set"].ok is False and "configure_audit()" in by_name["audit role is set"].fix
    checks = by_name["14 audit checks are enabled"]
    assert checks.ok is False and "14 disabled" in checks.detail and checks.fix.startswith("settings.enable_checks([")
    sns = by_name["SNS alerts are enabled"]
    assert sns.ok is False and "configure_sns_alerts()" in sns.fix
    text = str(result)
    assert text.startswith("Audit settings need fixing:") and "✗ audit role is set" in text and "fix: " in text
    frame = result.frame()
    assert list(frame.columns) == ["ok", "requirement", "detail", "fix"] and set(frame["ok"]) == {"✗"}
    assert "#D55E00" in result._repr_html_()  # ✗ in vermillion
    with pytest.raises(WorkshopError, match="not configured"):
        settings.enable_checks([LOGGING])
    with pytest.raises(WorkshopError, match="not configured"):
        settings.configure_sns_alerts()
    assert settings.delete_audit_configuration().steps == ["Nothing to delete: audit was never configured."]


def test_first_time_configuration_like_the_console(sandbox):
    iam, iot = sandbox.client("iam"), sandbox.iot
    outcome = settings.configure_audit()
    text = str(outcome)
    assert "Created IAM role IoTDeviceDefenderAuditRole" in text and "AWSIoTDeviceDefenderAudit" in text
    assert "14 checks enabled" in text
    assert "Created the scheduled audit AWSIoTDeviceDefenderDailyAudit" in text and "console" in text
    assert outcome.data == {"roleArn": "arn:aws:iam::123456789012:role/IoTDeviceDefenderAuditRole",
                            "checkNames": list(ORIGINAL_14), "dailyAudit": "AWSIoTDeviceDefenderDailyAudit"}
    assert "<li>" in outcome._repr_html_()

    trust = iam.get_role(RoleName="IoTDeviceDefenderAuditRole")["Role"]["AssumeRolePolicyDocument"]
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "iot.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                      "ArnLike": {"aws:SourceArn": "arn:aws:iot:us-east-1:123456789012:*"}}
    attached = iam.list_attached_role_policies(RoleName="IoTDeviceDefenderAuditRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [AUDIT_POLICY]
    daily = iot.describe_scheduled_audit(scheduledAuditName="AWSIoTDeviceDefenderDailyAudit")
    assert daily["frequency"] == "DAILY" and sorted(daily["targetCheckNames"]) == sorted(ORIGINAL_14)
    assert settings.enabled_checks() == sorted(ORIGINAL_14)
    assert settings.validate_audit_settings(sns_alerts=False).ok

    again = str(settings.configure_audit())  # idempotent: reuses the role, leaves the daily audit alone
    assert "Reused the existing IAM role" in again and "already exists and was left as it is" in again
    assert "(0 newly)" in again


def test_configuration_with_a_given_role_checks_it_first(sandbox):
    iam = sandbox.client("iam")
    good = make_role(iam, "GoodRole")
    no_policy = make_role(iam, "NoPolicy", managed=None)
    untrusted = make_role(iam, "Untrusted", trust={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for role, needle in [(no_policy, "does not allow iot:GetLoggingOptions"), (untrusted, "does not trust"),
                         ("arn:aws:iam::123456789012:role/Missing", "does not exist"),
                         ("not-an-arn", "not an IAM role ARN")]:
        with pytest.raises(WorkshopError, match=needle) as e:
            settings.configure_audit(role_arn=role, check_names=[LOGGING])
        assert "fix" not in e.value.problem.lower() and e.value.fix
    assert not settings.describe_audit_settings().configured  # nothing changed
    outcome = settings.configure_audit(role_arn=good, check_names=["logging disabled"], daily_audit=False)
    assert f"Using the audit role {good}" in str(outcome) and "scheduled audit" not in str(outcome)
    assert settings.describe_audit_settings().role_arn == good
    assert audits.list_scheduled_audits().empty


def test_an_equivalent_inline_policy_counts_and_gaps_are_found(sandbox):
    iam = sandbox.client("iam")
    role = make_role(iam, "InlineRole", managed=None)
    iam.put_role_policy(RoleName="InlineRole", PolicyName="audit", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(settings.AUDIT_POLICY_ACTIONS),
                                                "Resource": "*"}]}))
    settings.configure_audit(role_arn=role, check_names=[LOGGING], daily_audit=False)
    carries = rows(settings.validate_audit_settings(check_names=[LOGGING], sns_alerts=False))[
        "audit role carries AWSIoTDeviceDefenderAudit"]
    assert carries.ok and "allows everything AWSIoTDeviceDefenderAudit allows" in carries.detail

    iam.put_role_policy(RoleName="InlineRole", PolicyName="deny-iam", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]}))
    carries = rows(settings.validate_audit_settings(check_names=[LOGGING], sns_alerts=False))[
        "audit role carries AWSIoTDeviceDefenderAudit"]
    assert carries.ok is False and "lacks iam:ListRolePolicies" in carries.detail and "and 4 more" in carries.detail
    assert "Attach the AWS managed policy AWSIoTDeviceDefenderAudit to InlineRole" in carries.fix

    iam.update_assume_role_policy(RoleName="InlineRole", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                "Action": "sts:AssumeRole"}]}))
    trusted = rows(settings.validate_audit_settings(check_names=[LOGGING], sns_alerts=False))[
        "audit role is trusted by IoT"]
    assert trusted.ok is False and "does not trust iot.amazonaws.com" in trusted.detail

    for name in ("audit", "deny-iam"):
        iam.delete_role_policy(RoleName="InlineRole", PolicyName=name)
    iam.delete_role(RoleName="InlineRole")
    exists = rows(settings.validate_audit_settings(check_names=[LOGGING], sns_alerts=False))["audit role exists"]
    assert exists.ok is False and "not found" in exists.detail


def test_create_audit_role_completes_an_existing_role_and_refuses_an_untrusted_one(sandbox):
    iam = sandbox.client("iam")
    make_role(iam, "Bare", managed=None)
    arn = settings.create_audit_role("Bare")
    assert arn.endswith(":role/Bare")
    assert settings.inspect_role(arn).usable
    make_role(iam, "ForLambda", managed=None, trust={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    with pytest.raises(WorkshopError, match="does not trust iot.amazonaws.com") as e:
        settings.create_audit_role("ForLambda")
    assert "another role_name" in e.value.fix


def test_a_refused_role_creation_names_the_permissions(sandbox, monkeypatch):
    real_iam = target.client("iam")

    class NoCreate:
        def create_role(self, **_):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "CreateRole")

        def __getattr__(self, name):
            return getattr(real_iam, name)

    real = target.client
    monkeypatch.setattr(target, "client", lambda service: NoCreate() if service == "iam" else real(service))
    with pytest.raises(WorkshopError, match="Could not create the IAM role") as e:
        settings.configure_audit()
    assert e.value.code == "AccessDenied" and "iam:CreateRole" in e.value.fix


def test_iam_that_cannot_be_read_is_reported_not_raised(sandbox, monkeypatch):
    settings.configure_audit(check_names=[LOGGING], daily_audit=False)

    class NoIam:
        def get_role(self, **_):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "GetRole")

    real = target.client
    monkeypatch.setattr(target, "client", lambda service: NoIam() if service == "iam" else real(service))
    row = rows(settings.validate_audit_settings(check_names=[LOGGING], sns_alerts=False))["audit role can be read"]
    assert row.ok is None and "AccessDenied" in row.detail and "iam:GetRole" in row.fix
    assert "? audit role can be read" in str(settings.validate_audit_settings(check_names=[LOGGING], sns_alerts=False))


def test_enable_and_disable_checks(sandbox):
    settings.configure_audit(check_names=[LOGGING], daily_audit=False)
    outcome = settings.enable_checks([SHARED, LOGGING, "device certificate expiring"])
    assert outcome.data == {"enabled": [SHARED, "DEVICE_CERTIFICATE_EXPIRING_CHECK"]}
    assert "Already enabled: LOGGING_DISABLED_CHECK." in outcome.steps
    with pytest.raises(WorkshopError, match="Unknown audit check name") as e:
        settings.enable_checks(["LOGGING_DISABLED", "SHARED_CERT", "NOPE_CHECK"])
    assert "did you mean DEVICE_CERTIFICATE_SHARED_CHECK" in e.value.problem

    audits.create_scheduled_audit("Weekly", frequency="WEEKLY", day_of_week="MON", check_names=[SHARED])
    with pytest.raises(WorkshopError, match="Scheduled audits still run these checks") as e:
        settings.disable_checks([SHARED, LOGGING])
    assert "DEVICE_CERTIFICATE_SHARED_CHECK by Weekly" in e.value.problem
    assert "audits.update_scheduled_audit('Weekly'" in e.value.fix
    assert SHARED in settings.enabled_checks() and LOGGING in settings.enabled_checks()  # nothing changed
    outcome = settings.disable_checks(["DEVICE_CERTIFICATE_EXPIRING_CHECK", "DEVICE_CERTIFICATE_AGE_CHECK"])
    assert outcome.data == {"disabled": ["DEVICE_CERTIFICATE_EXPIRING_CHECK"]}
    assert settings.disable_checks(["DEVICE_CERTIFICATE_AGE_CHECK"]).steps == ["Nothing to do: already disabled."]


def test_settings_table(sandbox):
    settings.configure_audit(check_names=[LOGGING, SHARED], daily_audit=False)
    frame = settings.list_audit_settings()
    assert list(frame.columns) == ["check", "title", "severity", "enabled", "resource type", "configuration"]
    assert len(frame) == 17 and list(frame["check"][:2]) == [SHARED, LOGGING]  # enabled first, then by severity
    assert frame["enabled"].sum() == 2
    table = settings.audit_settings_table()
    assert "Device certificate shared" in repr(table) and "Styler" not in repr(table)
    html = table.to_html()
    assert "Audit role: arn:aws:iam::123456789012:role/IoTDeviceDefenderAuditRole" in html and "SNS alerts: off" in html


def test_sns_alerts(sandbox):
    sns, iam = sandbox.client("sns"), sandbox.client("iam")
    settings.configure_audit(check_names=[LOGGING], daily_audit=False)
    outcome = settings.configure_sns_alerts()
    assert outcome.data == {"targetArn": "arn:aws:sns:us-east-1:123456789012:BadDevices",
                            "roleArn": "arn:aws:iam::123456789012:role/IoTDeviceDefenderAuditSNSRole"}
    attached = iam.list_attached_role_policies(RoleName="IoTDeviceDefenderAuditSNSRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [SNS_POLICY]
    assert settings.validate_audit_settings(check_names=[LOGGING]).ok

    with pytest.raises(WorkshopError, match="does not exist") as e:
        settings.configure_sns_alerts("arn:aws:sns:us-east-1:123456789012:Nope")
    assert "leave topic_arn out" in e.value.fix
    topic = sns.create_topic(Name="Other")["TopicArn"]
    mute = make_role(iam, "Mute", managed=None)
    with pytest.raises(WorkshopError, match="does not allow sns:Publish"):
        settings.configure_sns_alerts(topic, mute)
    publisher = make_role(iam, "Publisher", managed=SNS_POLICY)
    settings.configure_sns_alerts(topic, publisher)
    assert settings.describe_audit_settings().sns == {"targetArn": topic, "roleArn": publisher, "enabled": True}

    sns.delete_topic(TopicArn=topic)
    by_name = rows(settings.validate_audit_settings(check_names=[LOGGING]))
    assert by_name["SNS topic exists"].ok is False and "not found" in by_name["SNS topic exists"].detail
    assert "Audits no longer publish" in str(settings.disable_sns_alerts())
    assert str(settings.disable_sns_alerts()).endswith("SNS alerts were already off.")
    assert rows(settings.validate_audit_settings(check_names=[LOGGING]))["SNS alerts are enabled"].ok is False


def test_replacing_and_deleting_in_a_real_account_need_confirm(sandbox, real_account):
    iam = sandbox.client("iam")
    settings.configure_audit(check_names=[LOGGING], daily_audit=False)  # writes are fine without confirm
    settings.configure_sns_alerts()
    other = make_role(iam, "OtherAuditRole")
    with pytest.raises(WorkshopError, match="would change your real AWS account") as e:
        settings.set_audit_role(other)
    assert "replacing the audit role" in e.value.problem and "confirm=True" in e.value.fix
    with pytest.raises(WorkshopError, match="real AWS account"):
        settings.configure_audit(role_arn=other, check_names=[LOGGING], daily_audit=False)
    with pytest.raises(WorkshopError, match="real AWS account"):
        settings.configure_sns_alerts(role_name="AnotherSNSRole")
    with pytest.raises(WorkshopError, match="real AWS account"):
        settings.delete_audit_configuration()
    assert settings.describe_audit_settings().role_arn.endswith("/IoTDeviceDefenderAuditRole")  # nothing replaced

    assert "now audits as" in str(settings.set_audit_role(other, confirm=True))
    assert settings.describe_audit_settings().role_arn == other
    back = settings.configure_audit(check_names=[LOGGING], daily_audit=False, confirm=True)
    assert f"Replaced the previous audit role {other}." in back.steps
    settings.set_audit_role(other, confirm=True)
    audits.create_scheduled_audit("Daily", frequency="DAILY", check_names=[LOGGING])
    with pytest.raises(WorkshopError, match="deleteScheduledAudits|delete_scheduled_audits") as e:
        settings.delete_audit_configuration(confirm=True)
    assert e.value.code == "InvalidRequestException"
    outcome = settings.delete_audit_configuration(delete_scheduled_audits=True, confirm=True)
    assert "Scheduled audits were deleted." in outcome.steps[0]
    assert not settings.describe_audit_settings().configured


def test_aws_error_keeps_the_code():
    exc = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "ListAuditTasks")
    err = aws_error(exc, "Listing failed.", "Try again.")
    assert err.code == "ThrottlingException" and "AWS said ThrottlingException: slow down" in err.problem
    assert err.__cause__ is exc and error_code(exc) == "ThrottlingException"
