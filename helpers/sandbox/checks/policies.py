"""IoT policy checks: IOT_POLICY_OVERLY_PERMISSIVE_CHECK and IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK.

Both audit the DEFAULT version of every policy (UNCONFIRMED whether AWS also audits other versions; the reference
recommends the default only) and raise at most one finding per policy. ``total_resources`` is the number of
policies. A document that does not parse (IoT validates documents on CreatePolicy, so only a hand-made snapshot
has one) is counted but raises no finding: neither check has a reason code for it. Results are cached per
distinct document text.

How "broad" is decided: each data-plane action is tried on *probe* resources that belong to another device (a
client id, a thing, reserved ``$aws/things/<thing>/shadow|jobs/...`` topics, and every MQTT filter with ``+``/``#``
that receives those topics). The action is broad when some probe is granted by an Allow and not taken away by a
Deny. Choices where the guide is silent:

* Device-scoping variables stand for the caller: ``${iot:Connection.Thing.ThingName}`` (also without the
  IsAttached condition: it only resolves to a thing attached to the caller), ``${iot:ClientId}`` in topic and
  thing resources (a free client id is flagged on the Connect statement instead), Cognito's identity id and the
  role-alias ``${credentials-iot:ThingName}`` / ``AwsCertificateId``. Any other variable may take any value.
* A fixed prefix before a wildcard (``client/sensor-*``, ``thing/MyThing*``) does not reach other devices.
* Only reserved thing topics make Publish/Subscribe broad: ``topic/building/*`` is application data, not another
  device's shadow or jobs.
* Partition, region and account in ARNs are ignored (``region``/``account-id`` placeholders work too): the check
  judges the shape of the grant, wherever it is deployed.

The helpers here are shared with the Cognito and role-alias checks in :mod:`.identities`.
"""
from __future__ import annotations

from functools import lru_cache
from itertools import product
from typing import Iterable, Sequence

from ...spec.policies import (ALLOW, DENY, Bindings, Statement, arn_resource, example_match, has_wildcard,
                                parse_policy, widen_statement)
from ..snapshot import PolicyInfo, Snapshot
from .base import CheckResult, Finding

SELF = "\x01this-device"  # what device-scoping variables resolve to: the caller
OTHER = "\x01other-device"  # a thing / client id that is not the caller's

# Variables that name the caller itself (lower case, as bindings are looked up).
_DEVICE_VARIABLES = (
    "iot:connection.thing.thingname",
    "iot:clientid",
    "cognito-identity.amazonaws.com:sub",
    "credentials-iot:thingname",
    "credentials-iot:awscertificateid",
)
SCOPED: Bindings = tuple((name, SELF) for name in _DEVICE_VARIABLES)
# For iot:Connect the client id is whatever the device asks for, so ${iot:ClientId} restricts nothing ...
_ANY_CLIENT: Bindings = tuple((name, None if name == "iot:clientid" else SELF) for name in _DEVICE_VARIABLES)
# ... unless the statement requires the thing of that name to be attached to the connecting certificate.
_IS_ATTACHED = ("Bool", "iot:Connection.Thing.IsAttached")

CONNECT = "iot:Connect"
PUBLISH = "iot:Publish"
SUBSCRIBE = "iot:Subscribe"
RECEIVE = "iot:Receive"
RETAIN_PUBLISH = "iot:RetainPublish"
SHADOW_AND_JOB_ACTIONS = (
    "iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow", "iot:ListNamedShadowsForThing",
    "iot:DescribeJobExecution", "iot:GetPendingJobExecutions", "iot:StartNextPendingJobExecution",
    "iot:UpdateJobExecution",
)
MQTT_ACTIONS = (CONNECT, PUBLISH, SUBSCRIBE, RECEIVE, RETAIN_PUBLISH)
DATA_PLANE_ACTIONS = MQTT_ACTIONS + SHADOW_AND_JOB_ACTIONS

# Reserved topics of another thing: reaching any of them means reaching every device's shadow or jobs.
_OTHER_RESERVED_TOPICS = tuple(f"$aws/things/{OTHER}/{suffix}" for suffix in (
    "shadow/update", "shadow/get", "shadow/delete", "shadow/update/delta", "shadow/name/n/update",
    "jobs/get", "jobs/notify", "jobs/j/update",
))
_PROBE_ARN = "arn:aws:iot:us-east-1:123456789012:"

OVERLY_PERMISSIVE = "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"
MISCONFIGURATION = "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK"
BROAD_DATA_PLANE = "ALLOWS_BROAD_ACCESS_TO_IOT_DATA_PLANE_ACTIONS"
WILDCARDS_IN_DENY = "POLICY_CONTAINS_MQTT_WILDCARDS_IN_DENY_STATEMENT"
DENY_BYPASSED = "TOPIC_FILTERS_INTENDED_TO_DENY_ALLOWED_USING_WILDCARDS"


# --- the checks -------------------------------------------------------------------------------------------------

def iot_policy_overly_permissive(snap: Snapshot) -> CheckResult:
    """Return the policies whose default version grants data-plane actions for devices other than the caller."""
    findings = []
    for policy in snap.policies:
        actions = _broad_actions_of(policy.document)
        if actions:
            findings.append(_policy_finding(policy, BROAD_DATA_PLANE,
                                            f"Policy allows broad access to IoT data plane actions: "
                                            f"[{', '.join(actions)}]."))
    return CheckResult(len(snap.policies), findings)


def iot_policy_potential_misconfiguration(snap: Snapshot) -> CheckResult:
    """Return the policies whose default version has a Deny that does not deny what it seems to."""
    findings = []
    for policy in snap.policies:
        problem = _misconfiguration_of(policy.document)
        if problem is not None:
            findings.append(_policy_finding(policy, *problem))
    return CheckResult(len(snap.policies), findings)


def _policy_finding(policy: PolicyInfo, code: str, reason: str) -> Finding:
    """Return a finding on the default version of ``policy``."""
    return Finding("IOT_POLICY", {"policyVersionIdentifier": {"policyName": policy.name,
                                                              "policyVersionId": policy.default_version_id}},
                   code, reason)


@lru_cache(maxsize=8192)
def statements_of(document: str) -> tuple[Statement, ...] | None:
    """Return the statements of a document with region/account widened, or None when it does not parse."""
    try:
        return tuple(widen_statement(s) for s in parse_policy(document))
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _broad_actions_of(document: str) -> tuple[str, ...]:
    """Return the data-plane actions a policy document grants broadly (cached per distinct text)."""
    statements = statements_of(document)
    return broad_data_plane_actions(statements) if statements else ()


# --- evaluation shared with the identity checks -------------------------------------------------------------

def broad_data_plane_actions(statements: Sequence[Statement]) -> tuple[str, ...]:
    """Return the data-plane actions (in :data:`DATA_PLANE_ACTIONS` order) that reach another device's resources.

    ``iot:Receive`` is never reported: a device only receives on topics it may subscribe to, so the Subscribe
    rule bounds it (the guide lists Receive on ``topic/$aws/things/*`` as compliant). ``iot:RetainPublish`` is not
    reported either (choice): the broker keeps no retained messages on reserved ``$aws`` topics, so it cannot
    reach another device's shadow or jobs; plain Publish covers the rest.
    """
    return tuple(a for a in DATA_PLANE_ACTIONS if _permits_any(statements, a, _probes(a)))


def broad_thing_access(statements: Sequence[Statement], actions: Iterable[str]) -> tuple[str, ...]:
    """Return those of ``actions`` (on thing resources) that reach a thing other than the caller's."""
    probe = (_PROBE_ARN + f"thing/{OTHER}",)
    return tuple(a for a in actions if _permits_any(statements, a, probe))


def permits(statements: Sequence[Statement], action: str, resource: str) -> bool:
    """Return True when an Allow grants ``action`` on ``resource`` and no unconditional Deny takes it away.

    Conditions never narrow an Allow (choice: the audit cannot know the request context), except that
    ``Bool iot:Connection.Thing.IsAttached = true`` ties ``${iot:ClientId}`` to the caller for iot:Connect. A Deny
    with a Condition removes nothing, for the same reason.
    """
    return _permits_any(statements, action, (resource,))


def _permits_any(statements: Sequence[Statement], action: str, resources: Iterable[str]) -> bool:
    """Return True when :func:`permits` holds for at least one of ``resources``."""
    allows = [s.resource_test(_bindings(s, action), grant_more=True)
              for s in statements if s.effect == ALLOW and s.covers_action(action)]
    if not allows:
        return False
    denies = [s.resource_test(_bindings(s, action), grant_more=False)
              for s in statements if s.effect == DENY and not s.conditions and s.covers_action(action)]
    return any(any(test(r) for test in allows) and not any(test(r) for test in denies) for r in resources)


def _bindings(statement: Statement, action: str) -> Bindings:
    """Return the variable bindings to read ``statement`` with for ``action``."""
    if action.lower() != CONNECT.lower():
        return SCOPED
    attached = statement.effect == ALLOW and "true" in (v.lower() for v in statement.condition_values(*_IS_ATTACHED))
    return SCOPED if attached else _ANY_CLIENT


def _probes(action: str) -> tuple[str, ...]:
    """Return the resources of other devices that ``action`` is tried on (none for Receive and RetainPublish)."""
    if action == CONNECT:
        return (_PROBE_ARN + f"client/{OTHER}",)
    if action == PUBLISH:
        return tuple(_PROBE_ARN + f"topic/{t}" for t in _OTHER_RESERVED_TOPICS)
    if action == SUBSCRIBE:
        return _subscribe_probes()
    if action in SHADOW_AND_JOB_ACTIONS:
        return (_PROBE_ARN + f"thing/{OTHER}",)
    return ()


@lru_cache(maxsize=1)
def _subscribe_probes() -> tuple[str, ...]:
    """Return topic-filter ARNs for every MQTT filter (``+``/``#`` included) that receives another thing's topics.

    The policy compares the requested filter as a string, so ``topicfilter/$aws/things/+/shadow/update`` allows the
    literal filter ``$aws/things/+/shadow/update``, which the broker then applies to every thing.
    """
    filters = dict.fromkeys(f for t in _OTHER_RESERVED_TOPICS for f in mqtt_filters_covering(t))
    return tuple(_PROBE_ARN + f"topicfilter/{f}" for f in filters)


@lru_cache(maxsize=1024)
def mqtt_filters_covering(topic: str) -> tuple[str, ...]:
    """Return every MQTT topic filter that matches ``topic``: levels kept or ``+``, optionally cut short by ``#``.

    A first level starting with ``$`` stays literal (MQTT wildcards do not match ``$`` topics there). Topics deeper
    than 8 levels get at most one ``+`` so the list stays small.
    """
    levels = topic.split("/")
    fixed = 1 if levels[0].startswith("$") else 0
    every_choice = len(levels) - fixed <= 8
    out: dict[str, None] = {}
    for length in range(len(levels) + 1):
        for head in _level_variants(levels[:length], fixed, every_choice):
            if length == len(levels):
                out["/".join(head)] = None
            if length >= fixed:
                out["/".join([*head, "#"])] = None
    return tuple(out)


def _level_variants(levels: list[str], fixed: int, every_choice: bool) -> Iterable[list[str]]:
    """Yield ``levels`` with levels after the first ``fixed`` replaced by ``+``: any choice, or one at a time."""
    if every_choice:
        for mask in product((False, True), repeat=max(len(levels) - fixed, 0)):
            yield levels[:fixed] + ["+" if plus else lvl for plus, lvl in zip(mask, levels[fixed:])]
    else:
        yield list(levels)
        for i in range(fixed, len(levels)):
            yield levels[:i] + ["+"] + levels[i + 1:]


# --- misconfiguration ---------------------------------------------------------------------------------------

@lru_cache(maxsize=8192)
def _misconfiguration_of(document: str) -> tuple[str, str] | None:
    """Return (reason code, reason text) for a misconfigured document, or None (cached per distinct text).

    When both problems are present the finding carries TOPIC_FILTERS_INTENDED_TO_DENY_ALLOWED_USING_WILDCARDS (a
    demonstrated way round the Deny) and the text mentions both.
    """
    statements = statements_of(document)
    if not statements:
        return None
    bypassed = denied_filters_reachable(statements)
    literal = mqtt_wildcards_in_deny(statements)
    sentences = []
    if bypassed:
        sentences.append("Policy denies subscribing to topic filters that other Allow statements still reach with "
                         f"broader filters, and allows receiving on them: [{_resources(bypassed)}].")
    if literal:
        sentences.append("Policy contains MQTT wildcards (+ or #) in Deny statements, where IoT policies treat them "
                         f"as literal characters: [{_resources(literal)}].")
    if not sentences:
        return None
    return (DENY_BYPASSED if bypassed else WILDCARDS_IN_DENY), " ".join(sentences)


def _resources(patterns: Sequence[str]) -> str:
    """Return the resource parts of ARN patterns (``topicfilter/a/#``), comma-separated, for a reason text."""
    return ", ".join(arn_resource(p) or p for p in patterns)


def mqtt_wildcards_in_deny(statements: Sequence[Statement]) -> tuple[str, ...]:
    """Return the topic / topic-filter resources of Deny statements that contain ``+`` or ``#``.

    Any Deny counts, with or without a Condition: the resource is misleading either way. Only the Resource element
    is read, and only ``topic/`` and ``topicfilter/`` resources (a ``+`` in a client id is no MQTT wildcard).
    """
    out = []
    for s in statements:
        if s.effect != DENY or s.not_resource:
            continue
        for pattern in s.resources:
            rest = arn_resource(pattern) or ""
            if rest.startswith(("topic/", "topicfilter/")) and ("+" in rest or "#" in rest):
                out.append(pattern)
    return tuple(dict.fromkeys(out))


def denied_filters_reachable(statements: Sequence[Statement]) -> tuple[str, ...]:
    """Return the ``*`` topic filters a Deny Subscribe names that the policy still lets the device receive.

    For each such filter, take one topic it denies (wildcards filled in, thing-scoping variables as the caller); it
    is reachable when a broader MQTT filter (with ``+`` or ``#``) covering that topic may be subscribed to and
    iot:Receive on the topic is allowed and not denied.
    """
    out = []
    for s in statements:
        if s.effect != DENY or s.not_resource or not s.covers_action(SUBSCRIBE):
            continue
        for pattern in s.resources:
            rest = arn_resource(pattern) or ""
            if rest.startswith("topicfilter/") and has_wildcard(rest) and _reachable(statements, rest):
                out.append(pattern)
    return tuple(dict.fromkeys(out))


def _reachable(statements: Sequence[Statement], denied_filter: str) -> bool:
    """Return True when a topic inside ``topicfilter/...`` ``denied_filter`` can be subscribed to and received."""
    topic = example_match(denied_filter.removeprefix("topicfilter/"), SCOPED, filler="probe")
    if not permits(statements, RECEIVE, _PROBE_ARN + f"topic/{topic}"):
        return False
    broader = (_PROBE_ARN + f"topicfilter/{f}" for f in mqtt_filters_covering(topic) if f != topic)
    return _permits_any(statements, SUBSCRIBE, broader)
