"""The Cognito-role and role-alias checks on hand-built snapshots (reference §1.4, Device Defender guide examples)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from helpers.spec.checks import CHECKS
from helpers.sandbox.checks.base import CheckResult
from helpers.sandbox.checks.identities import (THING_ADMIN_READ_ACTIONS, THING_ADMIN_WRITE_ACTIONS,
                                               authenticated_cognito_role_overly_permissive, iot_actions,
                                               iot_role_alias_allows_access_to_unused_services,
                                               iot_role_alias_overly_permissive,
                                               unauthenticated_cognito_role_overly_permissive)
from helpers.sandbox.snapshot import CognitoPoolInfo, RoleAliasInfo, RoleInfo, Snapshot
from tests.shapes import _check, iot_model

A = "arn:aws:iot:region:account-id:"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/device-role"
POOL = "us-east-1:11111111-2222-3333-4444-555555555555"
ALIAS = f"arn:aws:iot:us-east-1:{ACCOUNT}:rolealias/device-alias"
SHADOW_AND_JOBS = ["iot:DeleteThingShadow", "iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DescribeJobExecution",
                   "iot:GetPendingJobExecutions", "iot:StartNextPendingJobExecution", "iot:UpdateJobExecution"]


def doc(*statements: dict) -> str:
    """Return a policy document with the given statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    """Return an Allow statement."""
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    """Return a Deny statement."""
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def role(*documents: str, arn: str = ROLE) -> RoleInfo:
    """Return a role with the given permission policy documents."""
    return RoleInfo(arn, arn.rsplit("/", 1)[-1], "{}", tuple(documents))


def snapshot(roles=(), pools=(), aliases=()) -> Snapshot:
    """Return a snapshot with just roles, Cognito pools and role aliases."""
    return Snapshot(ACCOUNT, "us-east-1", datetime.now(timezone.utc), roles={r.arn: r for r in roles},
                    cognito_pools=list(pools), role_aliases=list(aliases))


def pool(unauth: str | None = None, auth: str | None = None, recent: bool = True, pool_id: str = POOL):
    """Return a Cognito pool."""
    return CognitoPoolInfo(pool_id, auth, unauth, recent)


def alias(used: set[str], role_arn: str = ROLE, arn: str = ALIAS) -> RoleAliasInfo:
    """Return a role alias that used ``used`` services."""
    return RoleAliasInfo(arn.rsplit("/", 1)[-1], arn, role_arn, frozenset(used))


def assert_well_formed(result: CheckResult, check: str) -> None:
    """Fail when a finding disagrees with the botocore shapes or the catalog."""
    spec = CHECKS[check]
    for f in result.findings:
        problems: list[str] = []
        _check(iot_model().shape_for("ResourceIdentifier"), f.resource_identifier, "resourceIdentifier", problems)
        for i, related in enumerate(f.related_resources):
            _check(iot_model().shape_for("RelatedResource"), related, f"relatedResources[{i}]", problems)
        assert not problems, problems
        assert f.resource_type == spec.resource_type and list(f.resource_identifier) == [spec.identifier]
        assert f.reason_code in spec.reason_codes and f.reason


def run(check, name: str, snap: Snapshot) -> str | None:
    """Return the reason code of the single finding of ``check`` on ``snap`` (None when compliant)."""
    result = check(snap)
    assert_well_formed(result, name)
    assert len(result.findings) <= 1
    return result.findings[0].reason_code if result.findings else None


# --- unauthenticated Cognito role ---------------------------------------------------------------------------

UNAUTH = "UNAUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"
ADMIN = "ALLOWS_ACCESS_TO_IOT_ADMIN_ACTIONS"
DATA_PLANE = "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"

UNAUTHENTICATED = [
    *[(f"thing write {a} on one thing", doc(allow(a, A + "thing/MyThing")), ADMIN) for a in THING_ADMIN_WRITE_ACTIONS],
    ("thing reads even on one thing (guide)", doc(allow(list(THING_ADMIN_READ_ACTIONS), A + "/thing/MyThing")), ADMIN),
    ("non-thing admin", doc(allow("iot:CreatePolicy")), ADMIN),
    ("iot:Delete*", doc(allow("iot:Delete*", A + "thing/x")), ADMIN),
    ("iot:*", doc(allow("iot:*")), ADMIN),
    ("*", doc(allow("*")), ADMIN),
    ("NotAction excluding one IoT action",
     doc({"Effect": "Allow", "NotAction": "iot:Connect", "Resource": "*"}), ADMIN),
    ("NotAction excluding IoT", doc({"Effect": "Allow", "NotAction": "iot:*", "Resource": "*"}), None),
    ("connect client/*", doc(allow("iot:Connect", A + "client/*")), DATA_PLANE),
    ("connect ClientId without IsAttached", doc(allow("iot:Connect", A + "client/${iot:ClientId}")), DATA_PLANE),
    ("publish any shadow", doc(allow("iot:Publish", A + "topic/$aws/things/*/shadow/update")), DATA_PLANE),
    ("subscribe +", doc(allow("iot:Subscribe", A + "topicfilter/$aws/things/+/shadow/update")), DATA_PLANE),
    ("shadow APIs on thing/*", doc(allow(SHADOW_AND_JOBS, A + "thing/*")), DATA_PLANE),
    ("shadow APIs on explicit things (guide)", doc(allow(SHADOW_AND_JOBS, [A + "/thing/MyThing1",
                                                                           A + "/thing/MyThing2"])), None),
    ("shadow APIs scoped by Cognito identity",
     doc(allow("iot:GetThingShadow", A + "thing/${cognito-identity.amazonaws.com:sub}")), None),
    ("receive with wildcards", doc(allow("iot:Receive", A + "topicfilter/$aws/things/*")), None),
    ("retained message reads are not admin", doc(allow(["iot:GetRetainedMessage", "iot:ListRetainedMessages"],
                                                       A + "topic/app/*")), None),
    ("other services only", doc(allow(["s3:GetObject", "dynamodb:*"])), None),
    ("deny of all IoT", doc(allow("iot:*"), deny("iot:*")), None),
    ("deny of the written resource", doc(allow("iot:UpdateThing", A + "thing/*"),
                                         deny("iot:UpdateThing", A + "thing/*")), None),
    ("deny of one thing leaves the rest", doc(allow("iot:UpdateThing", A + "thing/*"),
                                              deny("iot:UpdateThing", A + "thing/a")), ADMIN),
    ("conditional deny removes nothing",
     doc(allow("iot:ListThings"), deny("iot:ListThings", Condition={"Bool": {"aws:SecureTransport": "false"}})),
     ADMIN),
    ("NotResource Allow", doc({"Effect": "Allow", "Action": "iot:ListThings", "NotResource": A + "thing/x"}), ADMIN),
    ("unknown IoT action named explicitly", doc(allow("iot:SomeFutureAdminAction")), ADMIN),
    ("admin beats data plane", doc(allow(["iot:CreateThing", "iot:Connect"])), ADMIN),
]


@pytest.mark.parametrize("document, expected", [c[1:] for c in UNAUTHENTICATED], ids=[c[0] for c in UNAUTHENTICATED])
def test_unauthenticated_role(document, expected):
    snap = snapshot([role(document)], [pool(unauth=ROLE)])
    assert run(unauthenticated_cognito_role_overly_permissive, UNAUTH, snap) == expected


def test_unauthenticated_finding_names_the_pool_the_role_and_every_code():
    snap = snapshot([role(doc(allow(["iot:CreateThing", "iot:Connect"])))], [pool(unauth=ROLE)])
    (f,) = unauthenticated_cognito_role_overly_permissive(snap).findings
    assert f.resource_type == "COGNITO_IDENTITY_POOL" and f.resource_identifier == {"cognitoIdentityPoolId": POOL}
    assert f.related_resources == [{"resourceType": "IAM_ROLE", "resourceIdentifier": {"iamRoleArn": ROLE}}]
    assert f.reason == ("Role allows access to IoT admin actions: [iot:CreateThing]. "
                        "Role allows broad access to IoT data plane actions: [iot:Connect].")


def test_long_action_lists_are_cut():
    snap = snapshot([role(doc(allow("iot:*")))], [pool(unauth=ROLE)])
    (f,) = unauthenticated_cognito_role_overly_permissive(snap).findings
    assert "more]." in f.reason and len(f.reason) < 1000


def test_cognito_scope_and_counting():
    other = f"arn:aws:iam::{ACCOUNT}:role/other"
    snap = snapshot([role(doc(allow("iot:*"))), role(doc(allow("s3:GetObject")), arn=other)], [
        pool(unauth=ROLE, pool_id="us-east-1:a"),  # counted, non-compliant
        pool(unauth=ROLE, recent=False, pool_id="us-east-1:b"),  # did not connect: not audited
        pool(unauth=None, pool_id="us-east-1:c"),  # no unauthenticated role: counted, compliant
        pool(unauth=f"arn:aws:iam::{ACCOUNT}:role/deleted", pool_id="us-east-1:d"),  # role missing: skipped
        pool(unauth=other, pool_id="us-east-1:e"),  # counted, compliant
    ])
    result = unauthenticated_cognito_role_overly_permissive(snap)
    assert result.total_resources == 3
    assert [f.resource_identifier["cognitoIdentityPoolId"] for f in result.findings] == ["us-east-1:a"]
    assert authenticated_cognito_role_overly_permissive(snap) == CheckResult(4, [])


def test_documents_of_a_role_are_evaluated_together_and_bad_ones_ignored():
    docs = (doc(allow("iot:*")), "{broken", doc(deny("iot:*")))
    assert run(unauthenticated_cognito_role_overly_permissive, UNAUTH,
               snapshot([role(*docs)], [pool(unauth=ROLE)])) is None
    assert run(unauthenticated_cognito_role_overly_permissive, UNAUTH,
               snapshot([role(*docs[:2])], [pool(unauth=ROLE)])) == ADMIN


# --- authenticated Cognito role -----------------------------------------------------------------------------

AUTH = "AUTHENTICATED_COGNITO_ROLE_OVERLY_PERMISSIVE_CHECK"
NON_THING = "ALLOWS_ACCESS_TO_IOT_NON_THING_ADMIN_ACTIONS"
WRITE = "ALLOWS_ACCESS_TO_IOT_THING_ADMIN_WRITE_ACTIONS"
READ = "ALLOWS_BROAD_ACCESS_TO_IOT_THING_ADMIN_READ_ACTIONS"
READS = list(THING_ADMIN_READ_ACTIONS)

AUTHENTICATED = [
    *[(f"thing write {a}", doc(allow(a, A + "thing/MyThing")), WRITE) for a in THING_ADMIN_WRITE_ACTIONS],
    ("non-thing admin", doc(allow("iot:CreateTopicRule")), NON_THING),
    ("thing reads on thing/*", doc(allow(READS, A + "thing/*")), READ),
    ("thing reads on *", doc(allow("iot:DescribeThing")), READ),
    ("thing reads on one thing (guide)", doc(allow(READS, A + "/thing/MyThing")), None),
    ("thing reads on a prefix (guide)", doc(allow(READS, A + "/thing/MyThing*")), None),
    ("thing reads on own identity", doc(allow(READS, A + "thing/${cognito-identity.amazonaws.com:sub}")), None),
    ("iot:* gives the most serious code", doc(allow("iot:*")), NON_THING),
    ("iot:Describe* reads broadly and more", doc(allow("iot:Describe*")), NON_THING),
    ("writes beat reads", doc(allow(["iot:CreateThing", "iot:DescribeThing"])), WRITE),
    # the check page counts broad MQTT/shadow/job access as overly permissive: the sibling checks' data-plane code
    ("broad MQTT connect and publish", doc(allow(["iot:Connect", "iot:Publish"], "*")), DATA_PLANE),
    ("subscribe to every thing's shadow", doc(allow("iot:Subscribe", A + "topicfilter/$aws/things/+/shadow/update")),
     DATA_PLANE),
    ("shadow API on thing/*", doc(allow("iot:UpdateThingShadow", A + "thing/*")), DATA_PLANE),
    ("shadow API on own identity", doc(allow(SHADOW_AND_JOBS, A + "thing/${cognito-identity.amazonaws.com:sub}")),
     None),
    ("admin beats data plane", doc(allow(["iot:CreateThing", "iot:Connect"])), WRITE),
    ("data plane beats broad reads", doc(allow(["iot:Connect", "iot:DescribeThing"])), DATA_PLANE),
    ("deny removes non-thing admin", doc(allow("iot:*", A + "thing/*"), deny("iot:*", A + "thing/*")), None),
    ("NotResource on reads", doc({"Effect": "Allow", "Action": READS, "NotResource": A + "thing/secret"}), READ),
]


@pytest.mark.parametrize("document, expected", [c[1:] for c in AUTHENTICATED], ids=[c[0] for c in AUTHENTICATED])
def test_authenticated_role(document, expected):
    snap = snapshot([role(document)], [pool(auth=ROLE)])
    assert run(authenticated_cognito_role_overly_permissive, AUTH, snap) == expected


def test_authenticated_reason_mentions_every_code_in_order():
    snap = snapshot([role(doc(allow(["iot:CreatePolicy", "iot:DeleteThing", "iot:DescribeThing"])))],
                    [pool(auth=ROLE)])
    (f,) = authenticated_cognito_role_overly_permissive(snap).findings
    assert f.reason_code == NON_THING
    assert f.reason == ("Role allows access to IoT admin actions not related to things: [iot:CreatePolicy]. "
                        "Role allows access to IoT thing admin write actions: [iot:DeleteThing]. "
                        "Role allows broad access to IoT thing admin read actions: [iot:DescribeThing].")


def test_iot_actions_come_from_botocore():
    actions = iot_actions()
    assert {"iot:CreatePolicy", "iot:DeleteThing", "iot:Connect", "iot:GetThingShadow"} <= set(actions)
    assert len(actions) > 200


# --- role alias overly permissive ---------------------------------------------------------------------------

OVERLY = "IOT_ROLE_ALIAS_OVERLY_PERMISSIVE_CHECK"
SECURITY = "ALLOWS_ACCESS_TO_SECURITY_AUDITING_SERVICES"
USED = "ALLOWS_BROAD_ACCESS_TO_USED_SERVICES"

ROLE_ALIAS_OVERLY = [
    *[(f"security service {s}", doc(allow(f"{s}:{a}")), {"s3"}, SECURITY)
      for s, a in [("iam", "GetRole"), ("cloudtrail", "LookupEvents"), ("guardduty", "ListFindings"),
                   ("inspector", "ListFindings"), ("trustedadvisor", "DescribeChecks")]],
    ("dynamodb:* on a used service", doc(allow("dynamodb:*", "arn:aws:dynamodb:*:*:table/t")), {"dynamodb"}, USED),
    ("dynamodb:* on an unused service", doc(allow("dynamodb:*")), {"s3"}, None),
    ("scoped actions on a used service", doc(allow(["dynamodb:PutItem", "dynamodb:GetItem"])), {"dynamodb"}, None),
    ("used services ignore case", doc(allow("S3:*")), {"s3"}, USED),
    ("iot:* on used IoT", doc(allow("iot:*")), {"iot"}, USED),
    ("iot:* on unused IoT", doc(allow("iot:*")), {"s3"}, NON_THING),
    ("* everywhere", doc(allow("*")), {"s3"}, SECURITY),
    ("NotAction excluding iam", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), {"s3"}, SECURITY),
    ("NotAction of one action is broad", doc({"Effect": "Allow", "NotAction": ["s3:DeleteObject", "iam:*",
                                                                                 "cloudtrail:*", "guardduty:*",
                                                                                 "inspector*", "trustedadvisor:*",
                                                                                 "iot:*"], "Resource": "*"}),
     {"s3"}, USED),
    ("deny removes the security service", doc(allow("iam:GetRole"), deny("iam:*")), {"s3"}, None),
    ("deny of the exact action", doc(allow("iam:GetRole"), deny("iam:GetRole")), {"s3"}, None),
    ("deny of another iam action", doc(allow("iam:GetRole"), deny("iam:PassRole")), {"s3"}, SECURITY),
    ("deny removes broad dynamodb", doc(allow("dynamodb:*"), deny("dynamodb:*")), {"dynamodb"}, None),
    ("thing writes", doc(allow("iot:UpdateThing", A + "thing/${credentials-iot:ThingName}")), {"iot"}, WRITE),
    ("thing reads broadly", doc(allow("iot:DescribeThing", A + "thing/*")), {"iot"}, READ),
    ("thing reads on own thing", doc(allow("iot:DescribeThing", A + "thing/${credentials-iot:ThingName}")),
     {"iot"}, None),
    ("data plane broadly", doc(allow("iot:Publish", A + "topic/$aws/things/*/shadow/update")), {"iot"}, DATA_PLANE),
    ("data plane on own thing", doc(allow(["iot:Connect", "iot:Publish"],
                                          [A + "client/${credentials-iot:ThingName}",
                                           A + "topic/$aws/things/${credentials-iot:ThingName}/shadow/*"])),
     {"iot"}, None),
    ("typical scoped role alias",
     doc(allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::bucket/${credentials-iot:ThingName}/*")),
     {"s3"}, None),
]


@pytest.mark.parametrize("document, used, expected", [c[1:] for c in ROLE_ALIAS_OVERLY],
                         ids=[c[0] for c in ROLE_ALIAS_OVERLY])
def test_role_alias_overly_permissive(document, used, expected):
    snap = snapshot([role(document)], aliases=[alias(used)])
    assert run(iot_role_alias_overly_permissive, OVERLY, snap) == expected


def test_role_alias_finding_shape_and_reason():
    snap = snapshot([role(doc(allow(["iam:GetRole", "dynamodb:*", "iot:Connect"])))],
                    aliases=[alias({"dynamodb", "iot"})])
    (f,) = iot_role_alias_overly_permissive(snap).findings
    assert f.resource_type == "ROLE_ALIAS" and f.resource_identifier == {"roleAliasArn": ALIAS}
    assert f.related_resources == [{"resourceType": "IAM_ROLE", "resourceIdentifier": {"iamRoleArn": ROLE}}]
    assert f.reason_code == SECURITY
    assert f.reason == ("Role allows access to security auditing services: [iam]. "
                        "Role allows broad access to services the role alias uses: [dynamodb]. "
                        "Role allows broad access to IoT data plane actions: [iot:Connect].")


def test_role_alias_counting():
    snap = snapshot([role(doc(allow("iam:*")))], aliases=[
        alias({"iot"}), alias({"iot"}, role_arn=f"arn:aws:iam::{ACCOUNT}:role/gone", arn=ALIAS + "-2")])
    for check in (iot_role_alias_overly_permissive, iot_role_alias_allows_access_to_unused_services):
        result = check(snap)
        assert result.total_resources == 1 and len(result.findings) == 1
    assert iot_role_alias_overly_permissive(snapshot()) == CheckResult(0, [])


# --- role alias unused services -----------------------------------------------------------------------------

UNUSED = "IOT_ROLE_ALIAS_ALLOWS_ACCESS_TO_UNUSED_SERVICES_CHECK"

ROLE_ALIAS_UNUSED = [
    ("guide: only IoT used, iam and dynamodb granted", doc(allow(["iot:Publish", "iam:GetRole", "dynamodb:PutItem"])),
     {"iot"}, ["dynamodb", "iam"]),
    ("everything granted is used", doc(allow(["iot:Publish", "dynamodb:PutItem"])), {"iot", "dynamodb"}, []),
    ("used services ignore case", doc(allow("dynamodb:PutItem")), {"DynamoDB"}, []),
    ("*", doc(allow("*")), {"iot"}, ["*"]),
    ("NotAction", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), {"iot"}, ["*"]),
    ("wildcard service prefix", doc(allow("dynamo*:GetItem")), {"dynamodb"}, ["dynamo*"]),
    ("deny of the unused service", doc(allow(["s3:GetObject", "iot:Connect"]), deny("s3:*")), {"iot"}, []),
    ("deny statements alone grant nothing", doc(deny("s3:*")), {"iot"}, []),
    ("single-string action", json.dumps({"Statement": allow("sqs:SendMessage")}), {"iot"}, ["sqs"]),
]


@pytest.mark.parametrize("document, used, expected", [c[1:] for c in ROLE_ALIAS_UNUSED],
                         ids=[c[0] for c in ROLE_ALIAS_UNUSED])
def test_role_alias_unused_services(document, used, expected):
    snap = snapshot([role(document)], aliases=[alias(used)])
    result = iot_role_alias_allows_access_to_unused_services(snap)
    assert_well_formed(result, UNUSED)
    if not expected:
        assert result.findings == []
        return
    (f,) = result.findings
    assert f.reason_code == "ALLOWS_ACCESS_TO_UNUSED_SERVICES"
    assert f.reason == ("Role allows access to services the role alias has not used in the last year: "
                        f"[{', '.join(expected)}].")
