"""State of the local Device Defender: one backend per account and region, kept beside moto's IoT backend.

Shaped like a moto ``models`` module: plain classes holding the fields AWS returns, a ``BaseBackend`` subclass with
one method per operation, and a ``BackendDict`` so ``mock_aws`` and ``POST /moto-api/reset`` wipe it with the rest.
"""
from __future__ import annotations

import copy
import ipaddress
import json
import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from moto.core.base_backend import BackendDict, BaseBackend
from moto.iot.models import iot_backends
from moto.sns.models import sns_backends

from .audit_tasks import (DEFAULT_CHECK_BUDGET_SECONDS, AuditFinding, AuditTask, finish, notification, resource_key,
                          run_checks)
from .cognito import pool_roles
from .crl import load_crl
from ..spec.checks import CHECKS, CONFIG_DEFAULTS
from ..spec.policies import allows, trusts_service
from .exceptions import (
    InvalidRequestException,
    LimitExceededException,
    NotConfiguredException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    TaskAlreadyExistsException,
)
from .mitigation import (
    MAX_ACTIONS as MAX_MITIGATION_ACTIONS,
    MAX_RUNNING_TASKS as MAX_RUNNING_MITIGATION_TASKS,
    NAME_RE as MITIGATION_NAME_RE,
    PARAM_TYPES,
    TASK_ID_RE as MITIGATION_TASK_RE,
    TOKEN_RE as MITIGATION_TOKEN_RE,
    Execution,
    MitigationAction,
    MitigationTask,
    validate_mapping,
    validate_params,
)
from .locking import STATE_LOCK
from .mitigation import role_problem as mitigation_role_problem
from .mitigation_effects import EFFECTS, ActionFailed, EffectContext
from .scheduling import UNSET, ScheduledAudit, next_run, validate_name, validate_schedule
from .snapshot import (Connection, CrlInfo, DataCollection, DefenderState, LoggingState, Snapshot, ca_certificates,
                       iam_roles, take_snapshot)
from .validation import check_name_error, validate_role_arn, validated_tags

log = logging.getLogger(__name__)

# Stores that only grow: restored by membership (their entries belong to running tasks and live sessions).
GROWING_STORES = frozenset({"connections", "audit_tasks", "findings", "findings_by_task", "notifications",
                            "mitigation_tasks"})
NOT_STATE = frozenset({"lock", "region_name", "account_id", "partition"})
MAX_CONCURRENT_ON_DEMAND = 10
MAX_SCHEDULED_AUDITS = 5
RETENTION_DAYS = 90
LOG_LEVELS = ("DEBUG", "INFO", "ERROR", "WARN", "DISABLED")
MAX_CLOCK_OFFSET = 100 * 365.25 * 86400  # the sandbox clock moves at most 100 years: its dates stay representable
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z, the last instant a datetime holds
DAYS_RE = re.compile(r"[0-9]{1,6}", re.ASCII)  # str.isdigit() takes "²" and Arabic-Indic digits too
LOG_TARGET_TYPES = ("DEFAULT", "THING_GROUP", "CLIENT_ID", "SOURCE_IP", "PRINCIPAL_ID")

class AuditCheckConfiguration:
    """Whether one check is enabled, and its custom configuration (threshold days as strings)."""

    def __init__(self, enabled: bool = False, configuration: dict[str, str] | None = None) -> None:
        self.enabled = enabled
        self.configuration = dict(configuration or {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"enabled": self.enabled}
        if self.configuration:
            out["configuration"] = dict(self.configuration)
        return out


class DeviceDefenderBackend(BaseBackend):
    """Audit configuration, tasks, findings, schedules, suppressions, mitigation and sandbox-only data."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.lock = STATE_LOCK  # shared with moto's state: see locking.py
        self.clock_offset = timedelta(0)
        self.role_arn: str | None = None
        self.notification_targets: dict[str, dict[str, Any]] = {}
        self.check_configs: dict[str, AuditCheckConfiguration] = {}
        self.configured = False
        self.check_enabled_at: dict[str, float] = {}  # check -> when it was last enabled (sandbox epoch seconds)
        self.check_data_from: dict[str, float] = {}  # check -> when it was last disabled: older data is deleted
        self.scheduled_audits: dict[str, ScheduledAudit] = {}
        self.connections: list[ConnectionEvent] = []
        self.audit_tasks: dict[str, AuditTask] = {}
        self.findings: dict[str, AuditFinding] = {}
        self.findings_by_task: dict[str, list[str]] = {}
        self.suppressions: dict[tuple[str, str], dict[str, Any]] = {}
        self.suppression_tokens: dict[str, tuple[Any, ...]] = {}  # clientRequestToken -> the request it created
        self.logging_v1: dict[str, Any] | None = None
        self.logging_v2: dict[str, Any] | None = None
        self.logging_levels: dict[tuple[str, str | None], str] = {}
        self.crls: list[CrlInfo] = []
        self.pool_activity: dict[str, datetime] = {}
        self.role_alias_usage: dict[str, dict[str, datetime]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.settings: dict[str, Any] = {}
        self.tags: dict[str, dict[str, str]] = {}
        self.mitigation_actions: dict[str, MitigationAction] = {}
        self.mitigation_tasks: dict[str, MitigationTask] = {}

    def savepoint(self) -> Callable[[], None]:
        """Return a function that puts this backend's state back as it is now, so an operation that is refused or
        fails part-way changes nothing. Stores that only grow, and whose entries only running tasks and the data
        plane change, are copied shallowly (cheap at fleet scale); everything else deeply. Call both holding the
        state lock."""
        saved = {name: copy.copy(value) if name in GROWING_STORES else copy.deepcopy(value)
                 for name, value in vars(self).items() if name not in NOT_STATE}

        def restore() -> None:
            vars(self).update(saved)

        return restore

    def page_cap(self) -> int | None:
        """Return the sandbox's page-size cap (``maxPageSize`` control), or None."""
        return self.settings.get("max_page_size")

    # -- clock -------------------------------------------------------------------------------------------------
    def now(self) -> datetime:
        """Return the sandbox time for this account and region (wall clock plus the advanced offset)."""
        return datetime.now(timezone.utc) + self.clock_offset

    # -- account audit configuration ---------------------------------------------------------------------------
    def describe_account_audit_configuration(self) -> dict[str, Any]:
        """Return the configuration; a never-configured account has every check disabled and no role."""
        checks = {name: self.check_configs.get(name, AuditCheckConfiguration()).to_dict() for name in CHECKS}
        return {
            "roleArn": self.role_arn,
            "auditNotificationTargetConfigurations": {k: dict(v) for k, v in self.notification_targets.items()} or None,
            "auditCheckConfigurations": checks,
        }

    def update_account_audit_configuration(
        self,
        role_arn: str | None,
        notification_targets: dict[str, Any] | None,
        check_configs: dict[str, Any] | None,
    ) -> None:
        """Merge the given settings into the configuration, validating everything before changing anything."""
        if role_arn is not None:
            validate_role_arn(role_arn, "roleArn")
        targets = self._validated_targets(notification_targets or {})
        changes = self._validated_check_changes(check_configs or {})
        with self.lock:
            if not self.configured:
                if role_arn is None:
                    raise InvalidRequestException(
                        "The first audit configuration must include roleArn (the role Device Defender assumes to audit)."
                    )
                if not any(c.enabled for c in changes.values()):
                    raise InvalidRequestException(
                        "The first audit configuration must enable at least one audit check."
                    )
            in_use = self._checks_used_by_schedules()
            for name, cfg in changes.items():
                if not cfg.enabled and name in in_use:
                    raise InvalidRequestException(
                        f"You cannot disable {name}: it is used by scheduled audit(s) {sorted(in_use[name])}. "
                        "Remove it from those scheduled audits first."
                    )
            if role_arn is not None:
                self.role_arn = role_arn
            for kind, target in targets.items():
                merged = dict(self.notification_targets.get(kind, {}))
                merged.update(target)
                self.notification_targets[kind] = merged
            for name, cfg in changes.items():
                current = self.check_configs.get(name)
                if current is not None and not cfg.configuration:
                    cfg.configuration = current.configuration if cfg.enabled else {}
                self._track_data_collection(name, bool(current and current.enabled), cfg.enabled)
                self.check_configs[name] = cfg
            self.configured = True

    def delete_account_audit_configuration(self, delete_scheduled_audits: bool) -> None:
        """Restore the defaults: no role, no targets, every check disabled."""
        with self.lock:
            if not self.configured:
                raise ResourceNotFoundException("The audit configuration of this account has never been set.")
            if self.scheduled_audits and not delete_scheduled_audits:
                raise InvalidRequestException(
                    "This account has scheduled audits: set deleteScheduledAudits=true to delete them with the configuration."
                )
            self.scheduled_audits.clear()
            self.role_arn = None
            self.notification_targets = {}
            for name, cfg in self.check_configs.items():
                self._track_data_collection(name, cfg.enabled, False)
            self.check_configs = {}
            self.configured = False

    def _track_data_collection(self, name: str, was_enabled: bool, enabled: bool) -> None:
        """Note when a check starts collecting data (enabled) and when its collected data is deleted (disabled)."""
        now = self.now().timestamp()
        if enabled and not was_enabled:
            self.check_enabled_at[name] = now
        elif was_enabled and not enabled:
            self.check_enabled_at.pop(name, None)
            self.check_data_from[name] = now

    def enabled_checks(self) -> set[str]:
        """Return the names of the enabled checks."""
        return {name for name, cfg in self.check_configs.items() if cfg.enabled}

    def config_value(self, check_name: str, key: str) -> int:
        """Return a check's configured threshold in days, or its default."""
        cfg = self.check_configs.get(check_name)
        raw = cfg.configuration.get(key) if cfg else None
        return int(raw) if raw is not None else CONFIG_DEFAULTS[key][0]

    # -- audit tasks -------------------------------------------------------------------------------------------
    def _validate_check_names(self, names: Any, what: str) -> list[str]:
        if not isinstance(names, list) or not names:
            raise InvalidRequestException(f"{what} must be a non-empty list of audit check names.")
        for name in names:
            if name not in CHECKS:
                raise check_name_error(name)
        if not self.configured or not self.role_arn:
            raise InvalidRequestException(
                "Audits are not configured in this account and region: call UpdateAccountAuditConfiguration "
                "with roleArn and the checks to enable first.")
        disabled = [n for n in names if n not in self.enabled_checks()]
        if disabled:
            raise InvalidRequestException(
                f"These checks are not enabled: {', '.join(disabled)}. Enable them with "
                "UpdateAccountAuditConfiguration, or leave them out.")
        return list(dict.fromkeys(names))

    def start_on_demand_audit_task(self, target_check_names: Any) -> str:
        """Start an on-demand audit of the given (enabled) checks and return its task id."""
        names = self._validate_check_names(target_check_names, "targetCheckNames")
        with self.lock:
            running = sum(1 for t in self.audit_tasks.values()
                          if t.status == "IN_PROGRESS" and t.task_type == "ON_DEMAND_AUDIT_TASK")
            if running >= MAX_CONCURRENT_ON_DEMAND:
                raise LimitExceededException(
                    f"{running} on-demand audits are already in progress (quota {MAX_CONCURRENT_ON_DEMAND}); "
                    "wait for one to finish or cancel one.")
            now = self.now()
            task = AuditTask("ON_DEMAND_AUDIT_TASK", names, now)
            self.audit_tasks[task.task_id] = task
        self._launch(task, Snapshot.on_demand_window(now))
        return task.task_id

    def _launch(self, task: AuditTask, window: tuple[float, float]) -> None:
        delay = float(self.settings.get("audit_delay_seconds", 0))
        if self.settings.get("synchronous_audits"):
            self._run_task(task, window, 0.0)
            return
        threading.Thread(target=self._run_task, args=(task, window, delay), name=f"audit-{task.task_id[:8]}",
                         daemon=True).start()

    def _run_task(self, task: AuditTask, window: tuple[float, float], delay: float) -> None:
        if delay:
            time.sleep(delay)
        try:
            with self.lock:  # a consistent picture of the fleet; the checks then run without the lock
                snap = take_snapshot(self.account_id, self.region_name, task.start_time, window,
                                     self.defender_state())
                role_arn, enabled = self.role_arn, self.enabled_checks()
            budget = float(self.settings.get("check_budget_seconds", DEFAULT_CHECK_BUDGET_SECONDS))
            findings = run_checks(task, snap, role_arn, enabled, self.is_suppressed, budget)
        except Exception as exc:  # the task must end, whatever happened
            log.exception("audit %s failed", task.task_id)
            findings = []
            for detail in task.details.values():
                if detail["checkRunStatus"] == "IN_PROGRESS":
                    detail.update(checkRunStatus="FAILED", message=f"The sandbox audit failed: {exc!r}")
        with self.lock:
            if self.audit_tasks.get(task.task_id) is not task:
                return  # the sandbox was reset while this audit ran
            for f in findings:
                self.findings[f.finding_id] = f
            self.findings_by_task[task.task_id] = [f.finding_id for f in findings]
            finish(task)
        self._notify(task)

    def _notify(self, task: AuditTask) -> None:
        target = self.notification_targets.get("SNS", {})
        if not target.get("enabled"):
            return
        entry = {"taskId": task.task_id, "targetArn": target.get("targetArn"), "time": self.now().isoformat()}
        problem = self._sns_target_problem(target)
        if problem is None:
            body = json.dumps(notification(task, self.account_id))
            entry["messageId"] = sns_backends[self.account_id][self.region_name].publish(body, arn=target["targetArn"])
            entry["status"] = "DELIVERED"
        else:
            entry.update(status="FAILED", reason=problem)
        self.notifications.append(entry)

    def _sns_target_problem(self, target: dict[str, Any]) -> str | None:
        arn = target.get("targetArn")
        if not arn or arn not in sns_backends[self.account_id][self.region_name].topics:
            return f"The SNS topic {arn} does not exist in this account and region."
        role = iam_roles(self.account_id).get(target.get("roleArn") or "")
        if role is None:
            return f"The SNS role {target.get('roleArn')} does not exist."
        if not trusts_service(role.assume_role_policy):
            return f"The SNS role {role.arn} does not trust iot.amazonaws.com."
        if not allows(role.policy_documents, "sns:Publish"):
            return f"The SNS role {role.arn} does not allow sns:Publish."
        return None

    def describe_audit_task(self, task_id: str) -> dict[str, Any]:
        """Return DescribeAuditTask for ``task_id``."""
        return self._task(task_id).describe()

    def _task(self, task_id: str) -> AuditTask:
        task = self.audit_tasks.get(task_id)
        if task is None:
            raise ResourceNotFoundException(f"Audit task {task_id} does not exist in this account and region.")
        return task

    def cancel_audit_task(self, task_id: str) -> None:
        """Cancel an in-progress audit (its unfinished checks become CANCELED)."""
        with self.lock:
            task = self._task(task_id)
            if task.status != "IN_PROGRESS":
                raise InvalidRequestException(f"Audit task {task_id} is {task.status}: only IN_PROGRESS tasks can be canceled.")
            task.cancel_requested = True
            finish(task)

    def list_audit_tasks(self, start: datetime, end: datetime, task_type: str | None,
                         task_status: str | None) -> list[AuditTask]:
        """Return the tasks that started in [start, end], newest first, filtered by type and status."""
        if start > end:
            raise InvalidRequestException("startTime must not be after endTime.")
        if start < self.now() - timedelta(days=RETENTION_DAYS):
            raise InvalidRequestException(f"startTime is older than the {RETENTION_DAYS}-day retention of audit tasks.")
        if task_type not in (None, "ON_DEMAND_AUDIT_TASK", "SCHEDULED_AUDIT_TASK"):
            raise InvalidRequestException(f"taskType must be ON_DEMAND_AUDIT_TASK or SCHEDULED_AUDIT_TASK; got {task_type!r}.")
        if task_status not in (None, "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELED"):
            raise InvalidRequestException(f"taskStatus must be IN_PROGRESS, COMPLETED, FAILED or CANCELED; got {task_status!r}.")
        with self.lock:
            tasks = [t for t in self.audit_tasks.values() if start <= t.start_time <= end
                     and task_type in (None, t.task_type) and task_status in (None, t.status)]
        return sorted(tasks, key=lambda t: t.start_time, reverse=True)

    # -- findings ----------------------------------------------------------------------------------------------
    def list_audit_findings(self, task_id: str | None, check_name: str | None, resource_identifier: dict | None,
                            start: datetime | None, end: datetime | None,
                            suppressed: bool | None) -> list[AuditFinding]:
        """Return the findings of a task, or of the tasks that started in [start, end], filtered."""
        if bool(task_id) == (start is not None or end is not None):
            raise InvalidRequestException("Give either taskId, or both startTime and endTime, but not both.")
        if not task_id and (start is None or end is None):
            raise InvalidRequestException("startTime and endTime go together.")
        if check_name is not None and check_name not in CHECKS:
            raise check_name_error(check_name)
        key = resource_key(resource_identifier) if resource_identifier else None
        with self.lock:
            if task_id:
                ids = self.findings_by_task.get(task_id)
                if ids is None:
                    self._task(task_id)  # ResourceNotFound for an unknown task
                    ids = []
                found = [self.findings[i] for i in ids]
            else:
                found = [f for f in self.findings.values() if start <= f.task_start_time <= end]  # type: ignore[operator]
        found = [f for f in found if (check_name is None or f.check_name == check_name)
                 and (key is None or f.resource_key == key)
                 and (suppressed is None or f.is_suppressed == suppressed)]
        return sorted(found, key=lambda f: (-f.task_start_time.timestamp(), f.check_name, f.resource_key))

    def describe_audit_finding(self, finding_id: str) -> AuditFinding:
        """Return the finding ``finding_id``."""
        finding = self.findings.get(finding_id)
        if finding is None:
            raise ResourceNotFoundException(f"Audit finding {finding_id} does not exist (findings are kept {RETENTION_DAYS} days).")
        return finding

    # -- suppressions ------------------------------------------------------------------------------------------
    def is_suppressed(self, check_name: str, identifier: dict[str, Any], at: datetime) -> bool:
        """Return True when an unexpired suppression covers this check and resource at time ``at``."""
        s = self.suppressions.get((check_name, resource_key(identifier)))
        return s is not None and (s["suppressIndefinitely"] or s["expirationDate"] > at)

    def _validated_suppression(self, check_name: Any, identifier: Any, expiration: Any, indefinitely: Any,
                               description: Any, creating: bool) -> tuple[str, str]:
        if check_name not in CHECKS:
            raise check_name_error(check_name)
        if not isinstance(identifier, dict) or not identifier:
            raise InvalidRequestException("resourceIdentifier must be an object naming the resource, e.g. "
                                          '{"deviceCertificateId": "..."}.')
        expected = CHECKS[check_name].identifier
        if expected not in identifier:
            raise InvalidRequestException(f"{check_name} findings are identified by {expected}; "
                                          f"resourceIdentifier has {sorted(identifier)}.")
        if indefinitely is not None and not isinstance(indefinitely, bool):
            raise InvalidRequestException("suppressIndefinitely must be true or false.")
        if creating and not indefinitely and expiration is None:
            raise InvalidRequestException("Give expirationDate, or suppressIndefinitely=true.")
        if expiration is not None and expiration <= self.now():
            raise InvalidRequestException("expirationDate must be in the future.")
        if description is not None and (not isinstance(description, str) or len(description) > 1000):
            raise InvalidRequestException("description must be a string of at most 1000 characters.")
        return check_name, resource_key(identifier)

    def create_audit_suppression(self, check_name: Any, identifier: Any, expiration: datetime | None,
                                 indefinitely: bool | None, description: str | None, token: str | None = None) -> None:
        """Suppress findings of ``check_name`` on one resource until ``expiration`` (or indefinitely).

        The botocore model: each suppression must have a unique clientRequestToken, and creating a new one with a
        token already used raises an exception. The same request again with its token is an idempotent retry and
        succeeds while the suppression it created exists; any other request with a used token is refused with
        ResourceAlreadyExistsException (choice: the model names no exception; this is the only "already exists" one
        CreateAuditSuppression declares)."""
        key = self._validated_suppression(check_name, identifier, expiration, indefinitely, description, True)
        request = (key, expiration, bool(indefinitely), description)
        with self.lock:
            if token is not None and token in self.suppression_tokens:
                if self.suppression_tokens[token] == request and key in self.suppressions:
                    return
                raise ResourceAlreadyExistsException(
                    f"clientRequestToken {token!r} was already used to create an audit suppression; each suppression "
                    "needs a new token (leave it out and the SDK generates one).")
            if key in self.suppressions:
                raise ResourceAlreadyExistsException(f"A suppression of {check_name} for this resource already exists.")
            self.suppressions[key] = {"checkName": check_name, "resourceIdentifier": identifier,
                                      "expirationDate": expiration, "suppressIndefinitely": bool(indefinitely),
                                      "description": description}
            if token is not None:
                self.suppression_tokens[token] = request

    def update_audit_suppression(self, check_name: Any, identifier: Any, expiration: datetime | None,
                                 indefinitely: bool | None, description: str | None) -> None:
        """Change an existing suppression's expiry, indefiniteness or description."""
        key = self._validated_suppression(check_name, identifier, expiration, indefinitely, description, False)
        with self.lock:
            s = self.suppressions.get(key)
            if s is None:
                raise ResourceNotFoundException(f"No suppression of {check_name} exists for this resource.")
            if indefinitely is not None:
                s["suppressIndefinitely"] = indefinitely
            if expiration is not None:
                s["expirationDate"] = expiration
            if description is not None:
                s["description"] = description

    def delete_audit_suppression(self, check_name: Any, identifier: Any) -> None:
        """Delete a suppression (deleting one that does not exist succeeds)."""
        if check_name not in CHECKS:
            raise check_name_error(check_name)
        if not isinstance(identifier, dict) or not identifier:
            raise InvalidRequestException("resourceIdentifier must be an object naming the resource.")
        with self.lock:
            self.suppressions.pop((check_name, resource_key(identifier)), None)

    def describe_audit_suppression(self, check_name: Any, identifier: Any) -> dict[str, Any]:
        """Return one suppression."""
        if check_name not in CHECKS:
            raise check_name_error(check_name)
        s = self.suppressions.get((check_name, resource_key(identifier or {})))
        if s is None:
            raise ResourceNotFoundException(f"No suppression of {check_name} exists for this resource.")
        return dict(s)

    def list_audit_suppressions(self, check_name: str | None, identifier: dict | None,
                                ascending: bool) -> list[dict[str, Any]]:
        """Return the suppressions, filtered, sorted by expiration date (indefinite ones last when ascending)."""
        if check_name is not None and check_name not in CHECKS:
            raise check_name_error(check_name)
        key = resource_key(identifier) if identifier else None
        rows = [dict(s) for (c, k), s in self.suppressions.items()
                if check_name in (None, c) and key in (None, k)]
        far = datetime.max.replace(tzinfo=timezone.utc)
        rows.sort(key=lambda s: (s["expirationDate"] or far, s["checkName"]), reverse=not ascending)
        return rows

    # -- scheduled audits --------------------------------------------------------------------------------------
    def create_scheduled_audit(self, name: Any, frequency: Any, day_of_week: Any, day_of_month: Any,
                               target_check_names: Any, tags: Any) -> str:
        """Create a scheduled audit and return its ARN."""
        validate_name(name)
        validate_schedule(frequency, day_of_week, day_of_month)
        names = self._validate_check_names(target_check_names, "targetCheckNames")
        tag_map = validated_tags(tags) if tags else None
        with self.lock:
            if name in self.scheduled_audits:
                existing = self.scheduled_audits[name]
                raise ResourceAlreadyExistsException(f"Scheduled audit {name} already exists.", name, existing.arn)
            if len(self.scheduled_audits) >= MAX_SCHEDULED_AUDITS:
                raise LimitExceededException(f"An account can have at most {MAX_SCHEDULED_AUDITS} scheduled audits; "
                                             "delete one first.")
            arn = f"arn:aws:iot:{self.region_name}:{self.account_id}:scheduledaudit/{name}"
            self.scheduled_audits[name] = ScheduledAudit(name, arn, frequency, day_of_week, day_of_month, names,
                                                         self.now(), tags)
            if tag_map:
                self.tag(arn, tag_map)
        return arn

    def _scheduled(self, name: str) -> ScheduledAudit:
        audit = self.scheduled_audits.get(name)
        if audit is None:
            raise ResourceNotFoundException(f"Scheduled audit {name} does not exist in this account and region.")
        return audit

    def update_scheduled_audit(self, name: str, frequency: Any, day_of_week: Any, day_of_month: Any,
                               target_check_names: Any) -> str:
        """Change a scheduled audit (``UNSET_VALUE`` clears a day field) and return its ARN."""
        with self.lock:
            audit = self._scheduled(name)
            freq = frequency if frequency is not None else audit.frequency
            dow = None if day_of_week == UNSET else (day_of_week if day_of_week is not None else audit.day_of_week)
            dom = None if day_of_month == UNSET else (day_of_month if day_of_month is not None else audit.day_of_month)
            if frequency is not None and frequency != audit.frequency:
                # switching frequency drops the day field the new frequency does not take
                dow = dow if freq in ("WEEKLY", "BIWEEKLY") else None if day_of_week is None else dow
                dom = dom if freq == "MONTHLY" else None if day_of_month is None else dom
            validate_schedule(freq, dow, dom)
            names = (self._validate_check_names(target_check_names, "targetCheckNames")
                     if target_check_names is not None else audit.target_check_names)
            audit.frequency, audit.day_of_week, audit.day_of_month, audit.target_check_names = freq, dow, dom, names
            audit.next_run = next_run(freq, dow, dom, self.now(), audit.created)
            return audit.arn

    def delete_scheduled_audit(self, name: str) -> None:
        """Delete a scheduled audit."""
        with self.lock:
            audit = self._scheduled(name)
            del self.scheduled_audits[name]
            self.tags.pop(audit.arn, None)

    def run_due_scheduled_audits(self, force: list[str] | None = None) -> list[str]:
        """Start every scheduled audit that is due by the sandbox clock (and those named in ``force``, as if due
        now); return the task ids started."""
        started = []
        with self.lock:
            now = self.now()
            for name in force or []:
                self._scheduled(name)
            due = [a for a in self.scheduled_audits.values() if a.next_run <= now or a.name in (force or [])]
            tasks = []
            for audit in due:
                enabled = [n for n in audit.target_check_names if n in self.enabled_checks()]
                task = AuditTask("SCHEDULED_AUDIT_TASK", enabled or audit.target_check_names, now, audit.name)
                # scheduled look-back: from 2 h before the previous run to 2 h before this one
                previous = audit.last_run or (now - timedelta(days=31))
                window = ((previous - timedelta(hours=2)).timestamp(), (now - timedelta(hours=2)).timestamp())
                audit.advance(now)
                self.audit_tasks[task.task_id] = task
                tasks.append((task, window))
                started.append(task.task_id)
        for task, window in tasks:
            self._launch(task, window)
        return started

    def advance_clock(self, seconds: float) -> tuple[datetime, list[str]]:
        """Move the sandbox clock forward, run the scheduled audits that became due; return (now, task ids)."""
        if not 0 <= seconds <= MAX_CLOCK_OFFSET - self.clock_offset.total_seconds():
            raise InvalidRequestException("The sandbox clock only moves forward, by at most 100 years in all: "
                                          f"seconds must be from 0 to {MAX_CLOCK_OFFSET:.0f} minus the offset so far.")
        with self.lock:
            self.clock_offset += timedelta(seconds=seconds)
        return self.now(), self.run_due_scheduled_audits()

    # -- logging options ---------------------------------------------------------------------------------------
    def set_logging_options(self, payload: Any) -> None:
        """Set v1 logging options (roleArn required, logLevel optional)."""
        if not isinstance(payload, dict):
            raise InvalidRequestException("loggingOptionsPayload must be an object with roleArn and logLevel.")
        role = validate_role_arn(payload.get("roleArn"), "roleArn")
        level = payload.get("logLevel", "ERROR")
        if level not in LOG_LEVELS:
            raise InvalidRequestException(f"logLevel must be one of {', '.join(LOG_LEVELS)}; got {level!r}.")
        self.logging_v1 = {"roleArn": role, "logLevel": level}

    def set_v2_logging_options(self, role_arn: Any, default_level: Any, disable_all: Any,
                               event_configurations: Any = None) -> None:
        """Set v2 logging options (merging with what is set)."""
        current = dict(self.logging_v2 or {"disableAllLogs": False})
        if role_arn is not None:
            current["roleArn"] = validate_role_arn(role_arn, "roleArn")
        if default_level is not None:
            if default_level not in LOG_LEVELS:
                raise InvalidRequestException(f"defaultLogLevel must be one of {', '.join(LOG_LEVELS)}; got {default_level!r}.")
            current["defaultLogLevel"] = default_level
        if disable_all is not None:
            if not isinstance(disable_all, bool):
                raise InvalidRequestException("disableAllLogs must be true or false.")
            current["disableAllLogs"] = disable_all
        if event_configurations is not None:
            if not isinstance(event_configurations, list) or not all(
                    isinstance(c, dict) and isinstance(c.get("eventType"), str) and c["eventType"]
                    and set(c) <= {"eventType", "logLevel", "logDestination"}
                    and c.get("logLevel", "ERROR") in LOG_LEVELS for c in event_configurations):
                raise InvalidRequestException("eventConfigurations must be a list of {eventType, logLevel, "
                                              "logDestination} objects, logLevel one of " + ", ".join(LOG_LEVELS))
            current["eventConfigurations"] = event_configurations
        if "roleArn" not in current and not current.get("disableAllLogs"):
            raise InvalidRequestException("roleArn is required to enable logging (the role IoT uses to write logs).")
        self.logging_v2 = current

    def get_v2_logging_options(self, verbose: bool) -> dict[str, Any]:
        """Return the v2 logging options, or raise NotConfiguredException when never set."""
        if self.logging_v2 is None:
            raise NotConfiguredException("V2 logging is not configured in this account and region.")
        out = {k: v for k, v in self.logging_v2.items() if k != "eventConfigurations" or verbose}
        return out

    def set_v2_logging_level(self, log_target: Any, level: Any) -> None:
        """Set a resource-specific v2 log level."""
        if self.logging_v2 is None:
            raise NotConfiguredException("Set v2 logging options (SetV2LoggingOptions) before resource log levels.")
        if not isinstance(log_target, dict) or log_target.get("targetType") not in LOG_TARGET_TYPES:
            raise InvalidRequestException(f"logTarget.targetType must be one of {', '.join(LOG_TARGET_TYPES)}.")
        if level not in LOG_LEVELS:
            raise InvalidRequestException(f"logLevel must be one of {', '.join(LOG_LEVELS)}; got {level!r}.")
        if log_target["targetType"] == "DEFAULT":  # the account-wide level: one value, listed as the DEFAULT row
            self.logging_v2["defaultLogLevel"] = level
            return
        key = (log_target["targetType"], log_target.get("targetName"))
        if key not in self.logging_levels and len(self.logging_levels) >= 1000:
            raise LimitExceededException("At most 1000 resource-specific log levels.")
        self.logging_levels[key] = level

    def list_v2_logging_levels(self, target_type: str | None) -> list[dict[str, Any]]:
        """Return the log levels, optionally of one target type: the DEFAULT row (the account's defaultLogLevel, as
        the AWS CLI's list-v2-logging-levels example shows it) first, then the resource-specific ones."""
        if self.logging_v2 is None:
            raise NotConfiguredException("V2 logging is not configured in this account and region.")
        if target_type is not None and target_type not in LOG_TARGET_TYPES:
            raise InvalidRequestException(f"targetType must be one of {', '.join(LOG_TARGET_TYPES)}.")
        default = self.logging_v2.get("defaultLogLevel")
        rows = ([{"logTarget": {"targetType": "DEFAULT"}, "logLevel": default}]
                if default is not None and target_type in (None, "DEFAULT") else [])
        ordered = sorted(self.logging_levels.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
        return rows + [{"logTarget": {k: v for k, v in (("targetType", t), ("targetName", n)) if v is not None},
                        "logLevel": level} for (t, n), level in ordered if target_type in (None, t)]

    def delete_v2_logging_level(self, target_type: Any, target_name: Any) -> None:
        """Delete a resource-specific log level (a missing one is fine)."""
        if target_type not in LOG_TARGET_TYPES:
            raise InvalidRequestException(f"targetType must be one of {', '.join(LOG_TARGET_TYPES)}.")
        self.logging_levels.pop((target_type, target_name), None)

    # -- data AWS has and moto lacks ---------------------------------------------------------------------------
    def defender_state(self) -> DefenderState:
        """Return a copy of what the audit checks read from this backend (call it holding the lock)."""
        return DefenderState(
            connections=tuple(Connection(e.client_id, e.certificate_id, e.connected_at, e.disconnected_at, e.source_ip,
                                         e.recorded_at) for e in self.connections),
            crls=tuple(self.crls), logging=LoggingState(v1=self.logging_v1, v2=self.logging_v2),
            pool_roles=pool_roles(self.account_id, self.region_name), pool_last_connected=dict(self.pool_activity),
            role_alias_usage={arn: dict(usage) for arn, usage in self.role_alias_usage.items()},
            expiration_threshold_days=self.config_value("DEVICE_CERTIFICATE_EXPIRING_CHECK",
                                                        "CERT_EXPIRATION_THRESHOLD_IN_DAYS"),
            age_threshold_days=self.config_value("DEVICE_CERTIFICATE_AGE_CHECK", "CERT_AGE_THRESHOLD_IN_DAYS"),
            data_collection={name: DataCollection(self.check_enabled_at.get(name), self.check_data_from.get(name, 0.0))
                             for name in set(self.check_enabled_at) | set(self.check_data_from)})

    def publish_crl(self, data: str | bytes) -> CrlInfo:
        """Verify and store a CRL issued by a registered CA certificate; return what it revokes."""
        try:
            crl = load_crl(data, ca_certificates(self.account_id, self.region_name))
        except ValueError as exc:
            raise InvalidRequestException(str(exc)) from None
        with self.lock:
            self.crls = [c for c in self.crls if c.issuer_ca_certificate_id != crl.issuer_ca_certificate_id] + [crl]
        return crl

    # -- mitigation actions ------------------------------------------------------------------------------------
    def create_mitigation_action(self, name: Any, role_arn: Any, params: Any, tags: Any) -> MitigationAction:
        """Define a mitigation action and return it."""
        if not isinstance(name, str) or not MITIGATION_NAME_RE.match(name):
            raise InvalidRequestException(f"actionName must be 1 to 128 letters, digits, '_' or '-'; got {name!r}.")
        validate_role_arn(role_arn, "roleArn")
        tag_map = validated_tags(tags) if tags else None
        with self.lock:
            if name in self.mitigation_actions:
                existing = self.mitigation_actions[name]
                raise ResourceAlreadyExistsException(f"Mitigation action {name} already exists.",
                                                     existing.action_id, existing.arn)
            if len(self.mitigation_actions) >= MAX_MITIGATION_ACTIONS:
                raise LimitExceededException(f"An account can have at most {MAX_MITIGATION_ACTIONS} mitigation actions.")
            action = MitigationAction(name, role_arn, params, self.region_name, self.account_id, self.now())
            self.mitigation_actions[name] = action
            if tag_map:
                self.tag(action.arn, tag_map)
            return action

    def mitigation_action(self, name: str) -> MitigationAction:
        """Return the mitigation action ``name``."""
        action = self.mitigation_actions.get(name)
        if action is None:
            raise ResourceNotFoundException(f"Mitigation action {name} does not exist in this account and region.")
        return action

    def update_mitigation_action(self, name: str, role_arn: Any, params: Any) -> MitigationAction:
        """Change an action's role and/or parameters (its name and id stay)."""
        with self.lock:
            action = self.mitigation_action(name)
            if role_arn is not None:
                validate_role_arn(role_arn, "roleArn")
            if params is not None:
                kind = validate_params(params)
                if kind != action.action_type:
                    # UNCONFIRMED whether AWS allows a type change; the sandbox refuses it
                    raise InvalidRequestException(
                        f"{name} is a {action.action_type} action; create a new action for {kind}.")
                action.params = params
            if role_arn is not None:
                action.role_arn = role_arn
            action.last_modified_date = self.now()
            return action

    def delete_mitigation_action(self, name: str) -> None:
        """Delete a mitigation action (deleting one that does not exist succeeds)."""
        with self.lock:
            action = self.mitigation_actions.pop(name, None)
            if action is not None:
                self.tags.pop(action.arn, None)

    def list_mitigation_actions(self, action_type: str | None) -> list[MitigationAction]:
        """Return the mitigation actions, newest first, optionally of one type."""
        if action_type is not None and action_type not in PARAM_TYPES.values():
            raise InvalidRequestException(f"actionType must be one of {', '.join(PARAM_TYPES.values())}.")
        actions = [a for a in self.mitigation_actions.values() if action_type in (None, a.action_type)]
        return sorted(actions, key=lambda a: (a.creation_date, a.name), reverse=True)

    # -- audit mitigation tasks --------------------------------------------------------------------------------
    def start_audit_mitigation_actions_task(self, task_id: Any, target: Any, mapping: Any, token: Any) -> str:
        """Start applying mitigation actions to audit findings; return the task id (idempotent per token)."""
        if not isinstance(task_id, str) or not MITIGATION_TASK_RE.match(task_id):
            raise InvalidRequestException(f"taskId must be 1 to 128 letters, digits, '_' or '-'; got {task_id!r}.")
        if not isinstance(token, str) or not MITIGATION_TOKEN_RE.match(token):
            raise InvalidRequestException("clientRequestToken must be 1 to 64 letters, digits, '-' or '_'.")
        with self.lock:
            existing = self.mitigation_tasks.get(task_id)
            if existing is not None:
                if existing.token == token:
                    return task_id
                raise TaskAlreadyExistsException(f"A mitigation task {task_id} already exists (with another "
                                                 "clientRequestToken): choose a new taskId.")
            # The botocore model: starting a new task with the token of an existing task raises an exception. It names
            # none; TaskAlreadyExistsException (the task of that token exists) is a choice.
            owner = next((t.task_id for t in self.mitigation_tasks.values() if t.token == token), None)
            if owner is not None:
                raise TaskAlreadyExistsException(
                    f"clientRequestToken {token!r} already started mitigation task {owner}; a new task needs a new "
                    "token (leave it out and the SDK generates one).")
            checked = validate_mapping(mapping, self.mitigation_actions)
            findings = self._mitigation_targets(target, checked)
            running = sum(1 for t in self.mitigation_tasks.values() if t.status == "IN_PROGRESS")
            if running >= MAX_RUNNING_MITIGATION_TASKS:
                raise LimitExceededException(f"{running} mitigation tasks are running (quota "
                                             f"{MAX_RUNNING_MITIGATION_TASKS}); wait for one to finish.")
            task = MitigationTask(task_id, token, target, checked, dict(self.mitigation_actions), findings, self.now())
            self.mitigation_tasks[task_id] = task
        if self.settings.get("synchronous_audits"):
            self._run_mitigation(task, findings)
        else:
            threading.Thread(target=self._run_mitigation, args=(task, findings), name=f"mitigation-{task_id[:16]}",
                             daemon=True).start()
        return task_id

    def _mitigation_targets(self, target: Any, mapping: dict[str, list[str]]) -> list[AuditFinding]:
        if not isinstance(target, dict) or not target:
            raise InvalidRequestException("target must give findingIds, or auditTaskId (optionally with "
                                          "auditCheckToReasonCodeFilter).")
        finding_ids, audit_task_id = target.get("findingIds"), target.get("auditTaskId")
        reason_filter = target.get("auditCheckToReasonCodeFilter")
        if (finding_ids is None) == (audit_task_id is None):
            raise InvalidRequestException("target must give exactly one of findingIds and auditTaskId.")
        if finding_ids is not None:
            if reason_filter is not None:
                raise InvalidRequestException("auditCheckToReasonCodeFilter goes with auditTaskId, not findingIds.")
            if not isinstance(finding_ids, list) or not 1 <= len(finding_ids) <= 25:
                raise InvalidRequestException("target.findingIds must list 1 to 25 finding ids; for more, "
                                              "target the whole audit with auditTaskId.")
            unknown = [f for f in finding_ids if f not in self.findings]
            if unknown:
                raise InvalidRequestException(f"Unknown finding id(s): {', '.join(map(str, unknown))}.")
            return [self.findings[f] for f in dict.fromkeys(finding_ids)]
        if audit_task_id not in self.audit_tasks:
            raise InvalidRequestException(f"Audit task {audit_task_id} does not exist.")
        if reason_filter is not None and not isinstance(reason_filter, dict):
            raise InvalidRequestException("auditCheckToReasonCodeFilter must map check names to reason codes.")
        findings = [self.findings[f] for f in self.findings_by_task.get(audit_task_id, [])]
        findings = [f for f in findings if f.check_name in mapping]
        if reason_filter:
            findings = [f for f in findings if f.check_name not in reason_filter
                        or f.reason_code in reason_filter[f.check_name]]
        return findings

    def _run_mitigation(self, task: MitigationTask, findings: list[AuditFinding]) -> None:
        context = EffectContext(self.account_id, self.region_name,
                                lambda role, level: self.set_v2_logging_options(role, level, False))
        for finding in findings:
            runs = task.executions[finding.finding_id]
            if finding.is_suppressed:
                for e in runs:
                    e.status, e.message = "SKIPPED", "The finding is suppressed: suppressed findings are not mitigated."
                continue
            for i, execution in enumerate(runs):
                if task.cancel_requested:
                    break
                action = task.actions[execution.action_name]
                execution.status, execution.start_time = "IN_PROGRESS", self.now()
                problem = mitigation_role_problem(iam_roles(self.account_id), action)
                try:
                    if problem:
                        raise ActionFailed("INSUFFICIENT_PERMISSIONS", problem)
                    with self.lock:
                        EFFECTS[action.action_type](context, action, finding)
                    execution.status = "COMPLETED"
                except ActionFailed as exc:
                    execution.status, execution.error_code, execution.message = "FAILED", exc.code, exc.message
                except Exception as exc:  # a sandbox bug fails this execution, not the whole task
                    log.exception("mitigation %s failed", action.name)
                    execution.status, execution.error_code = "FAILED", "INTERNAL_ERROR"
                    execution.message = f"The sandbox failed to apply {action.name}: {exc!r}"
                execution.end_time = self.now()
                if execution.status == "FAILED":
                    for later in runs[i + 1:]:
                        later.status, later.message = "SKIPPED", f"Skipped: {execution.action_name} failed first."
                    break
            if task.cancel_requested:
                break
        with self.lock:
            if self.mitigation_tasks.get(task.task_id) is not task:
                return  # reset while running
            self._finish_mitigation(task)

    def _finish_mitigation(self, task: MitigationTask) -> None:
        if task.status != "IN_PROGRESS":
            return
        statuses = {e.status for runs in task.executions.values() for e in runs}
        if task.cancel_requested:
            for runs in task.executions.values():
                for e in runs:
                    if e.status in ("PENDING", "IN_PROGRESS"):
                        e.status = "CANCELED"
            task.status = "CANCELED"
        else:
            task.status = "FAILED" if "FAILED" in statuses else "COMPLETED"
        task.end_time = self.now()

    def mitigation_task(self, task_id: str) -> MitigationTask:
        """Return the mitigation task ``task_id``."""
        task = self.mitigation_tasks.get(task_id)
        if task is None:
            raise ResourceNotFoundException(f"Mitigation task {task_id} does not exist in this account and region.")
        return task

    def cancel_audit_mitigation_actions_task(self, task_id: str) -> None:
        """Cancel a running mitigation task: what has not run is canceled, nothing is rolled back."""
        with self.lock:
            task = self.mitigation_task(task_id)
            if task.status != "IN_PROGRESS":
                raise InvalidRequestException(f"Mitigation task {task_id} is {task.status}: only IN_PROGRESS tasks "
                                              "can be canceled.")
            task.cancel_requested = True
            self._finish_mitigation(task)

    def list_audit_mitigation_actions_tasks(self, start: datetime, end: datetime, audit_task_id: str | None,
                                            finding_id: str | None, status: str | None) -> list[MitigationTask]:
        """Return the mitigation tasks that began on or after ``start`` and ended (completed, failed or canceled) on
        or before ``end``, newest first, filtered. As the botocore model documents endTime, it bounds when a task
        ended, not when it began. A task still IN_PROGRESS has not ended: it is listed when it began in [start, end]
        (choice: the taskStatus=IN_PROGRESS filter would otherwise never match)."""
        if start > end:
            raise InvalidRequestException("startTime must not be after endTime.")
        if status not in (None, "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELED"):
            raise InvalidRequestException(f"taskStatus must be IN_PROGRESS, COMPLETED, FAILED or CANCELED; got {status!r}.")
        tasks = [t for t in self.mitigation_tasks.values() if start <= t.start_time
                 and (t.start_time if t.end_time is None else t.end_time) <= end
                 and status in (None, t.status)
                 and (audit_task_id is None or t.target.get("auditTaskId") == audit_task_id
                      or any(self.findings[f].task_id == audit_task_id for f in t.finding_ids if f in self.findings))
                 and (finding_id is None or finding_id in t.finding_ids)]
        return sorted(tasks, key=lambda t: t.start_time, reverse=True)

    def list_audit_mitigation_actions_executions(self, task_id: str, finding_id: str,
                                                 status: str | None) -> list[Execution]:
        """Return the executions of one finding in one task, optionally of one status."""
        if not task_id or not finding_id:
            raise InvalidRequestException("taskId and findingId are both required.")
        if status not in (None, "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELED", "SKIPPED", "PENDING"):
            raise InvalidRequestException(f"actionStatus {status!r} is not an execution status.")
        task = self.mitigation_tasks.get(task_id)
        if task is None:
            return []
        return [e for e in task.executions.get(finding_id, []) if status in (None, e.status)]

    # -- tags ------------------------------------------------------------------------------------------------------
    def tag(self, arn: str, tags: dict[str, str]) -> None:
        """Add or overwrite tags on the resource ``arn``."""
        with self.lock:
            current = self.tags.setdefault(arn, {})
            if len(set(current) | set(tags)) > 50:
                raise LimitExceededException("A resource can have at most 50 tags.")
            current.update(tags)

    def untag(self, arn: str, keys: list[str]) -> None:
        """Remove the tags ``keys`` from the resource ``arn``."""
        with self.lock:
            for key in keys:
                self.tags.get(arn, {}).pop(key, None)

    # -- sandbox-only data ---------------------------------------------------------------------------------------
    def record_connections(self, events: Any) -> int:
        """Validate and append MQTT connection events; return how many are stored in all."""
        known = set(iot_backends[self.account_id][self.region_name].certificates)
        parsed = parse_connection_events(events, known)
        with self.lock:
            recorded_at = self.now().timestamp()
            for event in parsed:
                event.recorded_at = recorded_at
            self.connections.extend(parsed)
            return len(self.connections)

    def open_session(self, client_id: str, certificate_id: str, source_ip: str, at: float) -> "ConnectionEvent":
        """Record a live MQTT session of the data plane (still connected); return it for :meth:`close_session`."""
        (event,) = parse_connection_events([{"clientId": client_id, "certificateId": certificate_id, "connectedAt": at,
                                             "disconnectedAt": None, "sourceIp": source_ip}],
                                           {certificate_id} & set(iot_backends[self.account_id][self.region_name]
                                                                  .certificates))
        with self.lock:
            event.recorded_at = self.now().timestamp()
            self.connections.append(event)
        return event

    def close_session(self, event: "ConnectionEvent", at: float) -> None:
        """Record the end of a live session opened with :meth:`open_session` (never before it began)."""
        with self.lock:
            event.disconnected_at = max(at, event.connected_at)

    def list_connections(self) -> list[dict[str, Any]]:
        """Return the recorded connection events as dictionaries."""
        with self.lock:
            return [ev.to_dict() for ev in self.connections]

    def forget_connections(self, certificate_ids: Any) -> int:
        """Remove the recorded events of the certificates ``certificate_ids`` (simulated devices that never were);
        return how many were removed."""
        if not isinstance(certificate_ids, list) or not all(isinstance(c, str) for c in certificate_ids):
            raise InvalidRequestException('"certificateIds" must be a list of certificate ids.')
        forget = set(certificate_ids)
        with self.lock:
            kept = [ev for ev in self.connections if ev.certificate_id not in forget]
            removed = len(self.connections) - len(kept)
            self.connections = kept
            return removed

    # -- validation helpers ------------------------------------------------------------------------------------
    def _checks_used_by_schedules(self) -> dict[str, set[str]]:
        used: dict[str, set[str]] = {}
        for audit in self.scheduled_audits.values():
            for name in audit.target_check_names:
                used.setdefault(name, set()).add(audit.name)
        return used

    @staticmethod
    def _validated_targets(targets: dict[str, Any]) -> dict[str, dict[str, Any]]:
        if not isinstance(targets, dict):
            raise InvalidRequestException("auditNotificationTargetConfigurations must be an object such as "
                                          '{"SNS": {...}}.')
        out: dict[str, dict[str, Any]] = {}
        for kind, target in targets.items():
            if kind != "SNS":
                raise InvalidRequestException(f"Unknown audit notification type {kind!r}; the only type is SNS.")
            if not isinstance(target, dict):
                raise InvalidRequestException("auditNotificationTargetConfigurations.SNS must be an object.")
            clean: dict[str, Any] = {}
            if "targetArn" in target:
                arn = target["targetArn"]
                if not isinstance(arn, str) or not arn.startswith("arn:") or ":sns:" not in arn or len(arn) > 2048:
                    raise InvalidRequestException(f"targetArn must be an SNS topic ARN; got {arn!r}")
                clean["targetArn"] = arn
            if "roleArn" in target:
                clean["roleArn"] = validate_role_arn(target["roleArn"], "auditNotificationTargetConfigurations.SNS.roleArn")
            if "enabled" in target:
                if not isinstance(target["enabled"], bool):
                    raise InvalidRequestException("auditNotificationTargetConfigurations.SNS.enabled must be true or false.")
                clean["enabled"] = target["enabled"]
            out[kind] = clean
        return out

    @staticmethod
    def _validated_check_changes(check_configs: dict[str, Any]) -> dict[str, AuditCheckConfiguration]:
        if not isinstance(check_configs, dict):
            raise InvalidRequestException("auditCheckConfigurations must be an object mapping check names to "
                                          '{"enabled": true|false}.')
        changes: dict[str, AuditCheckConfiguration] = {}
        for name, cfg in check_configs.items():
            if name not in CHECKS:
                raise check_name_error(name)
            if not isinstance(cfg, dict):
                raise InvalidRequestException(f"auditCheckConfigurations.{name} must be an object.")
            enabled = cfg.get("enabled", False)
            if not isinstance(enabled, bool):
                raise InvalidRequestException(f"auditCheckConfigurations.{name}.enabled must be true or false.")
            configuration = cfg.get("configuration") or {}
            if not isinstance(configuration, dict):
                raise InvalidRequestException(f"auditCheckConfigurations.{name}.configuration must be an object.")
            for key, value in configuration.items():
                if key not in CHECKS[name].config_keys:
                    allowed = ", ".join(CHECKS[name].config_keys) or "none"
                    raise InvalidRequestException(
                        f"Configuration key {key!r} does not apply to {name} (allowed: {allowed})."
                    )
                _, low, high = CONFIG_DEFAULTS[key]
                if not isinstance(value, str) or not DAYS_RE.fullmatch(value) or not (low <= int(value) <= high):
                    raise InvalidRequestException(
                        f"{name}.{key} must be a whole number of days from {low} to {high}, as a string; got {value!r}"
                    )
            changes[name] = AuditCheckConfiguration(enabled, {k: str(v) for k, v in configuration.items()})
        return changes


devicedefender_backends = BackendDict(DeviceDefenderBackend, "iot")


class ConnectionEvent:
    """One MQTT session of a device: who connected, with which certificate, when, from where."""

    __slots__ = ("client_id", "certificate_id", "connected_at", "disconnected_at", "source_ip", "recorded_at")

    def __init__(self, client_id: str, certificate_id: str, connected_at: float,
                 disconnected_at: float | None, source_ip: str, recorded_at: float = 0.0) -> None:
        self.client_id = client_id
        self.certificate_id = certificate_id
        self.connected_at = connected_at
        self.disconnected_at = disconnected_at
        self.source_ip = source_ip
        self.recorded_at = recorded_at  # sandbox time Device Defender received it (set by record_connections)

    def to_dict(self) -> dict[str, Any]:
        return {
            "clientId": self.client_id,
            "certificateId": self.certificate_id,
            "connectedAt": self.connected_at,
            "disconnectedAt": self.disconnected_at,
            "sourceIp": self.source_ip,
        }


def parse_connection_events(events: Any, known_certificate_ids: set[str]) -> list[ConnectionEvent]:
    """Return validated connection events, or raise InvalidRequestException naming the first problem."""
    if not isinstance(events, list):
        raise InvalidRequestException('"events" must be a list of connection events.')
    parsed = []
    for i, ev in enumerate(events):
        where = f"events[{i}]"
        if not isinstance(ev, dict):
            raise InvalidRequestException(f"{where} must be an object.")
        unknown = set(ev) - {"clientId", "certificateId", "connectedAt", "disconnectedAt", "sourceIp"}
        if unknown:
            raise InvalidRequestException(f"{where} has unknown field(s) {sorted(unknown)}.")
        client_id, cert_id = ev.get("clientId"), ev.get("certificateId")
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= 128:
            raise InvalidRequestException(f"{where}.clientId must be a string of 1 to 128 characters.")
        if not isinstance(cert_id, str) or cert_id not in known_certificate_ids:
            raise InvalidRequestException(
                f"{where}.certificateId {cert_id!r} is not a certificate registered in this account and region."
            )
        connected, disconnected = ev.get("connectedAt"), ev.get("disconnectedAt")
        if isinstance(connected, bool) or not isinstance(connected, (int, float)) or not 0 <= connected <= MAX_EPOCH:
            raise InvalidRequestException(f"{where}.connectedAt must be epoch seconds (a number).")
        if disconnected is not None and (
            isinstance(disconnected, bool) or not isinstance(disconnected, (int, float))
            or not connected <= disconnected <= MAX_EPOCH
        ):
            raise InvalidRequestException(f"{where}.disconnectedAt must be null or epoch seconds not before connectedAt.")
        source_ip = ev.get("sourceIp")
        try:
            ipaddress.ip_address(source_ip)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            raise InvalidRequestException(f"{where}.sourceIp must be an IP address; got {source_ip!r}.") from None
        parsed.append(ConnectionEvent(client_id, cert_id, float(connected),
                                      None if disconnected is None else float(disconnected), source_ip))
    return parsed
