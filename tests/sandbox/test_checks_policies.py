"""IOT_POLICY_OVERLY_PERMISSIVE_CHECK and IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK on hand-built snapshots.

Examples are the compliant / noncompliant ones of the Device Defender guide (reference §1.4), with the
placeholders ``region`` and ``account-id`` kept as the guide writes them.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest

from helpers.spec.checks import CHECKS
from helpers.sandbox.checks.base import CheckResult
from helpers.sandbox.checks.policies import (SHADOW_AND_JOB_ACTIONS, iot_policy_overly_permissive,
                                             iot_policy_potential_misconfiguration, mqtt_filters_covering)
from helpers.sandbox.snapshot import PolicyInfo, Snapshot
from tests.shapes import _check, iot_model

A = "arn:aws:iot:region:account-id:"
THING = "${iot:Connection.Thing.ThingName}"
ATTACHED = {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
WORKSHOP = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}'
ALL_BROAD = ("iot:Connect", "iot:Publish", "iot:Subscribe") + SHADOW_AND_JOB_ACTIONS


def doc(*statements: dict) -> str:
    """Return a policy document with the given statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **extra) -> dict:
    """Return an Allow statement."""
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource, **extra) -> dict:
    """Return a Deny statement."""
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def snapshot(*documents: str) -> Snapshot:
    """Return a snapshot with one policy per document (names p0, p1, ...; default version 1)."""
    policies = [PolicyInfo(f"p{i}", f"arn:aws:iot:us-east-1:123456789012:policy/p{i}", "1", d)
                for i, d in enumerate(documents)]
    return Snapshot("123456789012", "us-east-1", datetime.now(timezone.utc), policies=policies)


def assert_well_formed(result: CheckResult, check: str) -> None:
    """Fail when a finding's identifier, type or code disagrees with the botocore shape or the catalog."""
    spec = CHECKS[check]
    shape = iot_model().shape_for("ResourceIdentifier")
    for f in result.findings:
        problems: list[str] = []
        _check(shape, f.resource_identifier, "resourceIdentifier", problems)
        assert not problems, problems
        assert f.resource_type == spec.resource_type and list(f.resource_identifier) == [spec.identifier]
        assert f.reason_code in spec.reason_codes and f.reason


def broad_actions(document: str) -> list[str]:
    """Return the actions the overly-permissive finding on ``document`` lists ([] when compliant)."""
    result = iot_policy_overly_permissive(snapshot(document))
    assert_well_formed(result, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")
    assert result.total_resources == 1
    if not result.findings:
        return []
    reason = result.findings[0].reason
    prefix = "Policy allows broad access to IoT data plane actions: ["
    assert reason.startswith(prefix) and reason.endswith("].")
    return reason[len(prefix):-2].split(", ")


# --- overly permissive --------------------------------------------------------------------------------------

OVERLY_PERMISSIVE = [
    # the workshop's Module 1 policy
    ("workshop iot:* on *", WORKSHOP, ALL_BROAD),
    # Connect
    ("connect client/*", doc(allow("iot:Connect", A + "client/*")), ["iot:Connect"]),
    ("connect ClientId without IsAttached", doc(allow("iot:Connect", A + "client/${iot:ClientId}")), ["iot:Connect"]),
    ("connect ClientId with IsAttached",
     doc(allow("iot:Connect", A + "client/${iot:ClientId}", Condition=ATTACHED)), []),
    ("connect ClientId with IsAttached false",
     doc(allow("iot:Connect", A + "client/${iot:ClientId}",
               Condition={"Bool": {"iot:Connection.Thing.IsAttached": "false"}})), ["iot:Connect"]),
    ("connect ClientId with IsAttached as JSON true",
     doc(allow("iot:Connect", A + "client/${iot:ClientId}",
               Condition={"Bool": {"iot:Connection.Thing.IsAttached": True}})), []),
    ("connect ThingName with IsAttached (guide's compliant example)",
     doc(allow(["iot:Connect"], [A + f"client/{THING}"], Condition=ATTACHED)), []),
    # choice: thing-name variables resolve only for a thing attached to the caller, so they scope on their own
    ("connect ThingName without condition", doc(allow("iot:Connect", A + f"client/{THING}")), []),
    ("connect explicit client", doc(allow("iot:Connect", A + "client/sensor-01")), []),
    ("connect fixed prefix", doc(allow("iot:Connect", A + "client/sensor-*")), []),
    ("connect ?-only client id", doc(allow("iot:Connect", A + "client/?*")), ["iot:Connect"]),
    ("connect other thing variable (type name)",
     doc(allow("iot:Connect", A + "client/${iot:Connection.Thing.ThingTypeName}")), ["iot:Connect"]),
    # Publish
    ("publish shadow/update of any thing", doc(allow("iot:Publish", A + "topic/$aws/things/*/shadow/update")),
     ["iot:Publish"]),
    ("publish $aws/things/*", doc(allow("iot:Publish", A + "topic/$aws/things/*")), ["iot:Publish"]),
    ("publish topic/*", doc(allow("iot:Publish", A + "topic/*")), ["iot:Publish"]),
    ("publish own shadow (guide's compliant example)",
     doc(allow(["iot:Publish"], [A + f"topic/$aws/things/{THING}/shadow/*"])), []),
    ("publish own topics by client id", doc(allow("iot:Publish", A + "topic/$aws/things/${iot:ClientId}/shadow/*")),
     []),
    ("publish + taken literally", doc(allow("iot:Publish", A + "topic/$aws/things/+/shadow/update")), []),
    ("publish application topics", doc(allow("iot:Publish", A + "topic/building/*")), []),
    # Subscribe
    ("subscribe $aws/things/*", doc(allow("iot:Subscribe", A + "topicfilter/$aws/things/*")), ["iot:Subscribe"]),
    ("subscribe $aws/things/#", doc(allow("iot:Subscribe", A + "topicfilter/$aws/things/#")), ["iot:Subscribe"]),
    ("subscribe +/shadow/update", doc(allow("iot:Subscribe", A + "topicfilter/$aws/things/+/shadow/update")),
     ["iot:Subscribe"]),
    ("subscribe $aws/#", doc(allow("iot:Subscribe", A + "topicfilter/$aws/#")), ["iot:Subscribe"]),
    ("subscribe own shadow and jobs (guide's compliant example)",
     doc(allow(["iot:Subscribe"], [A + f"topicfilter/$aws/things/{THING}/shadow/*",
                                   A + f"topicfilter/$aws/things/{THING}/jobs/*"])), []),
    ("subscribe application filters", doc(allow("iot:Subscribe", A + "topicfilter/building/#")), []),
    # Receive is bounded by Subscribe
    ("receive with wildcards", doc(allow("iot:Receive", [A + "topic/$aws/things/*", A + "topicfilter/*", "*"])), []),
    # shadow and job APIs
    ("shadow and job APIs on thing/*", doc(allow(list(SHADOW_AND_JOB_ACTIONS), A + "thing/*")),
     list(SHADOW_AND_JOB_ACTIONS)),
    ("shadow and job APIs on explicit things (guide's example)",
     doc(allow(list(SHADOW_AND_JOB_ACTIONS), [A + "/thing/MyThing1", A + "/thing/MyThing2"])), []),
    ("shadow APIs on explicit thing ARNs", doc(allow("iot:*Shadow", [A + "thing/MyThing1"])), []),
    ("shadow APIs on own thing", doc(allow("iot:GetThingShadow", A + f"thing/{THING}")), []),
    ("iot:Get* on *", doc(allow("iot:Get*", "*")), ["iot:GetThingShadow", "iot:GetPendingJobExecutions"]),
    # forms of the document
    ("single statement object", json.dumps({"Statement": allow("iot:Connect", "*")}), ["iot:Connect"]),
    ("actions ignore case", doc(allow("IOT:CONNECT", A + "client/*")), ["iot:Connect"]),
    ("real region and account", doc(allow("iot:Connect", "arn:aws:iot:eu-west-1:111122223333:client/*")),
     ["iot:Connect"]),
    ("unrelated service", doc(allow("s3:*", "*")), []),
    ("empty statement list", doc(), []),
    ("conditions do not narrow an Allow",
     doc(allow("iot:Connect", A + "client/*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})),
     ["iot:Connect"]),
    # NotAction / NotResource grant broadly
    ("NotAction", doc({"Effect": "Allow", "NotAction": "iot:Connect", "Resource": "*"}),
     [a for a in ALL_BROAD if a != "iot:Connect"]),
    ("NotResource", doc({"Effect": "Allow", "Action": "iot:Connect", "NotResource": A + "client/admin"}),
     ["iot:Connect"]),
    ("NotResource excluding every client", doc({"Effect": "Allow", "Action": "iot:Connect",
                                                 "NotResource": A + "client/*"}), []),
    # Deny subtracts what it covers
    ("deny connect", doc(allow("iot:*", "*"), deny("iot:Connect", A + "client/*")),
     [a for a in ALL_BROAD if a != "iot:Connect"]),
    ("deny everything", doc(allow("iot:*", "*"), deny("*", "*")), []),
    ("deny NotResource of own thing",
     doc(allow("iot:GetThingShadow", "*"), {"Effect": "Deny", "Action": "iot:GetThingShadow",
                                            "NotResource": A + f"thing/{THING}"}), []),
    ("conditional deny subtracts nothing",
     doc(allow("iot:Connect", A + "client/*"),
         deny("iot:Connect", A + "client/*", Condition={"StringNotEquals": {"aws:SourceIp": "10.0.0.1"}})),
     ["iot:Connect"]),
    ("deny of reserved shadow filters leaves $aws/#",
     doc(allow("iot:Subscribe", A + "topicfilter/*"), deny("iot:Subscribe", A + "topicfilter/$aws/things/*")),
     ["iot:Subscribe"]),
    ("deny of $aws filters",
     doc(allow("iot:Subscribe", A + "topicfilter/*"), deny("iot:Subscribe", A + "topicfilter/$aws*")), []),
    ("deny own client only", doc(allow("iot:Connect", A + "client/*"), deny("iot:Connect", A + f"client/{THING}")),
     ["iot:Connect"]),
    ("invalid JSON counted, not flagged", '{"Version": "2012-10-17", "Statement": [', []),
    ("invalid shape counted, not flagged", doc({"Effect": "Permit", "Action": "iot:*", "Resource": "*"}), []),
]


@pytest.mark.parametrize("document, expected", [c[1:] for c in OVERLY_PERMISSIVE],
                         ids=[c[0] for c in OVERLY_PERMISSIVE])
def test_overly_permissive(document, expected):
    assert broad_actions(document) == list(expected)


def test_workshop_policy_finding():
    result = iot_policy_overly_permissive(snapshot(WORKSHOP))
    (f,) = result.findings
    assert f.resource_type == "IOT_POLICY"
    assert f.resource_identifier == {"policyVersionIdentifier": {"policyName": "p0", "policyVersionId": "1"}}
    assert f.reason_code == "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"
    assert f.reason.startswith("Policy allows broad access to IoT data plane actions: "
                               "[iot:Connect, iot:Publish, iot:Subscribe, iot:GetThingShadow, ")
    assert "iot:Receive" not in f.reason and "iot:RetainPublish" not in f.reason


def test_default_version_id_is_the_one_reported():
    snap = snapshot(WORKSHOP)
    snap.policies[0] = PolicyInfo("DevicePolicy-x", "arn:aws:iot:us-east-1:123456789012:policy/DevicePolicy-x",
                                  "7", WORKSHOP)
    (f,) = iot_policy_overly_permissive(snap).findings
    assert f.resource_identifier["policyVersionIdentifier"] == {"policyName": "DevicePolicy-x", "policyVersionId": "7"}


def test_counts_every_policy_and_flags_each_once():
    good = doc(allow("iot:Connect", A + f"client/{THING}", Condition=ATTACHED))
    result = iot_policy_overly_permissive(snapshot(WORKSHOP, good, "not json", WORKSHOP))
    assert result.total_resources == 4
    assert [f.resource_identifier["policyVersionIdentifier"]["policyName"] for f in result.findings] == ["p0", "p3"]
    assert_well_formed(result, "IOT_POLICY_OVERLY_PERMISSIVE_CHECK")


def test_no_policies():
    assert iot_policy_overly_permissive(snapshot()) == CheckResult(0, [])
    assert iot_policy_potential_misconfiguration(snapshot()) == CheckResult(0, [])


# --- potential misconfiguration -----------------------------------------------------------------------------

B = "arn:aws:iot:us-east-1:123456789012:"
WILDCARDS = "POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT"
BYPASSED = "TOPIC_FILTERS_INTENDED_TO_DENY_ALLOWED_USING_WILDCARDS"

MISCONFIGURATION = [
    # the guide's first example: # in a Deny is literal
    ("guide: # in deny", doc(allow("iot:Subscribe", B + "topicfilter/building/*"),
                             deny("iot:Subscribe", B + "topicfilter/building/control_room/#"),
                             allow("iot:Receive", B + "topic/building/*")), WILDCARDS),
    # the guide's second example: the * deny is bypassed by subscribing to building/#
    ("guide: * deny bypassed", doc(allow("iot:Subscribe", B + "topicfilter/building/*"),
                                   deny("iot:Subscribe", B + "topicfilter/building/control_room/*"),
                                   allow("iot:Receive", B + "topic/building/*")), BYPASSED),
    # the guide's correctly configured policy also denies Receive
    ("guide: correct policy", doc(allow("iot:Subscribe", B + "topicfilter/building/*"),
                                  deny("iot:Subscribe", B + "topicfilter/building/control_room/*"),
                                  allow("iot:Receive", B + "topic/building/*"),
                                  deny("iot:Receive", B + "topic/building/control_room/*")), None),
    ("+ in deny", doc(allow("iot:*", "*"), deny("iot:Publish", B + "topic/factory/+/alarm")), WILDCARDS),
    ("+ in a deny topicfilter with single-string forms",
     json.dumps({"Statement": deny("iot:Subscribe", B + "topicfilter/a/+")}), WILDCARDS),
    ("+ in a client id is not an MQTT wildcard", doc(deny("iot:Connect", B + "client/a+b")), None),
    ("# in an Allow", doc(allow("iot:Subscribe", B + "topicfilter/building/#")), None),
    ("conditional deny with # still flagged",
     doc(deny("iot:Subscribe", B + "topicfilter/x/#", Condition={"Bool": {"aws:SecureTransport": "false"}})),
     WILDCARDS),
    ("receive not allowed on the denied topics", doc(allow("iot:Subscribe", B + "topicfilter/building/*"),
                                                     deny("iot:Subscribe", B + "topicfilter/building/control_room/*"),
                                                     allow("iot:Receive", B + "topic/building/lobby/*")), None),
    ("no broader filter allowed", doc(allow("iot:Subscribe", B + "topicfilter/building/lobby/*"),
                                      deny("iot:Subscribe", B + "topicfilter/building/control_room/*"),
                                      allow("iot:Receive", B + "topic/building/*")), None),
    ("broader filters denied too", doc(allow("iot:Subscribe", B + "topicfilter/building/*"),
                                       deny("iot:Subscribe", [B + "topicfilter/building/control_room/*",
                                                              B + "topicfilter/building/#",
                                                              B + "topicfilter/building/+/*",
                                                              B + "topicfilter/#"]),
                                       allow("iot:Receive", B + "topic/building/*")), WILDCARDS),
    ("# filter bypasses a deny of a whole tree", doc(allow(["iot:Subscribe", "iot:Receive"], "*"),
                                                     deny("iot:Subscribe", B + "topicfilter/building/*")), BYPASSED),
    ("deny on a thing-scoped filter", doc(allow(["iot:Subscribe", "iot:Receive"], "*"),
                                          deny("iot:Subscribe", B + f"topicfilter/things/{THING}/secret/*")),
     BYPASSED),
    ("deny without wildcards", doc(allow(["iot:Subscribe", "iot:Receive"], "*"),
                                   deny("iot:Subscribe", B + "topicfilter/building/control_room")), None),
    ("workshop policy", WORKSHOP, None),
    ("invalid JSON", "{", None),
]


@pytest.mark.parametrize("document, expected", [c[1:] for c in MISCONFIGURATION],
                         ids=[c[0] for c in MISCONFIGURATION])
def test_potential_misconfiguration(document, expected):
    result = iot_policy_potential_misconfiguration(snapshot(document))
    assert result.total_resources == 1
    assert_well_formed(result, "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK")
    assert [f.reason_code for f in result.findings] == ([expected] if expected else [])


def test_both_problems_give_one_finding_with_the_bypass_code_and_both_sentences():
    document = doc(allow("iot:Subscribe", B + "topicfilter/building/*"),
                   deny("iot:Subscribe", [B + "topicfilter/building/control_room/*", B + "topicfilter/garage/#"]),
                   allow("iot:Receive", B + "topic/building/*"))
    (f,) = iot_policy_potential_misconfiguration(snapshot(document)).findings
    assert f.reason_code == BYPASSED
    assert "[topicfilter/building/control_room/*]" in f.reason and "[topicfilter/garage/#]" in f.reason
    assert f.reason.index("broader filters") < f.reason.index("MQTT wildcards")


def test_mqtt_filters_covering():
    filters = mqtt_filters_covering("a/b")
    assert set(filters) == {"a/b", "+/b", "a/+", "+/+", "#", "a/#", "+/#", "a/b/#", "+/b/#", "a/+/#", "+/+/#"}
    reserved = mqtt_filters_covering("$aws/things/t")
    assert "#" not in reserved and "+/things/t" not in reserved
    assert {"$aws/#", "$aws/things/#", "$aws/+/t", "$aws/things/+"} <= set(reserved)
    assert len(mqtt_filters_covering("/".join("l" * 12))) < 200  # deep topics stay cheap: one + at a time


# --- speed --------------------------------------------------------------------------------------------------

def test_ten_thousand_policies_are_each_judged():
    """Scale correctness (the speed is measured in benchmarks/bench_checks.py, not asserted here)."""
    marker = uuid.uuid4().hex  # distinct texts from the other tests, so nothing is cached yet
    variants = [doc(allow("iot:*", "*", Sid=f"{marker}-{i}")) for i in range(3)]
    variants += [doc(allow("iot:Connect", A + f"client/{THING}", Condition=ATTACHED, Sid=f"{marker}-{i}"),
                     allow(["iot:Publish", "iot:Receive"], A + f"topic/$aws/things/{THING}/shadow/*"),
                     allow("iot:Subscribe", A + f"topicfilter/$aws/things/{THING}/shadow/*"),
                     deny("iot:Subscribe", A + "topicfilter/admin/#"))
                 for i in range(7)]
    snap = snapshot(*(variants[i % len(variants)] for i in range(10_000)))
    broad = iot_policy_overly_permissive(snap)
    misconfigured = iot_policy_potential_misconfiguration(snap)
    assert broad.total_resources == misconfigured.total_resources == 10_000
    assert len(broad.findings) == 3000 and len(misconfigured.findings) == 7000
