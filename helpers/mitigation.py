"""Module §2, mitigation: define mitigation actions (each with a role carrying the right AWS managed policy), check
a check → actions mapping before calling AWS, preview what a task will change, start it (confirmed in a real
account), wait with progress, read its executions, and verify the effect.

Erratum of the original module: deactivating a certificate needs a role with
``AWSIoTDeviceDefenderUpdateDeviceCertMitigationAction`` (only ``iot:UpdateCertificate``), not the thing-group policy.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any, Callable, Iterable, Union

import pandas as pd
from botocore.exceptions import ClientError

from . import target
from .audits import AuditProgress, WidgetProgress, progress_reporter
from .checks import allowed_actions, resolve_check_name, title
from .errors import WorkshopError, aws_error, error_code
from .findings import certificate_ids_of, describe_finding
from .fleet_base import target_now, workshop_tags
from .spec.actions import ACTION_TYPES
from .spec.checks import CHECKS
from .safety import require_confirmation
from .settings import ensure_service_role

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
MAX_FINDING_IDS = 25


def _iot() -> Any:
    return target.client("iot")


def _action_type(action_type: str) -> str:
    kind = str(action_type).strip().upper().replace(" ", "_").replace("-", "_")
    if kind not in ACTION_TYPES:
        raise WorkshopError(f"{action_type!r} is not a mitigation action type.",
                            "Use one of: " + ", ".join(ACTION_TYPES) + ".")
    return kind


def action_types() -> pd.DataFrame:
    """Return the six action types: what each changes, its AWS managed policy, and the checks it fits."""
    rows = []
    for kind, info in ACTION_TYPES.items():
        fits = [n for n, spec in CHECKS.items() if kind in spec.allowed_actions]
        rows.append({"action type": kind, "what it does": info.effect, "role's managed policy": info.managed_policy,
                     "fits checks": ", ".join(title(n) for n in sorted(fits))})
    return pd.DataFrame(rows)


def action_params(action_type: str, *, thing_group_names: Iterable[str] | None = None,
                  override_dynamic_groups: bool = False, role_arn_for_logging: str | None = None,
                  log_level: str = "ERROR", topic_arn: str | None = None) -> dict[str, Any]:
    """Return the ``actionParams`` AWS expects for ``action_type`` (validated before any call)."""
    kind = _action_type(action_type)
    if kind == "UPDATE_DEVICE_CERTIFICATE":
        return {"updateDeviceCertificateParams": {"action": "DEACTIVATE"}}
    if kind == "UPDATE_CA_CERTIFICATE":
        return {"updateCACertificateParams": {"action": "DEACTIVATE"}}
    if kind == "REPLACE_DEFAULT_POLICY_VERSION":
        return {"replaceDefaultPolicyVersionParams": {"templateName": "BLANK_POLICY"}}
    if kind == "ADD_THINGS_TO_THING_GROUP":
        groups = list(thing_group_names or [])
        if not 1 <= len(groups) <= 10:
            raise WorkshopError("ADD_THINGS_TO_THING_GROUP needs 1 to 10 thing group names.",
                                "Pass thing_group_names=['Quarantine'] (create the group first).")
        return {"addThingsToThingGroupParams": {"thingGroupNames": groups,
                                                "overrideDynamicGroups": override_dynamic_groups}}
    if kind == "ENABLE_IOT_LOGGING":
        if not role_arn_for_logging:
            raise WorkshopError("ENABLE_IOT_LOGGING needs the role IoT uses to write logs.",
                                "Pass role_arn_for_logging=<ARN of a role trusted by iot.amazonaws.com with "
                                "CloudWatch Logs permissions>.")
        if log_level not in ("DEBUG", "INFO", "ERROR", "WARN"):
            raise WorkshopError(f"log_level={log_level!r} cannot enable logging.",
                                "Use DEBUG, INFO, ERROR or WARN (DISABLED is not allowed for this action).")
        return {"enableIoTLoggingParams": {"roleArnForLogging": role_arn_for_logging, "logLevel": log_level}}
    if not topic_arn:
        raise WorkshopError("PUBLISH_FINDING_TO_SNS needs a topic.", "Pass topic_arn=<SNS topic ARN>.")
    return {"publishFindingToSnsParams": {"topicArn": topic_arn}}


def create_mitigation_role(action_type: str, role_name: str | None = None) -> str:
    """Create (or reuse) the role for ``action_type``: trusted by IoT only, with its managed policy; return its ARN.

    AWS operations: [AttachRolePolicy](https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachRolePolicy.html),
    [CreateRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html),
    [GetRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html),
    [ListAttachedRolePolicies](https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedRolePolicies.html).
    """
    kind = _action_type(action_type)
    name = role_name or f"IoTMitigation-{kind.title().replace('_', '')}"
    return ensure_service_role(name, ACTION_TYPES[kind].managed_policy,
                                f"Lets Device Defender run {kind} mitigation actions.")[0]


def create_mitigation_action(action_name: str, action_type: str, *, role_arn: str | None = None,
                             tags: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    """Create the mitigation action (and its role when none is given), or reuse an identical one; return it.

    AWS operations:
    [CreateMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateMitigationAction.html),
    and those of the helpers it uses.
    """
    if not isinstance(action_name, str) or not NAME_RE.match(action_name):
        raise WorkshopError(f"{action_name!r} is not a valid mitigation action name.",
                            "Use 1 to 128 letters, digits, '_' or '-', e.g. 'Update-device-certificate'.")
    kind = _action_type(action_type)
    wanted = action_params(kind, **params)
    role = role_arn or create_mitigation_role(kind)
    existing = describe_mitigation_action(action_name, missing_ok=True)
    if existing is not None:
        if existing["actionParams"] != wanted or existing["actionType"] != kind:
            raise WorkshopError(f"A mitigation action {action_name} already exists with other settings "
                                f"({existing['actionType']}).",
                                "Choose another name, or delete it first with delete_mitigation_action(name, confirm=True).")
        return existing
    for attempt in range(6):
        try:
            _iot().create_mitigation_action(actionName=action_name, roleArn=role, actionParams=wanted,
                                            tags=workshop_tags(tags))
            break
        except ClientError as exc:
            # a role created seconds ago may not be assumable yet in a real account (IAM is eventually consistent)
            if error_code(exc) == "InvalidRequestException" and "role" in str(exc).lower() and attempt < 5:
                time.sleep(2 * (attempt + 1))
                continue
            raise aws_error(exc, f"Could not create the mitigation action {action_name}.",
                            "Check the role ARN and the parameters named in AWS's message.") from None
    return describe_mitigation_action(action_name)


def describe_mitigation_action(action_name: str, *, missing_ok: bool = False) -> dict[str, Any] | None:
    """Return DescribeMitigationAction for ``action_name`` (None when missing and ``missing_ok``).

    AWS operation:
    [DescribeMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeMitigationAction.html).
    """
    try:
        resp = _iot().describe_mitigation_action(actionName=action_name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            if missing_ok:
                return None
            raise WorkshopError(f"There is no mitigation action named {action_name}.",
                                "List them with list_mitigation_actions(), or create it with "
                                "create_mitigation_action(...).") from None
        raise aws_error(exc, f"Could not read the mitigation action {action_name}.", "See AWS's message.") from None
    resp.pop("ResponseMetadata", None)
    return resp


def list_mitigation_actions(action_type: str | None = None) -> pd.DataFrame:
    """Return the account's mitigation actions (name, type, role, created), every page.

    AWS operations:
    [ListMitigationActions](https://docs.aws.amazon.com/iot/latest/apireference/API_ListMitigationActions.html),
    [DescribeMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeMitigationAction.html).
    """
    kwargs = {"actionType": _action_type(action_type)} if action_type else {}
    names = [a["actionName"] for page in _iot().get_paginator("list_mitigation_actions").paginate(**kwargs)
             for a in page["actionIdentifiers"]]
    rows = []
    for name in names:
        d = describe_mitigation_action(name, missing_ok=True)
        if d is not None:
            rows.append({"action": name, "type": d["actionType"], "role": d["roleArn"].rsplit("/", 1)[-1],
                         "created": d["creationDate"], "arn": d["actionArn"]})
    return pd.DataFrame(rows, columns=["action", "type", "role", "created", "arn"])


def delete_mitigation_action(action_name: str, *, confirm: bool = False) -> str:
    """Delete a mitigation action (needs ``confirm=True`` in a real account); return what was done.

    AWS operations:
    [DeleteMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteMitigationAction.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    require_confirmation("Not done: this step", [f"deleting the mitigation action {action_name}"], confirm)
    _iot().delete_mitigation_action(actionName=action_name)
    return f"Deleted mitigation action {action_name} (if it existed)."


# -- the check -> actions mapping ----------------------------------------------------------------------------------
def validate_mapping(mapping: dict[str, Iterable[str] | str]) -> dict[str, list[str]]:
    """Return the mapping with canonical check names if every action exists and fits its check, else raise.

    AWS operation:
    [DescribeMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeMitigationAction.html).
    """
    example = "{'DEVICE_CERTIFICATE_SHARED_CHECK': ['Update-device-certificate']}"
    if not isinstance(mapping, dict):
        raise WorkshopError(f"The check → actions mapping must be a dict, not {type(mapping).__name__}.",
                            f"Map each check to the actions to apply, e.g. {example}.")
    if not mapping:
        raise WorkshopError("The check → actions mapping is empty.",
                            f"Map each check to the actions to apply, e.g. {example}.")
    out: dict[str, list[str]] = {}
    for check, names in mapping.items():
        name = resolve_check_name(check)
        iterable = isinstance(names, Iterable) and not isinstance(names, (bytes, dict))
        actions = [names] if isinstance(names, str) else list(names) if iterable else None
        if actions is None or not all(isinstance(a, str) for a in actions):
            raise WorkshopError(f"{name} maps to {names!r}, not to action names.",
                                f"Give a list of 1 to 5 mitigation action names, e.g. {example}.")
        if not 1 <= len(actions) <= 5:
            raise WorkshopError(f"{name} maps to {len(actions)} actions.", "Give 1 to 5 actions per check.")
        for action in actions:
            described = describe_mitigation_action(action)
            assert described is not None
            if described["actionType"] not in allowed_actions(name):
                raise WorkshopError(
                    f"{action} ({described['actionType']}) cannot be applied to {title(name)} ({name}).",
                    f"Actions allowed for {name}: {', '.join(allowed_actions(name))}. Choose or create one of those.")
        out[name] = actions
    return out


def _effect(action: dict[str, Any], finding: dict[str, Any]) -> str:
    kind, ident = action["actionType"], finding["nonCompliantResource"]["resourceIdentifier"]
    if kind == "UPDATE_DEVICE_CERTIFICATE":
        return "deactivate certificate(s) " + ", ".join(c[:12] + "…" for c in certificate_ids_of(finding))
    if kind == "UPDATE_CA_CERTIFICATE":
        return f"deactivate CA certificate {ident.get('caCertificateId', '')[:12]}…"
    if kind == "ADD_THINGS_TO_THING_GROUP":
        groups = action["actionParams"]["addThingsToThingGroupParams"]["thingGroupNames"]
        return f"add the certificate's things to {', '.join(groups)}"
    if kind == "REPLACE_DEFAULT_POLICY_VERSION":
        return f"make a blank version the default of policy {ident.get('policyVersionIdentifier', {}).get('policyName')}"
    if kind == "ENABLE_IOT_LOGGING":
        return f"enable logging at {action['actionParams']['enableIoTLoggingParams']['logLevel']}"
    return f"publish the finding to {action['actionParams']['publishFindingToSnsParams']['topicArn']}"


def _findings_for(finding_ids: Iterable[str] | None, audit_task_id: str | None) -> list[dict[str, Any]]:
    if (finding_ids is None) == (audit_task_id is None):
        raise WorkshopError("Say which findings to mitigate.",
                            "Pass finding_ids=[...] (1 to 25) or audit_task_id=<audit> (all its findings).")
    if finding_ids is not None:
        ids = list(dict.fromkeys(finding_ids))
        if not 1 <= len(ids) <= MAX_FINDING_IDS:
            raise WorkshopError(f"{len(ids)} finding ids given; a task takes 1 to {MAX_FINDING_IDS}.",
                                "For more, target the whole audit: audit_task_id=<audit task id>.")
        return [describe_finding(f) for f in ids]
    try:
        return [f for page in _iot().get_paginator("list_audit_findings").paginate(taskId=audit_task_id)
                for f in page["findings"]]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise aws_error(exc, f"There is no audit {audit_task_id} in this account and region.",
                            "audits.audit_history() lists the audits of the last 90 days.") from None
        raise aws_error(exc, f"Could not read the findings of audit {audit_task_id}.",
                        "Pass the task id of an audit, e.g. audits.latest_on_demand_audit().") from None


def preview_mitigation(mapping: dict[str, Iterable[str] | str], *, finding_ids: Iterable[str] | None = None,
                       audit_task_id: str | None = None) -> pd.DataFrame:
    """Return what a mitigation task would change: one row per finding and action (suppressed ones skipped).

    AWS operations:
    [DescribeAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditFinding.html),
    [DescribeMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeMitigationAction.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    checked = validate_mapping(mapping)
    actions = {name: describe_mitigation_action(name) for names in checked.values() for name in names}
    rows = []
    for f in _findings_for(finding_ids, audit_task_id):
        for name in checked.get(f["checkName"], []):
            rows.append({"finding": f["findingId"], "check": f["checkName"], "action": name,
                         "will": "skip (suppressed)" if f.get("isSuppressed") else _effect(actions[name], f)})
    return pd.DataFrame(rows, columns=["finding", "check", "action", "will"])


def start_mitigation_task(mapping: dict[str, Iterable[str] | str], *, finding_ids: Iterable[str] | None = None,
                          audit_task_id: str | None = None, task_name: str | None = None,
                          reason_codes: dict[str, list[str]] | None = None, confirm: bool = False) -> str:
    """Start an audit mitigation task after validating the mapping (``confirm=True`` in a real account); return its id.

    AWS operations:
    [StartAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartAuditMitigationActionsTask.html),
    [DescribeAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditFinding.html),
    [DescribeMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeMitigationAction.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    checked = validate_mapping(mapping)
    preview = preview_mitigation(checked, finding_ids=finding_ids, audit_task_id=audit_task_id)
    require_confirmation(f"Not started: this mitigation task ({len(preview)} change(s))",
                         [f"finding {r.finding} ({r.check}), {r.action}: {r.will}" for r in preview.itertuples()],
                         confirm)
    task_id = task_name or f"mitigation-{uuid.uuid4().hex[:12]}"
    if not isinstance(task_id, str) or not NAME_RE.match(task_id):
        raise WorkshopError(f"{task_id!r} is not a valid task name.", "Use 1 to 128 letters, digits, '_' or '-'.")
    task_target: dict[str, Any] = ({"findingIds": list(dict.fromkeys(finding_ids))} if finding_ids is not None
                                   else {"auditTaskId": audit_task_id})
    if reason_codes:
        task_target["auditCheckToReasonCodeFilter"] = reason_codes
    # the same name, findings and actions give the same token (a re-run cell finds its task); other findings under
    # an existing name get TaskAlreadyExistsException instead of that old task
    token = uuid.uuid5(uuid.NAMESPACE_URL, json.dumps([task_id, task_target, checked], sort_keys=True)).hex
    try:
        return _iot().start_audit_mitigation_actions_task(
            taskId=task_id, target=task_target, auditCheckToActionsMapping=checked, clientRequestToken=token)["taskId"]
    except ClientError as exc:
        fix = ("Task names are unique and this one already ran on other findings or actions: choose another "
               "task_name (e.g. add the audit's task id)." if error_code(exc) == "TaskAlreadyExistsException"
               else "Correct what AWS's message names and try again.")
        raise aws_error(exc, f"Could not start the mitigation task {task_id}.", fix) from None


# -- waiting, executions, verification ------------------------------------------------------------------------------
class MitigationProgress(AuditProgress):
    """Where a mitigation task is: the audit progress's fields and displays, counted in findings."""

    def text(self) -> str:
        """Return a one-line summary of the task's progress."""
        return f"Mitigation {self.task_id}: {self.status} — {self.done}/{self.total} findings done ({self.elapsed:.0f} s)"

    @classmethod
    def from_task(cls, task_id: str, d: dict[str, Any], elapsed: float) -> "MitigationProgress":
        """Return the progress of a DescribeAuditMitigationActionsTask response."""
        stats = d.get("taskStatistics") or {}
        total = sum(s.get("totalFindingsCount", 0) for s in stats.values())
        done = sum(s.get(k, 0) for s in stats.values() for k in
                   ("failedFindingsCount", "succeededFindingsCount", "skippedFindingsCount", "canceledFindingsCount"))
        return cls(task_id, d["taskStatus"], done, total, elapsed, d)


def describe_mitigation_task(task_id: str) -> dict[str, Any]:
    """Return DescribeAuditMitigationActionsTask for ``task_id``.

    AWS operation:
    [DescribeAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditMitigationActionsTask.html).
    """
    if not isinstance(task_id, str) or not NAME_RE.match(task_id):
        raise WorkshopError(f"{task_id!r} is not a mitigation task id (1 to 128 letters, digits, '_' or '-').",
                            "Use the id start_mitigation_task() returned.")
    try:
        resp = _iot().describe_audit_mitigation_actions_task(taskId=task_id)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise WorkshopError(f"There is no mitigation task {task_id}.",
                                "Use the id start_mitigation_task() returned.") from None
        raise aws_error(exc, f"Could not read the mitigation task {task_id}.", "See AWS's message.") from None
    resp.pop("ResponseMetadata", None)
    return resp


def wait_for_mitigation_task(task_id: str, *, timeout: float = 600, poll_interval: float = 1.0,
                             progress: Union[str, bool, None, Callable[[Any], None]] = "auto") -> dict[str, Any]:
    """Wait until the mitigation task ends, showing progress; return its final description.

    AWS operation:
    [DescribeAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditMitigationActionsTask.html).
    """
    report = progress_reporter(progress)
    if isinstance(report, WidgetProgress):
        report.bar.description = "Mitigation"
    started = time.monotonic()
    while True:
        d = describe_mitigation_task(task_id)
        state = MitigationProgress.from_task(task_id, d, time.monotonic() - started)
        if report is not None:
            report(state)
        if state.finished:
            return d
        if state.elapsed >= timeout:
            raise WorkshopError(f"Mitigation task {task_id} is still running after {timeout:.0f} s.",
                                f"Wait again with wait_for_mitigation_task({task_id!r}, timeout=1800) or cancel it.")
        time.sleep(poll_interval)


def mitigation_executions(task_id: str) -> pd.DataFrame:
    """Return one row per finding and action of the task: status, times, error code and message.

    AWS operations:
    [ListAuditMitigationActionsExecutions](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditMitigationActionsExecutions.html),
    [DescribeAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditFinding.html),
    [DescribeAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditMitigationActionsTask.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    d = describe_mitigation_task(task_id)
    finding_ids = d["target"].get("findingIds") or [
        f["findingId"] for f in _findings_for(None, d["target"]["auditTaskId"]) if f["checkName"] in d["auditCheckToActionsMapping"]]
    rows = []
    for finding_id in finding_ids:
        for page in _iot().get_paginator("list_audit_mitigation_actions_executions").paginate(
                taskId=task_id, findingId=finding_id):
            for e in page["actionsExecutions"]:
                rows.append({"finding": finding_id, "action": e["actionName"], "status": e["status"],
                             "started": e.get("startTime"), "ended": e.get("endTime"),
                             "error": e.get("errorCode", ""), "message": e.get("message", "")})
    return pd.DataFrame(rows, columns=["finding", "action", "status", "started", "ended", "error", "message"])


def certificate_status(certificate_id: str) -> str:
    """Return the IoT status of a device certificate (e.g. ACTIVE, INACTIVE).

    AWS operation:
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html).
    """
    return _iot().describe_certificate(certificateId=certificate_id)["certificateDescription"]["status"]


def verify_certificates(certificate_ids: Iterable[str], expected: str = "INACTIVE") -> pd.DataFrame:
    """Return each certificate's status and whether it is ``expected`` (the check of §2.2).

    AWS operation:
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html).
    """
    rows = [{"certificate": c, "status": (s := certificate_status(c)), "as expected": s == expected}
            for c in certificate_ids]
    return pd.DataFrame(rows, columns=["certificate", "status", "as expected"])


def tasks_for_finding(finding_id: str, *, days: float = 30) -> pd.DataFrame:
    """Return the mitigation tasks of the last ``days`` that targeted ``finding_id`` (task, status, started), newest
    first: what was already done about a finding.

    AWS operation:
    [ListAuditMitigationActionsTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditMitigationActionsTasks.html).
    """
    end = pd.Timestamp(target_now(), unit="s", tz="UTC") + pd.Timedelta(minutes=5)  # the sandbox clock may be ahead
    rows = [{"task": t["taskId"], "status": t["taskStatus"], "started": t.get("startTime")}
            for page in _iot().get_paginator("list_audit_mitigation_actions_tasks").paginate(
                findingId=finding_id, startTime=end - pd.Timedelta(days=days), endTime=end)
            for t in page["tasks"]]
    frame = pd.DataFrame(rows, columns=["task", "status", "started"])
    return frame.sort_values("started", ascending=False, ignore_index=True) if rows else frame


def cancel_mitigation_task(task_id: str) -> str:
    """Cancel a running mitigation task (what already ran stays done); return what was done.

    AWS operation:
    [CancelAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_CancelAuditMitigationActionsTask.html).
    """
    try:
        _iot().cancel_audit_mitigation_actions_task(taskId=task_id)
    except ClientError as exc:
        raise aws_error(exc, f"Could not cancel the mitigation task {task_id}.",
                        "Only IN_PROGRESS tasks can be canceled.") from None
    return f"Canceled mitigation task {task_id}: actions not yet run were canceled; nothing was rolled back."


def ensure_thing_group(name: str, *, description: str = "") -> str:
    """Create the thing group (e.g. a quarantine group) if missing, tagged for clean-up; return its ARN.

    AWS operations:
    [DescribeThingGroup](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeThingGroup.html),
    [CreateThingGroup](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThingGroup.html).
    """
    iot = _iot()
    try:
        return iot.describe_thing_group(thingGroupName=name)["thingGroupArn"]
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise aws_error(exc, f"Could not look up the thing group {name}.", "Check your IoT permissions.") from None
    return iot.create_thing_group(thingGroupName=name,
                                  thingGroupProperties={"thingGroupDescription": description or name},
                                  tags=workshop_tags())["thingGroupArn"]


def things_in_thing_group(name: str) -> list[str]:
    """Return the names of the things in a thing group (e.g. those a quarantine action moved there).

    AWS operation:
    [ListThingsInThingGroup](https://docs.aws.amazon.com/iot/latest/apireference/API_ListThingsInThingGroup.html).
    """
    try:
        return [thing for page in _iot().get_paginator("list_things_in_thing_group").paginate(thingGroupName=name)
                for thing in page["things"]]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise aws_error(exc, f"There is no thing group {name}.",
                            f"Create it with mitigation.ensure_thing_group({name!r}), or check the name.") from None
        raise
