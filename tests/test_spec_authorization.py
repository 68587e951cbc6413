"""IAM's decision for one need (helpers.spec.authorization) and what a request needs (helpers.spec.request_needs)."""
from __future__ import annotations

from helpers.spec.authorization import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Need, decide, unsupported_operators
from helpers.spec.request_needs import request_needs


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


TAGS = {"Effect": "Allow", "Action": "iot:TagResource", "Resource": "*",
        "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["workshop"]}}}


def test_for_all_values_holds_for_no_tags_and_only_listed_keys() -> None:
    assert decide([policy(TAGS)], Need("iot:TagResource", "arn:x", {})) == ALLOWED
    assert decide([policy(TAGS)], Need("iot:TagResource", "arn:x", {"aws:tagkeys": ("workshop",)})) == ALLOWED
    assert decide([policy(TAGS)], Need("iot:TagResource", "arn:x",
                                       {"aws:tagkeys": ("workshop", "owner")})) == IMPLICIT_DENY


def test_string_equals_needs_the_key_unless_if_exists() -> None:
    passrole = {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::*:role/R*",
                "Condition": {"StringEquals": {"iam:PassedToService": "iot.amazonaws.com"}}}
    ok = Need("iam:PassRole", "arn:aws:iam::1:role/Role", {"iam:passedtoservice": ("iot.amazonaws.com",)})
    assert decide([policy(passrole)], ok) == ALLOWED
    assert decide([policy(passrole)], Need(ok.action, ok.resource, {})) == IMPLICIT_DENY
    assert decide([policy(passrole)], Need(ok.action, "arn:aws:iam::1:role/Other", ok.context)) == IMPLICIT_DENY
    lenient = dict(passrole, Condition={"StringEqualsIfExists": {"iam:PassedToService": "iot.amazonaws.com"}})
    assert decide([policy(lenient)], Need(ok.action, ok.resource, {})) == ALLOWED


def test_an_explicit_deny_wins_and_unknown_operators_are_named() -> None:
    allow = {"Effect": "Allow", "Action": "iot:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "iot:DeleteThing", "Resource": "*",
            "Condition": {"Null": {"aws:TagKeys": "true"}}}
    assert decide([policy(allow), policy(deny)], Need("iot:DeleteThing", "arn:x")) == EXPLICIT_DENY
    assert decide([policy(allow), policy(deny)], Need("iot:DeleteThing", "arn:x", {"aws:tagkeys": ("a",)})) == ALLOWED
    odd = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "x"}}}
    assert unsupported_operators([policy(odd)]) == ["DateGreaterThan"]
    assert decide([policy(odd)], Need("iot:ListThings", "*")) == IMPLICIT_DENY


def test_a_create_with_tags_and_a_role_needs_passrole_and_tagging_on_the_new_arn() -> None:
    needs = request_needs("iot", "CreateMitigationAction",
                          {"actionName": "A", "roleArn": "arn:aws:iam::1:role/R",
                           "actionParams": {"enableIoTLoggingParams": {"roleArnForLogging": "arn:aws:iam::1:role/L"}},
                           "tags": [{"Key": "workshop", "Value": "x"}]}, "111122223333", "eu-west-1")
    assert [(n.action, n.resource) for n in needs] == [
        ("iot:CreateMitigationAction", "arn:aws:iot:eu-west-1:111122223333:mitigationaction/A"),
        ("iam:PassRole", "arn:aws:iam::1:role/R"), ("iam:PassRole", "arn:aws:iam::1:role/L"),
        ("iot:TagResource", "arn:aws:iot:eu-west-1:111122223333:mitigationaction/A")]
    assert needs[-1].context["aws:tagkeys"] == ("workshop",)
    assert request_needs("sts", "GetCallerIdentity", {}, "1", "eu-west-1") == []
    assert request_needs("iam", "GetRole", {"RoleName": "R"}, "1", "eu-west-1",
                         lambda name: f"arn:aws:iam::1:role/path/{name}")[0].resource == "arn:aws:iam::1:role/path/R"


def test_policy_variables_bind_and_strict_unresolved_ones_match_nothing() -> None:
    thing = {"Effect": "Allow", "Action": "iot:Connect",
             "Resource": "arn:aws:iot:eu-west-1:111122223333:client/${iot:Connection.Thing.ThingName}"}
    doc = {"Version": "2012-10-17", "Statement": [thing]}
    arn = "arn:aws:iot:eu-west-1:111122223333:client/sensor-a"
    bound = (("iot:connection.thing.thingname", "sensor-a"),)
    assert decide([doc], Need("iot:Connect", arn, bindings=bound, strict_variables=True)) == ALLOWED
    assert decide([doc], Need("iot:Connect", arn.replace("sensor-a", "sensor-b"), bindings=bound,
                              strict_variables=True)) == IMPLICIT_DENY
    # no thing attached: AWS IoT Core matches nothing; the could-it-ever reading grants it
    assert decide([doc], Need("iot:Connect", arn, strict_variables=True)) == IMPLICIT_DENY
    assert decide([doc], Need("iot:Connect", arn)) == ALLOWED


def test_condition_patterns_take_policy_variables() -> None:
    doc = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*",
         "Condition": {"StringLike": {"iot:ClientId": "${iot:Connection.Thing.ThingName}-*"}}}]}
    bound = (("iot:connection.thing.thingname", "sensor-a"),)
    need = Need("iot:Publish", "arn:aws:iot:eu-west-1:111122223333:topic/t", {"iot:clientid": ("sensor-a-1",)},
                bound, strict_variables=True)
    assert decide([doc], need) == ALLOWED
    assert decide([doc], Need(need.action, need.resource, {"iot:clientid": ("sensor-b-1",)}, bound,
                              strict_variables=True)) == IMPLICIT_DENY
