"""Least privilege of the roles the workshop creates: trusted by iot.amazonaws.com only, for this account and region
only (aws:SourceAccount + aws:SourceArn), each carrying exactly the AWS managed policy its job needs and nothing
inline; and the trust checks flag roles that are wider than that."""
from __future__ import annotations

import json

import moto.iam.models
import pytest

from helpers import fleet, mitigation, roles, settings
from helpers.spec.actions import ACTION_TYPES

ACCOUNT = "123456789012"
SOURCE_ARN = f"arn:aws:iot:us-east-1:{ACCOUNT}:*"
EXPECTED_TRUST = [{"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                 "ArnLike": {"aws:SourceArn": SOURCE_ARN}}}]
MANAGED = "arn:aws:iam::aws:policy/service-role/"


def assert_least_privilege(iam, role_arn: str, policy_name: str) -> None:
    """Assert the role's trust policy is the workshop's and it carries exactly ``policy_name``, nothing inline."""
    name = role_arn.rsplit("/", 1)[-1]
    role = iam.get_role(RoleName=name)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == EXPECTED_TRUST, name
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    assert attached == [MANAGED + policy_name], (name, attached)
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == [], name
    assert roles.trust_problems(role["AssumeRolePolicyDocument"], ACCOUNT, "us-east-1") == []


def test_the_trust_policy_is_the_documented_confused_deputy_form():
    assert roles.trust_policy(ACCOUNT, "eu-west-1", "aws-cn")["Statement"] == [{
        "Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                      "ArnLike": {"aws:SourceArn": f"arn:aws-cn:iot:eu-west-1:{ACCOUNT}:*"}}}]
    assert roles.partition_of("cn-north-1") == "aws-cn" and roles.partition_of("us-east-1") == "aws"


@pytest.mark.parametrize("policy", sorted({info.managed_policy for info in ACTION_TYPES.values()}
                                          | {settings.AUDIT_POLICY_NAME, settings.SNS_POLICY_NAME, "AWSIoTLogging"}))
def test_every_managed_policy_the_workshop_attaches_exists(policy):
    data = json.loads(moto.iam.models.aws_managed_policies_data)
    assert policy in data and data[policy]["Path"] == "/service-role/"


def test_module1_roles(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    iam = sandbox.client("iam")
    assert_least_privilege(iam, env.audit_role_arn, settings.AUDIT_POLICY_NAME)
    assert_least_privilege(iam, env.sns_role_arn, settings.SNS_POLICY_NAME)
    assert all(iam.get_role(RoleName=a.rsplit("/", 1)[-1])["Role"]["Path"] == fleet.ROLE_PATH
               for a in (env.audit_role_arn, env.sns_role_arn))


def test_settings_roles(sandbox):
    iam = sandbox.client("iam")
    assert_least_privilege(iam, settings.create_audit_role(), settings.AUDIT_POLICY_NAME)
    assert_least_privilege(iam, settings.create_sns_alert_role(), settings.SNS_POLICY_NAME)
    arn, steps = settings.ensure_service_role("IoTLoggingRole-workshop", "AWSIoTLogging", "IoT logs.")
    assert_least_privilege(iam, arn, "AWSIoTLogging")
    assert "aws:SourceAccount and aws:SourceArn" in steps[0]
    assert settings.inspect_role(arn, required_actions=[]).trust_problems == []


@pytest.mark.parametrize("kind", list(ACTION_TYPES))
def test_each_mitigation_role_carries_only_its_managed_policy(sandbox, kind):
    arn = mitigation.create_mitigation_role(kind)
    assert_least_privilege(sandbox.client("iam"), arn, ACTION_TYPES[kind].managed_policy)


@pytest.mark.parametrize("statement, needle", [
    ({"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"},
     "no aws:SourceAccount condition"),
    ({"Effect": "Allow", "Principal": {"Service": ["iot.amazonaws.com", "lambda.amazonaws.com"]},
      "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}},
     "also trusts Service:lambda.amazonaws.com"),
    ({"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole",
      "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}, "not this account"),
    ({"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:*",
      "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                    "ArnLike": {"aws:SourceArn": "arn:aws:iot:us-east-1:111122223333:*"}}},
     "is not AWS IoT in this account"),
    ({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, "also trusts *"),
    ({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
     "iot.amazonaws.com cannot assume it"),
])
def test_trust_problems_flag_wider_trust(statement, needle):
    problems = roles.trust_problems({"Version": "2012-10-17", "Statement": [statement]}, ACCOUNT, "us-east-1")
    assert any(needle in p for p in problems), problems


def test_the_checks_flag_a_role_that_trusts_more(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    iam = sandbox.client("iam")
    name = env.audit_role_arn.rsplit("/", 1)[-1]
    wide = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "iot.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(wide))
    table = fleet.verify_workshop_environment(env).set_index("item")
    row = table.loc[f"role {name} trust"]
    assert row["ok"] == "✗" and "no aws:SourceAccount" in row["actual"] and f"AWS:arn:aws:iam::{ACCOUNT}:root" in \
        row["actual"]
    report = settings.inspect_role(env.audit_role_arn)
    assert report.usable and report.trust_problems  # still works for IoT, but flagged
    trusted = {r.requirement: r for r in settings.validate_audit_settings(sns_alerts=False).requirements}[
        "audit role is trusted by IoT"]
    assert "warning: " in trusted.detail and "confused deputy" in trusted.detail
    steps = settings.ensure_service_role(name, settings.AUDIT_POLICY_NAME, "reuse")[1]
    assert any(s.startswith("Warning: the trust policy") for s in steps)
