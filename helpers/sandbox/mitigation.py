"""Mitigation actions and audit mitigation tasks: definitions, validation, and the executor that changes state.

Rules: ../shared/reference/device-defender-audit.md §2 (types, parameters, roles) and §3.4 (task semantics).
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Any, Mapping

from ..spec.actions import ACTION_TYPES, LOGGING_LEVELS as LOG_LEVELS, PARAM_TYPES
from ..spec.checks import CHECKS
from ..spec.policies import missing_actions, trusts_service
from .audit_tasks import AuditFinding
from .exceptions import InvalidRequestException
from .snapshot import RoleInfo
from .validation import ROLE_ARN_RE

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
TASK_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
TOKEN_RE = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
GROUP_RE = re.compile(r"^[a-zA-Z0-9:_-]{1,128}$")
MAX_ACTIONS = 100
MAX_RUNNING_TASKS = 10


def validate_params(params: Any) -> str:
    """Return the action type of ``params``, or raise InvalidRequestException naming what is wrong."""
    if not isinstance(params, dict) or len(params) != 1 or next(iter(params)) not in PARAM_TYPES:
        raise InvalidRequestException(
            "actionParams must set exactly one of " + ", ".join(PARAM_TYPES) + " (one type of change per action).")
    member, value = next(iter(params.items()))
    if not isinstance(value, dict):
        raise InvalidRequestException(f"actionParams.{member} must be an object.")
    kind = PARAM_TYPES[member]
    if kind in ("UPDATE_DEVICE_CERTIFICATE", "UPDATE_CA_CERTIFICATE") and value.get("action") != "DEACTIVATE":
        raise InvalidRequestException(f"actionParams.{member}.action must be DEACTIVATE.")
    if kind == "REPLACE_DEFAULT_POLICY_VERSION" and value.get("templateName") != "BLANK_POLICY":
        raise InvalidRequestException(f"actionParams.{member}.templateName must be BLANK_POLICY.")
    if kind == "ADD_THINGS_TO_THING_GROUP":
        groups = value.get("thingGroupNames")
        if not isinstance(groups, list) or not 1 <= len(groups) <= 10 or not all(
                isinstance(g, str) and GROUP_RE.match(g) for g in groups):
            raise InvalidRequestException(f"actionParams.{member}.thingGroupNames must list 1 to 10 thing group names.")
        if not isinstance(value.get("overrideDynamicGroups", False), bool):
            raise InvalidRequestException(f"actionParams.{member}.overrideDynamicGroups must be true or false.")
    if kind == "ENABLE_IOT_LOGGING":
        role = value.get("roleArnForLogging")
        if not isinstance(role, str) or not ROLE_ARN_RE.match(role):
            raise InvalidRequestException(f"actionParams.{member}.roleArnForLogging must be an IAM role ARN.")
        if value.get("logLevel") not in LOG_LEVELS:
            raise InvalidRequestException(
                f"actionParams.{member}.logLevel must be one of {', '.join(LOG_LEVELS)} (DISABLED would not enable logging).")
    if kind == "PUBLISH_FINDING_TO_SNS":
        topic = value.get("topicArn")
        if not isinstance(topic, str) or ":sns:" not in topic or len(topic) > 350:
            raise InvalidRequestException(f"actionParams.{member}.topicArn must be an SNS topic ARN.")
    return kind


class MitigationAction:
    """A named, reusable mitigation: one type of change and the role Device Defender uses to make it."""

    def __init__(self, name: str, role_arn: str, params: dict[str, Any], region: str, account: str,
                 now: datetime) -> None:
        self.name = name
        self.role_arn = role_arn
        self.params = params
        self.action_type = validate_params(params)
        self.action_id = str(uuid.uuid4())
        self.arn = f"arn:aws:iot:{region}:{account}:mitigationaction/{name}"
        self.creation_date = now
        self.last_modified_date = now

    def describe(self) -> dict[str, Any]:
        """Return DescribeMitigationAction."""
        return {"actionName": self.name, "actionType": self.action_type, "actionArn": self.arn,
                "actionId": self.action_id, "roleArn": self.role_arn, "actionParams": self.params,
                "creationDate": self.creation_date, "lastModifiedDate": self.last_modified_date}

    def definition(self) -> dict[str, Any]:
        """Return the snapshot of this action kept in a task's actionsDefinition."""
        return {"name": self.name, "id": self.action_id, "roleArn": self.role_arn,
                "actionParams": json.loads(json.dumps(self.params))}


class Execution:
    """One action applied to one finding."""

    def __init__(self, task_id: str, finding_id: str, action: MitigationAction) -> None:
        self.task_id, self.finding_id = task_id, finding_id
        self.action_name, self.action_id = action.name, action.action_id
        self.status = "PENDING"
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None
        self.error_code: str | None = None
        self.message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the ListAuditMitigationActionsExecutions row."""
        return {"taskId": self.task_id, "findingId": self.finding_id, "actionName": self.action_name,
                "actionId": self.action_id, "status": self.status, "startTime": self.start_time,
                "endTime": self.end_time, "errorCode": self.error_code, "message": self.message}


class MitigationTask:
    """An audit mitigation actions task: which findings, which actions per check, and what happened."""

    def __init__(self, task_id: str, token: str, target: dict[str, Any], mapping: dict[str, list[str]],
                 actions: dict[str, MitigationAction], findings: list[AuditFinding], now: datetime) -> None:
        self.task_id, self.token = task_id, token
        self.target, self.mapping = target, mapping
        self.definitions = [actions[n].definition() for n in dict.fromkeys(a for names in mapping.values() for a in names)]
        self.actions = actions
        self.start_time, self.end_time = now, None
        self.status = "IN_PROGRESS"
        self.cancel_requested = False
        self.finding_ids = [f.finding_id for f in findings]
        self.executions: dict[str, list[Execution]] = {
            f.finding_id: [Execution(task_id, f.finding_id, actions[n]) for n in mapping.get(f.check_name, [])]
            for f in findings}
        self.check_of = {f.finding_id: f.check_name for f in findings}

    def statistics(self) -> dict[str, dict[str, int]]:
        """Return taskStatistics: per check, findings total, failed, succeeded, skipped, canceled."""
        stats: dict[str, dict[str, int]] = {}
        for finding_id, runs in self.executions.items():
            s = stats.setdefault(self.check_of[finding_id], {"totalFindingsCount": 0, "failedFindingsCount": 0,
                                                              "succeededFindingsCount": 0, "skippedFindingsCount": 0,
                                                              "canceledFindingsCount": 0})
            s["totalFindingsCount"] += 1
            statuses = {e.status for e in runs}
            if "FAILED" in statuses:
                s["failedFindingsCount"] += 1
            elif "CANCELED" in statuses:
                s["canceledFindingsCount"] += 1
            elif runs and statuses == {"COMPLETED"}:
                s["succeededFindingsCount"] += 1
            elif not runs or statuses == {"SKIPPED"}:
                s["skippedFindingsCount"] += 1
        return stats

    def describe(self) -> dict[str, Any]:
        """Return DescribeAuditMitigationActionsTask."""
        return {"taskStatus": self.status, "startTime": self.start_time, "endTime": self.end_time,
                "taskStatistics": self.statistics(), "target": self.target,
                "auditCheckToActionsMapping": self.mapping, "actionsDefinition": self.definitions}

    def summary(self) -> dict[str, Any]:
        """Return the ListAuditMitigationActionsTasks row."""
        return {"taskId": self.task_id, "startTime": self.start_time, "taskStatus": self.status}


def validate_mapping(mapping: Any, actions: dict[str, MitigationAction]) -> dict[str, list[str]]:
    """Return the check -> action names mapping if every pair is one AWS allows, else raise InvalidRequestException."""
    if not isinstance(mapping, dict) or not mapping:
        raise InvalidRequestException("auditCheckToActionsMapping must map check names to lists of action names.")
    for check, names in mapping.items():
        if check not in CHECKS:
            raise InvalidRequestException(f"Audit check name {check} is not a valid audit check name.")
        if not isinstance(names, list) or not 1 <= len(names) <= 5:
            raise InvalidRequestException(f"auditCheckToActionsMapping.{check} must list 1 to 5 mitigation action names.")
        for name in names:
            action = actions.get(name)
            if action is None:
                raise InvalidRequestException(f"Mitigation action {name} does not exist: create it first.")
            if action.action_type not in CHECKS[check].allowed_actions:
                allowed = ", ".join(CHECKS[check].allowed_actions)
                raise InvalidRequestException(
                    f"Mitigation action {name} ({action.action_type}) cannot be applied to {check}; "
                    f"allowed types for that check: {allowed}.")
    return {k: list(v) for k, v in mapping.items()}


def role_problem(roles: Mapping[str, RoleInfo], action: MitigationAction) -> str | None:
    """Return why the action's role (looked up in ``roles``) cannot make its change (the execution then FAILS), or
    None."""
    role = roles.get(action.role_arn)
    if role is None:
        return f"The role {action.role_arn} does not exist."
    if not trusts_service(role.assume_role_policy):
        return f"The role {action.role_arn} does not trust iot.amazonaws.com."
    missing = missing_actions(role.policy_documents, ACTION_TYPES[action.action_type].required_role_actions)
    if missing:
        return (f"The role {action.role_arn} does not allow {', '.join(missing)}, which "
                f"{action.action_type} needs. Attach the matching AWSIoTDeviceDefender*MitigationAction policy.")
    return None
