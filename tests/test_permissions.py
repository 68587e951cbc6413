"""The attendee IAM policy (iam/attendee-policy.json): valid, least privilege, and covering every operation the
notebooks make (iam/notebook-operations.json, recorded from a sandbox run, plus the aws-mode-only ones)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import botocore.session
import pytest

from helpers import fleet, mitigation, permissions, settings
from helpers.spec.actions import ACTION_TYPES
from helpers.spec.policies import resource_matches

ROOT = Path(__file__).resolve().parent.parent
POLICY = json.loads((ROOT / "iam/attendee-policy.json").read_text())
RECORDED_JSON = json.loads((ROOT / "iam/notebook-operations.json").read_text())
RECORDED = [(o["service"], o["operation"]) for o in RECORDED_JSON]
EVERYTHING = RECORDED + list(permissions.AWS_ONLY_OPERATIONS) + list(permissions.UNRECORDED_OPERATIONS)


def statements(action: str) -> list[dict]:
    """Return the statements of the attendee policy that name ``action``."""
    return [st for st in POLICY["Statement"] if action in st["Action"]]


def test_the_policy_is_a_valid_customer_managed_policy():
    assert POLICY["Version"] == "2012-10-17"
    sids = [st["Sid"] for st in POLICY["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids)
    assert all(st["Effect"] == "Allow" and isinstance(st["Action"], list) for st in POLICY["Statement"])
    assert len(json.dumps(POLICY, separators=(",", ":"))) <= 6144  # IAM's limit for a managed policy


def test_no_wildcard_actions():
    for st in POLICY["Statement"]:
        assert "NotAction" not in st
        for action in st["Action"]:
            service, _, name = action.partition(":")
            assert action != "*" and name and "*" not in action and "?" not in action, action


def test_passrole_only_for_the_workshop_roles_and_only_to_iot():
    (st,) = statements("iam:PassRole")
    assert st["Action"] == ["iam:PassRole"]
    assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "iot.amazonaws.com"}}
    assert "*" not in st["Resource"] and all(":role/" in r for r in st["Resource"])


def test_iam_writes_only_on_the_workshop_roles_and_only_the_workshop_managed_policies():
    roles = next(st["Resource"] for st in statements("iam:PassRole"))
    for action in ("iam:CreateRole", "iam:TagRole", "iam:DeleteRole", "iam:DetachRolePolicy",
                   "iam:DeleteRolePolicy", "iam:AttachRolePolicy"):
        (st,) = statements(action)
        assert st["Resource"] == roles, action
    (attach,) = statements("iam:AttachRolePolicy")
    allowed = {a.rsplit("/", 1)[-1] for a in attach["Condition"]["ArnEquals"]["iam:PolicyARN"]}
    used = {info.managed_policy for info in ACTION_TYPES.values()} | {settings.AUDIT_POLICY_NAME, settings.SNS_POLICY_NAME,
                                                                 "AWSIoTLogging"}
    assert allowed == used
    assert not any(a.startswith("iam:Put") or a in ("iam:CreatePolicy", "iam:UpdateAssumeRolePolicy")
                   for st in POLICY["Statement"] for a in st["Action"])


def test_the_role_and_topic_patterns_cover_what_the_workshop_creates(sandbox):
    env = fleet.build_workshop_environment(connect=False)
    arns = [env.audit_role_arn, env.sns_role_arn, settings.create_audit_role(), settings.create_sns_alert_role(),
            settings.ensure_service_role("IoTLoggingRole-workshop", "AWSIoTLogging", "IoT logs")[0]]
    arns += [mitigation.create_mitigation_role(kind) for kind in ACTION_TYPES]
    patterns = statements("iam:PassRole")[0]["Resource"]
    for arn in arns:
        assert any(resource_matches(p, arn) for p in patterns), arn
    (topic,) = statements("sns:CreateTopic")
    assert resource_matches(topic["Resource"], env.sns_topic_arn)
    assert not any(resource_matches(p, "arn:aws:iam::123456789012:role/SomeoneElsesRole") for p in patterns)


def test_the_policy_covers_every_operation_of_the_notebooks():
    assert permissions.missing_actions(POLICY, EVERYTHING) == []
    assert permissions.missing_actions(POLICY, RECORDED_JSON) == []  # the sandbox's own list form works too


def test_the_policy_grants_nothing_the_notebooks_do_not_need():
    granted = {a for st in POLICY["Statement"] for a in st["Action"]}
    assert granted == permissions.required_actions(EVERYTHING)


@pytest.mark.parametrize("sid", [st["Sid"] for st in POLICY["Statement"]])
def test_every_statement_is_needed(sid):
    trimmed = copy.deepcopy(POLICY)
    trimmed["Statement"] = [st for st in trimmed["Statement"] if st["Sid"] != sid]
    assert permissions.missing_actions(trimmed, EVERYTHING) != []


def test_the_recorded_list_is_sorted_service_and_operation_only():
    assert all(set(o) == {"service", "operation"} and o["operation"] != "?" for o in RECORDED_JSON)
    assert RECORDED == sorted(set(RECORDED))
    assert set(permissions.SANDBOX_ONLY_OPERATIONS) <= set(RECORDED)  # observed, deliberately not granted
    groups = [set(permissions.AWS_ONLY_OPERATIONS), set(permissions.UNRECORDED_OPERATIONS),
              set(permissions.SANDBOX_ONLY_OPERATIONS)]
    assert all(not (a & b) for i, a in enumerate(groups) for b in groups[i + 1:])


def test_sandbox_only_operations_are_not_granted():
    missing = permissions.missing_actions(POLICY, RECORDED, include_sandbox_only=True)
    assert "iam:PutRolePolicy" in missing and "iot:CreateRoleAlias" in missing


def test_iam_action_names():
    assert permissions.iam_action("iot", "ListThings") == "iot:ListThings"
    assert permissions.iam_action("cognito-identity", "GetIdentityPoolRoles") == "cognito-identity:GetIdentityPoolRoles"
    assert permissions.iam_action("iot", "ListThingPrincipalsV2") == "iot:ListThingPrincipals"
    assert permissions.iam_action("iotdata", "Publish") == "iot:Publish"
    assert permissions.iam_action("iot", "AttachPrincipalPolicy") == "iot:AttachPrincipalPolicy"


def test_iot_actions_match_the_documented_ones():
    """botocore's iot model documents each operation's action: "Requires permission to access the X action"."""
    model = botocore.session.get_session().get_service_model("iot")
    documented = {}
    for op in model.operation_names:
        found = re.findall(r"Requires permission to access the\s*(?:<a[^>]*>)?\s*(\w+)\s*(?:</a>)?\s*action",
                           model.operation_model(op).documentation or "")
        if found:
            documented[op] = "iot:" + found[0]
    for (service, op), action in permissions.OPERATION_ACTIONS.items():
        assert documented[op] == action
    for service, op in EVERYTHING:
        if service == "iot" and op in documented:
            assert permissions.iam_action(service, op) == documented[op], op


def test_required_actions_rules():
    ops = [("iot", "?"), ("sts", "GetCallerIdentity"), {"service": "iot", "operation": "CreateMitigationAction"},
           ("iot", "CreateRoleAlias")]
    assert permissions.required_actions(ops) == {"iot:CreateMitigationAction", "iam:PassRole", "iot:TagResource"}
    assert "iot:CreateRoleAlias" in permissions.required_actions(ops, include_sandbox_only=True)


def test_missing_actions_reads_wildcards_notaction_and_deny():
    ops = [("iot", "ListThings"), ("iot", "DescribeThing")]
    assert permissions.missing_actions({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iot:List*", "Resource": "arn:aws:iot:*:*:thing/x"}]}, ops) == [
        "iot:DescribeThing"]
    assert permissions.missing_actions({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "NotAction": "iot:Describe*", "Resource": "*"}]}, ops) == ["iot:DescribeThing"]
    assert permissions.missing_actions({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "iot:listthings", "Resource": "*"}]}, ops) == ["iot:ListThings"]
