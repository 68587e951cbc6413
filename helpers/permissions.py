"""Which IAM actions the workshop needs: from AWS API operations (as the sandbox records them) to IAM actions, and
whether a policy document allows them all.

``iam/attendee-policy.json`` is the policy an attendee needs to run the notebooks in aws mode;
``iam/notebook-operations.json`` lists the operations a sandbox run of the notebooks made. The coverage test checks
``missing_actions(policy, recorded + AWS_ONLY_OPERATIONS + UNRECORDED_OPERATIONS) == []``.

Operation → action: an IAM action is usually ``<service prefix>:<operation name>``. The exceptions the workshop can
meet are listed in :data:`OPERATION_ACTIONS`; for AWS IoT they come from botocore's ``iot`` model, whose documentation
of every operation says "Requires permission to access the <action> action" (``tests/test_permissions.py`` checks the
table against it). Some operations need more than their own action (:data:`IMPLICIT`): passing a role ARN to a
service needs ``iam:PassRole``; creating a resource with tags needs the service's tagging action.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Union

from .spec.policies import ALLOW, DENY, parse_policy
from .spec.request_needs import NO_PERMISSION, OPERATION_ACTIONS, SERVICE_PREFIXES, iam_action  # noqa: F401

Operation = tuple[str, str]  # (botocore signing service name, operation name), e.g. ("iot", "ListThings")
OperationLike = Union[Operation, Mapping[str, Any]]  # also {"service": ..., "operation": ...} as the sandbox lists them

# Actions an operation needs besides its own, as the workshop calls it: every role ARN handed to a service needs
# iam:PassRole (IAM's rule for passing roles; the Device Defender permissions page shows it for its roles); creating
# with tags needs the tagging action (documented for sns:CreateTopic and iam:CreateRole; assumed for AWS IoT).
IMPLICIT: dict[Operation, tuple[str, ...]] = {
    ("iot", "UpdateAccountAuditConfiguration"): ("iam:PassRole",),  # roleArn, SNS target roleArn
    ("iot", "CreateMitigationAction"): ("iam:PassRole", "iot:TagResource"),  # roleArn (+ roleArnForLogging), tags
    ("iot", "UpdateMitigationAction"): ("iam:PassRole",),
    ("iot", "SetV2LoggingOptions"): ("iam:PassRole",),
    ("iot", "SetLoggingOptions"): ("iam:PassRole",),
    ("iot", "CreateRoleAlias"): ("iam:PassRole", "iot:TagResource"),
    ("iot", "UpdateRoleAlias"): ("iam:PassRole",),
    ("iot", "CreatePolicy"): ("iot:TagResource",),
    ("iot", "CreateThingGroup"): ("iot:TagResource",),
    ("iot", "CreateScheduledAudit"): ("iot:TagResource",),
    ("iot", "RegisterCACertificate"): ("iot:TagResource",),
    ("cognito-identity", "SetIdentityPoolRoles"): ("iam:PassRole",),
    ("cognito-identity", "CreateIdentityPool"): ("cognito-identity:TagResource",),
    ("iam", "CreateRole"): ("iam:TagRole",),
    ("sns", "CreateTopic"): ("sns:TagResource",),
}

# Operations the helpers make only against a real account (``is_sandbox()`` branches): a sandbox run cannot record
# them.
AWS_ONLY_OPERATIONS: dict[Operation, str] = {
    ("iot", "DescribeEndpoint"): "fleet.connect_devices: the devices connect over MQTT to the account's endpoint",
    ("sns", "GetTopicAttributes"): "fleet.build_workshop_environment: is a BadDevices topic already there?",
    ("sns", "ListTagsForResource"): "fleet.build_workshop_environment: did the workshop make that BadDevices topic?",
    ("sts", "GetCallerIdentity"): "the banner, the account guard and the topic ARN's partition (no permission)",
}

# Operations the notebooks make in aws mode that a sandbox run of them does not record: they depend on what the
# account already holds, on re-running a notebook, or on a widget click.
UNRECORDED_OPERATIONS: dict[Operation, str] = {
    ("iot", "CancelAuditTask"): "the Cancel button of widgets.start_audit_panel (02)",
    ("iot", "CreateAuditSuppression"): "05 suppresses expiring-certificate findings when the account has some",
    ("iot", "UpdateAuditSuppression"): "05 run again: the suppression exists already",
    ("iot", "DeleteAuditSuppression"): "99 deletes the workshop's suppressions",
    ("iot", "DescribeRoleAlias"): "99 reads every role alias of the account to find the workshop's",
    ("cognito-identity", "DescribeIdentityPool"): "99 reads the tags of every identity pool of the account",
    ("iam", "GetRolePolicy"): "settings.inspect_role reads inline policies when a configured role has some",
    ("iot", "GetPolicyVersion"): "01-05 run again after 05: build_workshop_environment finds DevicePolicy's original "
                                 "version",
    ("iot", "SetDefaultPolicyVersion"): "01-05 run again after 05: ... and makes it the default again (undoing 05's "
                                        "REPLACE_DEFAULT_POLICY_VERSION mitigation)",
    ("iot", "SetV2LoggingOptions"): "01-05 run again after 05: build_workshop_environment turns off the logging 05's "
                                    "ENABLE_IOT_LOGGING mitigation turned on",
}

# Operations a sandbox run records that the attendee policy deliberately does not grant: only
# helpers.fleet.build_fleet makes them (its CAs, role aliases, Cognito pools and their inline-policy roles), and
# notebook 05 builds a fleet only in the sandbox. missing_actions() skips them unless asked not to.
SANDBOX_ONLY_OPERATIONS: dict[Operation, str] = {
    ("iot", "GetRegistrationCode"): "build_fleet registers its own CAs",
    ("iot", "RegisterCACertificate"): "build_fleet registers its own CAs",
    ("iot", "UpdateCACertificate"): "clean-up of build_fleet's CAs",
    ("iot", "DeleteCACertificate"): "clean-up of build_fleet's CAs",
    ("iot", "CreateRoleAlias"): "build_fleet's role aliases (would let a device certificate obtain the role)",
    ("iot", "DeleteRoleAlias"): "clean-up of build_fleet's role aliases",
    ("iam", "PutRolePolicy"): "build_fleet's deliberately over-permissive role-alias and Cognito roles",
    ("cognito-identity", "CreateIdentityPool"): "build_fleet's identity pools",
    ("cognito-identity", "SetIdentityPoolRoles"): "build_fleet's identity pools",
    ("cognito-identity", "DeleteIdentityPool"): "clean-up of build_fleet's identity pools",
}

UNIDENTIFIED = "?"  # the operation the sandbox logs for a request it could not identify


def _operation(item: OperationLike) -> Operation:
    """Return an operation given as a (service, operation) pair or as a {"service", "operation"} mapping."""
    if isinstance(item, Mapping):
        return str(item["service"]), str(item["operation"])
    service, operation = item
    return str(service), str(operation)


def required_actions(operations: Iterable[OperationLike], *, include_sandbox_only: bool = False) -> set[str]:
    """Return the IAM actions the ``operations`` need, implicit ones included (unidentified "?" requests, operations
    needing no permission and, unless ``include_sandbox_only``, :data:`SANDBOX_ONLY_OPERATIONS` need nothing)."""
    actions: set[str] = set()
    for item in operations:
        op = _operation(item)
        if op[1] in ("", UNIDENTIFIED) or op in NO_PERMISSION:
            continue
        if op in SANDBOX_ONLY_OPERATIONS and not include_sandbox_only:
            continue
        actions.add(iam_action(*op))
        actions.update(IMPLICIT.get(op, ()))
    return actions


def allows(policy: Mapping[str, Any] | str, action: str) -> bool:
    """Return True when some Allow statement of ``policy`` matches ``action`` (Action/NotAction wildcards) and no
    unconditional Deny on every resource matches it."""

    statements = parse_policy(policy)
    if any(st.effect == DENY and st.covers_action(action) and "*" in st.resources and not st.not_resource
           and not st.conditions for st in statements):
        return False
    return any(st.effect == ALLOW and st.covers_action(action) for st in statements)


def missing_actions(policy: Mapping[str, Any] | str, operations: Iterable[OperationLike], *,
                    include_sandbox_only: bool = False) -> list[str]:
    """Return, sorted, the IAM actions ``operations`` need that ``policy`` does not allow.

    A coverage check, not an IAM simulator: it reads Action/NotAction (``*`` and ``?`` wildcards, case-insensitive)
    and ignores Resource and Condition (a statement scoped to the workshop's roles or topic counts as allowing its
    actions), so it answers "is every operation granted at all?". Operations are (service, operation) pairs or
    {"service", "operation"} mappings as ``GET /_sandbox/operations`` lists them; see :func:`required_actions` for
    the ones that need nothing.
    """
    return sorted(a for a in required_actions(operations, include_sandbox_only=include_sandbox_only)
                  if not allows(policy, a))
