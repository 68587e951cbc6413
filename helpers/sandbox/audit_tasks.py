"""Audit tasks and their findings: what one audit run is, and how it runs the checks over a snapshot."""
from __future__ import annotations

import json
import logging
import threading
import uuid
from datetime import datetime
from typing import Any, Callable, Collection

from ..spec.checks import CHECKS
from ..spec.policies import missing_actions, trusts_service
from .checks import CheckResult, Finding, get_check
from .snapshot import Snapshot

log = logging.getLogger(__name__)
DEFAULT_CHECK_BUDGET_SECONDS = 60.0
_NAMESPACE = uuid.UUID("6f1c1f5e-9a53-4d1b-8f0e-5d8d0e6c2a11")



def resource_key(identifier: dict[str, Any]) -> str:
    """Return a canonical string for a ResourceIdentifier (used to match suppressions and make stable ids)."""
    return json.dumps(identifier, sort_keys=True, separators=(",", ":"))


class AuditFinding:
    """One non-compliant resource found by one check of one audit task."""

    def __init__(self, task: "AuditTask", check_name: str, finding: Finding, finding_time: datetime,
                 suppressed: bool) -> None:
        key = resource_key(finding.resource_identifier)
        self.finding_id = uuid.uuid5(_NAMESPACE, f"{task.task_id}|{check_name}|{key}").hex
        self.task_id = task.task_id
        self.task_start_time = task.start_time
        self.check_name = check_name
        self.finding_time = finding_time
        self.severity = CHECKS[check_name].severity
        self.resource_type = finding.resource_type
        self.resource_identifier = finding.resource_identifier
        self.resource_key = key
        self.additional_info = finding.additional_info
        self.related_resources = finding.related_resources
        self.reason_code = finding.reason_code
        self.reason = finding.reason
        self.is_suppressed = suppressed

    def to_dict(self, related_limit: int | None = None) -> dict[str, Any]:
        """Return the botocore ``AuditFinding`` shape (related resources cut to ``related_limit``)."""
        resource: dict[str, Any] = {"resourceType": self.resource_type, "resourceIdentifier": self.resource_identifier}
        if self.additional_info:
            resource["additionalInfo"] = self.additional_info
        out: dict[str, Any] = {
            "findingId": self.finding_id, "taskId": self.task_id, "checkName": self.check_name,
            "taskStartTime": self.task_start_time, "findingTime": self.finding_time, "severity": self.severity,
            "nonCompliantResource": resource, "reasonForNonCompliance": self.reason,
            "reasonForNonComplianceCode": self.reason_code, "isSuppressed": self.is_suppressed,
        }
        related = self.related_resources if related_limit is None else self.related_resources[:related_limit]
        if related and self.check_name != "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK":
            out["relatedResources"] = related
        return out


class AuditTask:
    """One audit run: its checks, their statuses and counts, and the overall status."""

    def __init__(self, task_type: str, check_names: list[str], start_time: datetime,
                 scheduled_audit_name: str | None = None) -> None:
        self.task_id = uuid.uuid4().hex
        self.task_type = task_type
        self.start_time = start_time
        self.scheduled_audit_name = scheduled_audit_name
        self.status = "IN_PROGRESS"
        self.cancel_requested = False
        self.details: dict[str, dict[str, Any]] = {name: {"checkRunStatus": "IN_PROGRESS"} for name in check_names}

    def statistics(self) -> dict[str, int]:
        """Return the botocore ``TaskStatistics`` of this task."""
        statuses = [d["checkRunStatus"] for d in self.details.values()]
        return {
            "totalChecks": len(statuses),
            "inProgressChecks": statuses.count("IN_PROGRESS"),
            "waitingForDataCollectionChecks": statuses.count("WAITING_FOR_DATA_COLLECTION"),
            "compliantChecks": statuses.count("COMPLETED_COMPLIANT"),
            "nonCompliantChecks": statuses.count("COMPLETED_NON_COMPLIANT"),
            "failedChecks": statuses.count("FAILED"),
            "canceledChecks": statuses.count("CANCELED"),
        }

    def describe(self) -> dict[str, Any]:
        """Return the DescribeAuditTask response of this task."""
        return {"taskStatus": self.status, "taskType": self.task_type, "taskStartTime": self.start_time,
                "taskStatistics": self.statistics(), "scheduledAuditName": self.scheduled_audit_name,
                "auditDetails": {k: dict(v) for k, v in self.details.items()}}

    def summary(self) -> dict[str, Any]:
        """Return the ListAuditTasks row of this task."""
        return {"taskId": self.task_id, "taskStatus": self.status, "taskType": self.task_type}


def role_problem(snap: Snapshot, role_arn: str | None, check_name: str) -> str | None:
    """Return why the audit role cannot run ``check_name`` (as AWS would report it), or None when it can."""
    if not role_arn:
        return "No audit role is configured: set roleArn with UpdateAccountAuditConfiguration."
    role = snap.roles.get(role_arn)
    if role is None:
        return f"Device Defender could not assume the audit role {role_arn}: the role does not exist."
    if not trusts_service(role.assume_role_policy):
        return (f"Device Defender could not assume the audit role {role_arn}: its trust policy does not allow "
                "iot.amazonaws.com to call sts:AssumeRole.")
    missing = missing_actions(role.policy_documents, CHECKS[check_name].required_role_actions)
    if missing:
        return (f"The audit role {role_arn} is missing permissions for this check: {', '.join(missing)}. "
                "Attach the AWS managed policy AWSIoTDeviceDefenderAudit.")
    return None


class CheckOverBudget(Exception):
    """A check ran longer than its budget; the audit reports it FAILED and goes on."""


def evaluate_within(check: Callable[[Snapshot], CheckResult], snap: Snapshot, budget_seconds: float) -> CheckResult:
    """Return ``check(snap)``, or raise CheckOverBudget when it takes longer than ``budget_seconds``.

    The check runs on a daemon thread over the immutable snapshot, so one that never ends costs a thread and CPU,
    never the audit, the state lock or the server."""
    outcome: list[Any] = []

    def work() -> None:
        try:
            outcome.append(check(snap))
        except BaseException as exc:  # handed back to the audit's thread
            outcome.append(exc)

    worker = threading.Thread(target=work, name="audit-check", daemon=True)
    worker.start()
    worker.join(budget_seconds)
    if not outcome:
        raise CheckOverBudget(f"the check ran longer than its {budget_seconds:g} s budget")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def run_checks(task: AuditTask, snap: Snapshot, role_arn: str | None, enabled: Collection[str],
               is_suppressed: Callable[[str, dict[str, Any], datetime], bool],
               budget_seconds: float = DEFAULT_CHECK_BUDGET_SECONDS) -> list[AuditFinding]:
    """Evaluate every check of ``task`` over ``snap`` with the audit role ``role_arn`` and the ``enabled`` checks,
    each within ``budget_seconds``; fill in the task's details and return the findings (suppressed ones marked by
    ``is_suppressed``)."""
    findings: list[AuditFinding] = []
    for name in list(task.details):
        if task.cancel_requested:
            break
        detail = task.details[name]
        problem = role_problem(snap, role_arn, name)
        if problem:
            detail.update(checkRunStatus="FAILED", errorCode="INSUFFICIENT_PERMISSIONS", message=problem)
            continue
        if name not in enabled:
            detail.update(checkRunStatus="FAILED", errorCode="AUDIT_CHECK_DISABLED",
                          message=f"{name} was disabled while the audit ran.")
            continue
        try:
            result = evaluate_within(get_check(name), snap, budget_seconds)
        except CheckOverBudget as exc:
            log.warning("check %s of audit %s: %s", name, task.task_id, exc)
            detail.update(checkRunStatus="FAILED", message=f"The sandbox stopped waiting for {name}: {exc}.")
            continue
        except Exception as exc:  # a bug in one check must not lose the others
            log.exception("check %s failed", name)
            detail.update(checkRunStatus="FAILED", message=f"The sandbox could not evaluate {name}: {exc!r}")
            continue
        if result.waiting_for_data is not None:
            detail.update(checkRunStatus="WAITING_FOR_DATA_COLLECTION", message=result.waiting_for_data)
            continue
        found = [AuditFinding(task, name, f, snap.now, is_suppressed(name, f.resource_identifier, snap.now))
                 for f in result.findings]
        findings.extend(found)
        suppressed = sum(f.is_suppressed for f in found)
        compliant = len(found) == suppressed
        detail.update(checkRunStatus="COMPLETED_COMPLIANT" if compliant else "COMPLETED_NON_COMPLIANT",
                      checkCompliant=compliant, totalResourcesCount=result.total_resources,
                      nonCompliantResourcesCount=len(found), suppressedNonCompliantResourcesCount=suppressed)
    return findings


def finish(task: AuditTask) -> None:
    """Set the final task status from the check statuses (cancelled checks marked CANCELED)."""
    if task.cancel_requested:
        for detail in task.details.values():
            if detail["checkRunStatus"] == "IN_PROGRESS":
                detail["checkRunStatus"] = "CANCELED"
        task.status = "CANCELED"
        return
    statuses = {d["checkRunStatus"] for d in task.details.values()}
    # UNCONFIRMED: COMPLETED when at least one check completed; FAILED only when every check failed.
    task.status = "FAILED" if statuses == {"FAILED"} else "COMPLETED"


def notification(task: AuditTask, account_id: str) -> dict[str, Any]:
    """Return the audit notification AWS publishes to the SNS target when a task ends."""
    stats = task.statistics()
    details = []
    for name, d in task.details.items():
        row = {"checkName": name, "checkRunStatus": d["checkRunStatus"],
               "nonCompliantResourcesCount": d.get("nonCompliantResourcesCount", 0),
               "suppressedNonCompliantResourcesCount": d.get("suppressedNonCompliantResourcesCount", 0),
               "totalResourcesCount": d.get("totalResourcesCount", 0)}
        for key in ("message", "errorCode"):
            if key in d:
                row[key] = d[key]
        details.append(row)
    message: dict[str, Any] = {
        "accountId": account_id, "taskId": task.task_id, "taskStatus": task.status, "taskType": task.task_type,
        "failedChecksCount": stats["failedChecks"], "canceledChecksCount": stats["canceledChecks"],
        "nonCompliantChecksCount": stats["nonCompliantChecks"], "compliantChecksCount": stats["compliantChecks"],
        "totalChecksCount": stats["totalChecks"], "taskStartTime": int(task.start_time.timestamp() * 1000),
        "auditDetails": details,
    }
    if task.scheduled_audit_name:
        message["scheduledAuditName"] = task.scheduled_audit_name
    return message
