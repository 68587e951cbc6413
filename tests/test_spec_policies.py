"""Parsing policy documents and matching their actions and resources."""
from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from helpers.spec.policies import (PolicyDocumentError, Statement, action_matches, arn_resource,
                                              example_match, has_wildcard, parse_policy, resource_matches,
                                              widen_location, widen_statement)

ARN = "arn:aws:iot:us-east-1:123456789012:"


def doc(*statements: dict) -> str:
    """Return a policy document with the given statements, as JSON text."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# --- parsing ------------------------------------------------------------------------------------------------------

def test_single_strings_become_tuples():
    (s,) = parse_policy(doc({"Effect": "Allow", "Action": "iot:*", "Resource": "*"}))
    assert s == Statement("Allow", ("iot:*",), ("*",))
    assert not s.not_action and not s.not_resource and s.conditions == {}


def test_lists_and_a_single_statement_object():
    text = json.dumps({"Version": "2012-10-17", "Statement": {
        "Sid": "x", "Effect": "Deny", "Action": ["iot:Connect", "iot:Publish"], "Resource": [ARN + "client/a"]}})
    (s,) = parse_policy(text)
    assert (s.effect, s.actions, s.resources) == ("Deny", ("iot:Connect", "iot:Publish"), (ARN + "client/a",))


def test_not_action_and_not_resource():
    (s,) = parse_policy(doc({"Effect": "Allow", "NotAction": "iam:*", "NotResource": ["arn:aws:s3:::b"]}))
    assert s.not_action and s.not_resource
    assert s.actions == ("iam:*",) and s.resources == ("arn:aws:s3:::b",)


def test_condition_values_are_tuples_of_strings():
    (s,) = parse_policy(doc({"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {
        "Bool": {"iot:Connection.Thing.IsAttached": True},
        "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]},
        "NumericLessThan": {"x": 3}}}))
    assert s.condition_values("bool", "IOT:connection.thing.isattached") == ("true",)
    assert s.condition_values("IpAddress", "aws:SourceIp") == ("10.0.0.0/8", "192.168.0.0/16")
    assert s.condition_values("NumericLessThan", "x") == ("3",)
    assert s.condition_values("StringEquals", "x") == ()


def test_empty_statement_list_and_dict_input():
    assert parse_policy(doc()) == ()
    assert parse_policy({"Statement": [{"Effect": "Allow", "Action": "a:b", "Resource": "*"}]})[0].actions == ("a:b",)


def test_url_encoded_text_as_iam_returns_it():
    text = urllib.parse.quote(doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
    assert parse_policy(text)[0].actions == ("s3:GetObject",)


@pytest.mark.parametrize("text, message", [
    ("{not json", "valid JSON"),
    ("", "valid JSON"),
    ("[]", "JSON object"),
    ('{"Version": "2012-10-17"}', "needs a Statement"),
    ('{"Statement": "Allow everything"}', "object or a list"),
    ('{"Statement": ["x"]}', "Statement[0] must be an object"),
    (doc({"Effect": "allow", "Action": "a:b", "Resource": "*"}), "Effect"),
    (doc({"Action": "a:b", "Resource": "*"}), "Effect"),
    (doc({"Effect": "Allow", "Action": "a:b", "NotAction": "c:d", "Resource": "*"}), "exactly one of Action"),
    (doc({"Effect": "Allow", "Resource": "*"}), "exactly one of Action"),
    (doc({"Effect": "Allow", "Action": "a:b"}), "exactly one of Resource"),
    (doc({"Effect": "Allow", "Action": 7, "Resource": "*"}), "string or a list of strings"),
    (doc({"Effect": "Allow", "Action": "a:b", "Resource": ["*", None]}), "string or a list of strings"),
    (doc({"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": ["x"]}), "Condition"),
    (doc({"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"Bool": "x"}}), "Condition"),
    (doc({"Effect": "Allow", "Action": "a:b", "Resource": "*", "Condition": {"Bool": {"k": {"v": 1}}}}), "Condition"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_malformed_documents_raise_a_clear_value_error(text, message):
    with pytest.raises(PolicyDocumentError, match=re.escape(message)) as info:
        parse_policy(text)
    assert isinstance(info.value, ValueError)


# --- actions ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, action, expected", [
    ("iot:*", "iot:Connect", True),
    ("iot:*", "iotevents:ListInputs", False),
    ("iot:Get*", "iot:GetThingShadow", True),
    ("iot:Get*", "iot:UpdateThingShadow", False),
    ("*", "s3:GetObject", True),
    ("IOT:connect", "iot:Connect", True),
    ("iot:?onnect", "iot:Connect", True),
    ("iot:Connect", "iot:Connected", False),
    ("iot:*Shadow", "iot:DeleteThingShadow", True),
])
def test_action_matches(pattern, action, expected):
    assert action_matches(pattern, action) is expected


def test_covers_action_with_not_action():
    s = Statement("Allow", ("iot:Connect", "iot:Get*"), ("*",), not_action=True)
    assert not s.covers_action("iot:Connect") and not s.covers_action("iot:GetThingShadow")
    assert s.covers_action("iot:Publish") and s.covers_action("s3:GetObject")


# --- resources ----------------------------------------------------------------------------------------------------

THING = (("iot:connection.thing.thingname", "me"),)


@pytest.mark.parametrize("pattern, resource, bindings, unresolved, expected", [
    ("*", ARN + "client/a", (), None, True),
    (ARN + "client/*", ARN + "client/anything/at:all", (), None, True),
    (ARN + "client/*", ARN + "topic/a", (), None, False),
    (ARN + "client/dev-??", ARN + "client/dev-01", (), None, True),
    (ARN + "client/dev-??", ARN + "client/dev-001", (), None, False),
    (ARN + "client/Dev", ARN + "client/dev", (), None, False),  # resources are case-sensitive
    (ARN + "topicfilter/a/#", ARN + "topicfilter/a/b", (), None, False),  # MQTT wildcards are literal
    (ARN + "topicfilter/a/#", ARN + "topicfilter/a/#", (), None, True),
    (ARN + "topicfilter/+/x", ARN + "topicfilter/+/x", (), None, True),
    (ARN + "topic/${*}", ARN + "topic/*", (), None, True),  # ${*} is a literal star
    (ARN + "topic/${*}", ARN + "topic/a", (), None, False),
    (ARN + "topic/a${?}${$}", ARN + "topic/a?$", (), None, True),
    (ARN + "thing/${iot:Connection.Thing.ThingName}", ARN + "thing/me", THING, None, True),
    (ARN + "thing/${iot:Connection.Thing.ThingName}", ARN + "thing/you", THING, None, False),
    (ARN + "thing/${IOT:connection.thing.THINGNAME}", ARN + "thing/me", THING, None, True),  # names ignore case
    (ARN + "client/${iot:ClientId}", ARN + "client/x", (("iot:clientid", None),), None, True),  # None = any value
    (ARN + "client/${iot:ClientId}", ARN + "client/x", (), None, True),  # unbound, unresolved=None: any value
    (ARN + "client/${iot:ClientId}", ARN + "client/x", (), "\x00", False),  # unbound, unresolved literal
])
def test_resource_matches(pattern, resource, bindings, unresolved, expected):
    assert resource_matches(pattern, resource, bindings, unresolved=unresolved) is expected


def test_covers_resource_reads_unbound_variables_towards_permitted():
    allow = Statement("Allow", ("iot:Connect",), ("client/${x}",))
    deny = Statement("Deny", ("iot:Connect",), ("client/${x}",))
    assert allow.covers_resource("client/a", grant_more=True)
    assert not deny.covers_resource("client/a", grant_more=False)
    allow_all_but = Statement("Allow", ("iot:Connect",), ("client/${x}",), not_resource=True)
    deny_all_but = Statement("Deny", ("iot:Connect",), ("client/${x}",), not_resource=True)
    assert allow_all_but.covers_resource("client/a", grant_more=True)  # the exclusion names nothing
    assert not deny_all_but.covers_resource("client/a", grant_more=False)  # the exclusion names everything


def test_covers_resource_with_not_resource():
    s = Statement("Allow", ("iot:Connect",), (ARN + "client/admin-*",), not_resource=True)
    assert s.covers_resource(ARN + "client/sensor") and not s.covers_resource(ARN + "client/admin-1")


def test_pattern_helpers():
    assert has_wildcard("client/a*") and has_wildcard("client/?") and not has_wildcard("client/${iot:ClientId}")
    assert not has_wildcard("topic/${*}")
    assert example_match("topic/${iot:ClientId}/a*/b?/${*}", (("iot:clientid", "me"),), "x") == "topic/me/ax/bx/*"
    assert arn_resource(ARN + "client/a:b") == "client/a:b" and arn_resource("*") is None


@pytest.mark.parametrize("pattern, widened", [
    ("arn:aws:iot:us-west-2:111122223333:client/*", "arn:*:iot:*:*:client/*"),
    ("arn:aws-cn:iot:region:account-id:topic/a:b", "arn:*:iot:*:*:topic/a:b"),
    ("*", "*"),
    ("arn:aws:iot:*", "arn:aws:iot:*"),
    ("arn:aws:iot:${aws:region}:1:client/x", "arn:aws:iot:${aws:region}:1:client/x"),
])
def test_widen_location(pattern, widened):
    assert widen_location(pattern) == widened


def test_widen_statement_keeps_everything_but_resources():
    s = Statement("Deny", ("iot:Connect",), ("arn:aws:iot:eu-west-1:1:client/a",), not_resource=True,
                  conditions={"Bool": {"k": ("true",)}})
    w = widen_statement(s)
    assert w.resources == ("arn:*:iot:*:*:client/a",)
    assert (w.effect, w.actions, w.not_resource, w.conditions) == (s.effect, s.actions, True, s.conditions)
