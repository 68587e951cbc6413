"""The six mitigation action types as AWS defines them: the ``actionParams`` member each is set by, the AWS managed
policy its role needs, the permissions that policy grants, and what the action changes.

Which types apply to which check is a fact of the check: ``helpers.spec.checks.CheckInfo.allowed_actions``.
Source: ../shared/reference/device-defender-audit.md §2 (types, parameters, roles).
"""
from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class ActionType:
    """One mitigation action type."""

    name: str
    params_member: str  # the member of actionParams that selects this type
    managed_policy: str  # the AWS managed policy for the action's role
    required_role_actions: tuple[str, ...]  # what that role must allow
    effect: str  # what the action changes, for people


ACTION_TYPES: dict[str, ActionType] = {
    a.name: a
    for a in (
        ActionType("UPDATE_DEVICE_CERTIFICATE", "updateDeviceCertificateParams",
                   "AWSIoTDeviceDefenderUpdateDeviceCertMitigationAction", ("iot:UpdateCertificate",),
                   "deactivates the device certificate (devices using it can no longer connect)"),
        ActionType("UPDATE_CA_CERTIFICATE", "updateCACertificateParams",
                   "AWSIoTDeviceDefenderUpdateCACertMitigationAction", ("iot:UpdateCACertificate",),
                   "deactivates the CA certificate (no new device certificates it signed can register)"),
        ActionType("ADD_THINGS_TO_THING_GROUP", "addThingsToThingGroupParams",
                   "AWSIoTDeviceDefenderAddThingsToThingGroupMitigationAction",
                   ("iot:ListPrincipalThings", "iot:AddThingToThingGroup"),
                   "adds the things using the certificate to thing group(s), e.g. a quarantine group"),
        ActionType("REPLACE_DEFAULT_POLICY_VERSION", "replaceDefaultPolicyVersionParams",
                   "AWSIoTDeviceDefenderReplaceDefaultPolicyMitigationAction", ("iot:CreatePolicyVersion",),
                   "makes a blank policy version the default (the policy then allows nothing)"),
        ActionType("ENABLE_IOT_LOGGING", "enableIoTLoggingParams",
                   "AWSIoTDeviceDefenderEnableIoTLoggingMitigationAction", ("iot:SetV2LoggingOptions", "iam:PassRole"),
                   "turns on AWS IoT logging to CloudWatch at the chosen level"),
        ActionType("PUBLISH_FINDING_TO_SNS", "publishFindingToSnsParams",
                   "AWSIoTDeviceDefenderPublishFindingsToSNSMitigationAction", ("sns:Publish",),
                   "publishes the finding to an SNS topic"),
    )
}
ACTION_TYPE_NAMES: tuple[str, ...] = tuple(ACTION_TYPES)
PARAM_TYPES: dict[str, str] = {a.params_member: a.name for a in ACTION_TYPES.values()}
LOGGING_LEVELS = ("DEBUG", "INFO", "ERROR", "WARN")  # DISABLED is not allowed for ENABLE_IOT_LOGGING
BLANK_POLICY = json.dumps({"Version": "2012-10-17", "Statement": []})  # UNCONFIRMED: AWS's exact blank template
