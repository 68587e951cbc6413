"""Module §1.2, audits: start on-demand audits, create/update/delete scheduled audits with validated schedules, wait
for an audit with a progress bar (ipywidgets in a notebook, text elsewhere) and a timeout, and read the history.

Typical use::

    task_id = audits.start_on_demand_audit()          # all enabled checks
    result = audits.wait_for_audit(task_id)           # progress bar, then DescribeAuditTask
    audits.audit_results(task_id)                     # one row per check
"""
from __future__ import annotations

import difflib
import html
import re
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, TextIO, Union

import pandas as pd
from botocore.exceptions import ClientError

from . import target
from .checks import describe_check, resolve_check_names
from .errors import WorkshopError, aws_error, error_code
from .fleet_base import workshop_tags
from .spec.checks import SEVERITIES
from .safety import require_confirmation
from .settings import describe_audit_settings
from .tables import StyledTable, as_severity, style_table

__all__ = [
    "FREQUENCIES", "DAYS_OF_WEEK", "AuditProgress", "ProgressCallback", "TextProgress", "WidgetProgress",
    "progress_reporter", "start_on_demand_audit", "check_task_id", "describe_audit",
    "wait_for_audit", "run_on_demand_audit", "cancel_audit", "audit_results", "audit_results_table",
    "resolve_frequency", "validate_schedule", "create_scheduled_audit", "update_scheduled_audit",
    "delete_scheduled_audit", "describe_scheduled_audit", "list_scheduled_audits", "run_scheduled_audit_now",
    "audit_history",
    "latest_on_demand_audit", "in_notebook",
]

FREQUENCIES = ("DAILY", "WEEKLY", "BIWEEKLY", "MONTHLY")
DAYS_OF_WEEK = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
UNSET_VALUE = "UNSET_VALUE"  # clears a day field on update (as AWS CloudFormation sends it)
TASK_ID_RE = re.compile(r"^[a-zA-Z0-9-]{1,40}$")
NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
MAX_HISTORY_DAYS = 90
TASK_TYPES = {"ON_DEMAND_AUDIT_TASK": "on-demand", "SCHEDULED_AUDIT_TASK": "scheduled"}
FINISHED_CHECK_STATUSES = ("COMPLETED_COMPLIANT", "COMPLETED_NON_COMPLIANT", "FAILED", "CANCELED")
# How audit_results orders the checks: what needs attention first.
STATUS_ORDER = ("COMPLETED_NON_COMPLIANT", "FAILED", "WAITING_FOR_DATA_COLLECTION", "IN_PROGRESS", "CANCELED",
                "COMPLETED_COMPLIANT")


# -- starting and describing -----------------------------------------------------------------------------------------
def _enabled_or_fail(names: list[str]) -> None:
    settings = describe_audit_settings()
    if not settings.configured:
        raise WorkshopError("Device Defender audit is not configured in this account and region yet.",
                            "Run settings.configure_audit() first.")
    disabled = [n for n in names if n not in settings.enabled_checks]
    if disabled:
        raise WorkshopError(f"These checks are not enabled, so an audit cannot run them: {', '.join(disabled)}.",
                            f"Enable them with settings.enable_checks({disabled!r}), or leave them out.")


def start_on_demand_audit(check_names: Iterable[str] | str | None = None) -> str:
    """Start an on-demand audit of ``check_names`` (default: every enabled check) and return its task id.

    AWS operations:
    [StartOnDemandAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartOnDemandAuditTask.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    if check_names is None:
        settings = describe_audit_settings()
        if not settings.enabled_checks:
            raise WorkshopError("No audit checks are enabled, so there is nothing to audit.",
                                "Run settings.configure_audit() (first time) or settings.enable_checks([...]).")
        names = settings.enabled_checks
    else:
        names = resolve_check_names(check_names)
        _enabled_or_fail(names)
    try:
        return target.client("iot").start_on_demand_audit_task(targetCheckNames=names)["taskId"]
    except ClientError as exc:
        if error_code(exc) == "LimitExceededException":
            raise aws_error(exc, "Too many on-demand audits are running (at most 10 at a time).",
                            "Wait for one to finish (audits.wait_for_audit(task_id)) or cancel one with "
                            "audits.cancel_audit(task_id).") from None
        raise aws_error(exc, "Device Defender refused to start the audit.",
                        "settings.validate_audit_settings() shows what is missing.") from None


def check_task_id(task_id: str) -> str:
    """Return ``task_id`` when it is shaped like an audit task id; otherwise raise, saying where to find one."""
    if not isinstance(task_id, str) or not TASK_ID_RE.match(task_id):
        raise WorkshopError(f"{task_id!r} is not an audit task id (1 to 40 letters, digits or '-').",
                            "Use the id start_on_demand_audit() returned, or audits.audit_history() to find one.")
    return task_id


def describe_audit(task_id: str) -> dict[str, Any]:
    """Return DescribeAuditTask for ``task_id`` (plus ``taskId``), or say clearly that there is no such audit.

    AWS operation:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    check_task_id(task_id)
    try:
        resp = target.client("iot").describe_audit_task(taskId=task_id)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise aws_error(exc, f"There is no audit {task_id} in this account and region.",
                            "audits.audit_history() lists the audits of the last 90 days (older ones are "
                            "deleted).") from None
        raise
    resp.pop("ResponseMetadata", None)
    return {"taskId": task_id, **resp}


# -- waiting -------------------------------------------------------------------------------------------------------
@dataclass
class AuditProgress:
    """Where an audit is: its status, how many checks have finished, and the latest DescribeAuditTask."""

    task_id: str
    status: str
    done: int
    total: int
    elapsed: float
    description: dict[str, Any]

    @property
    def finished(self) -> bool:
        """Return True once the audit is no longer IN_PROGRESS."""
        return self.status != "IN_PROGRESS"

    def remaining(self) -> float | None:
        """Return an estimate of the seconds left, from the pace of the checks finished so far (None before the
        first check finishes, and once the audit has)."""
        if self.finished or self.done == 0 or self.done >= self.total:
            return None
        return self.elapsed / self.done * (self.total - self.done)

    def text(self) -> str:
        """Return a one-line summary, e.g. ``Audit 1f2e…: IN_PROGRESS — 3/14 checks done (4 s, about 15 s left)``."""
        stats = self.description.get("taskStatistics", {})
        extra, timing = "", f"{self.elapsed:.0f} s"
        if self.finished:
            extra = (f": {stats.get('nonCompliantChecks', 0)} non-compliant, {stats.get('compliantChecks', 0)} "
                     f"compliant, {stats.get('failedChecks', 0)} failed")
        elif self.remaining() is not None:
            timing += f", about {self.remaining():.0f} s left"
        else:
            timing += ", finishing" if self.done >= self.total else ", estimating the time left"
        return f"Audit {self.task_id}: {self.status} — {self.done}/{self.total} checks done{extra} ({timing})"

    @classmethod
    def from_description(cls, description: dict[str, Any], elapsed: float) -> "AuditProgress":
        """Return the progress of a DescribeAuditTask response."""
        details = description.get("auditDetails") or {}
        done = sum(d.get("checkRunStatus") in FINISHED_CHECK_STATUSES for d in details.values())
        total = description.get("taskStatistics", {}).get("totalChecks") or len(details)
        return cls(description.get("taskId", ""), description["taskStatus"], done, total, elapsed, description)


ProgressCallback = Callable[[AuditProgress], None]


def in_notebook() -> bool:
    """Return True when running in a Jupyter kernel (where widgets can be shown)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with jupyterlab
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class TextProgress:
    """Progress as text lines, one per change (terminals, CI logs)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.last = ""

    def __call__(self, progress: AuditProgress) -> None:
        line = progress.text().rsplit(" (", 1)[0]  # without the seconds, so a line is written only on change
        if line != self.last:
            print(progress.text(), file=self.stream or sys.stdout, flush=True)
            self.last = line


class WidgetProgress:
    """Progress as an ipywidgets bar with a label; shown in the notebook on the first update."""

    def __init__(self, display: bool = True) -> None:
        import ipywidgets as widgets

        self.bar = widgets.IntProgress(value=0, min=0, max=1, description="Audit", bar_style="info")
        self.label = widgets.HTML()
        self.widget = widgets.HBox([self.bar, self.label])
        self._display = display
        self._shown = False

    def __call__(self, progress: AuditProgress) -> None:
        if self._display and not self._shown:
            from IPython.display import display

            display(self.widget)
            self._shown = True
        self.bar.max = max(progress.total, 1)
        self.bar.value = progress.done
        if progress.finished:
            self.bar.bar_style = "success" if progress.status == "COMPLETED" else "danger"
        self.label.value = html.escape(progress.text())


def progress_reporter(progress: Union[str, bool, None, ProgressCallback]) -> ProgressCallback | None:
    """Return the progress callback for a ``progress`` argument ('auto', 'widget', 'text', None or a function)."""
    if callable(progress):
        return progress
    if progress in (None, False, "none"):
        return None
    if progress == "auto":
        progress = "widget" if in_notebook() else "text"
    if progress == "widget":
        return WidgetProgress()
    if progress in ("text", True):
        return TextProgress()
    raise WorkshopError(f"progress={progress!r} is not a progress display.",
                        "Use 'auto' (default), 'widget', 'text', None, or a function taking an AuditProgress.")


_reporter = progress_reporter  # the name helpers.mitigation imports


def wait_for_audit(task_id: str, *, timeout: float = 900, poll_interval: float = 2.0,
                   progress: Union[str, bool, None, ProgressCallback] = "auto") -> dict[str, Any]:
    """Wait until the audit finishes, showing progress; return its final DescribeAuditTask (plus ``taskId``).

    ``progress``: ``"auto"`` (a widget in a notebook, text elsewhere), ``"widget"``, ``"text"``, ``None``, or a
    function called with an :class:`AuditProgress` at every poll. Raises WorkshopError after ``timeout`` seconds.

    AWS operation:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    report = progress_reporter(progress)
    started = time.monotonic()
    while True:
        description = describe_audit(task_id)
        elapsed = time.monotonic() - started
        state = AuditProgress.from_description(description, elapsed)
        if report is not None:
            report(state)
        if state.finished:
            return description
        if elapsed >= timeout:
            raise WorkshopError(
                f"Audit {task_id} is still IN_PROGRESS after {timeout:.0f} s ({state.done}/{state.total} checks done).",
                f"Audits of large fleets take longer: wait again with audits.wait_for_audit({task_id!r}, "
                f"timeout=3600), look at it in the console ({target.console_url('dd/audit/results')}), or cancel it "
                f"with audits.cancel_audit({task_id!r}).")
        time.sleep(max(0.0, min(poll_interval, timeout - elapsed)))


def run_on_demand_audit(check_names: Iterable[str] | str | None = None, *, timeout: float = 900,
                        poll_interval: float = 2.0,
                        progress: Union[str, bool, None, ProgressCallback] = "auto") -> dict[str, Any]:
    """Start an on-demand audit and wait for it; return its final DescribeAuditTask (plus ``taskId``).

    AWS operations:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html),
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [StartOnDemandAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartOnDemandAuditTask.html).
    """
    task_id = start_on_demand_audit(check_names)
    return wait_for_audit(task_id, timeout=timeout, poll_interval=poll_interval, progress=progress)


def cancel_audit(task_id: str) -> str:
    """Cancel an audit that is still running; return its status afterwards.

    AWS operations: [CancelAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_CancelAuditTask.html),
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    check_task_id(task_id)
    try:
        target.client("iot").cancel_audit_task(taskId=task_id)
    except ClientError as exc:
        if error_code(exc) == "InvalidRequestException":
            status = describe_audit(task_id)["taskStatus"]
            raise aws_error(exc, f"Audit {task_id} is {status}: only audits IN_PROGRESS can be canceled.",
                            "Nothing to do; audits.audit_results(task_id) shows its results.") from None
        if error_code(exc) == "ResourceNotFoundException":
            raise aws_error(exc, f"There is no audit {task_id} in this account and region.",
                            "audits.audit_history() lists the recent audits.") from None
        raise
    return describe_audit(task_id)["taskStatus"]


def audit_results(task_id: str) -> pd.DataFrame:
    """Return one row per check of the audit: check, title, severity, status, resource counts, error.

    AWS operation:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    description = describe_audit(task_id)
    rows = []
    for name, d in (description.get("auditDetails") or {}).items():
        info = describe_check(name)
        rows.append({"check": name, "title": info.title, "severity": info.severity, "status": d.get("checkRunStatus"),
                     "compliant": "✓" if d.get("checkCompliant") else "✗" if d.get("checkRunStatus", "").startswith(
                         "COMPLETED") else "",
                     "resources": d.get("totalResourcesCount", 0),
                     "non-compliant": d.get("nonCompliantResourcesCount", 0),
                     "suppressed": d.get("suppressedNonCompliantResourcesCount", 0),
                     "error": " ".join(x for x in (d.get("errorCode", ""), d.get("message", "")) if x)})
    frame = pd.DataFrame(rows, columns=["check", "title", "severity", "status", "compliant", "resources",
                                        "non-compliant", "suppressed", "error"])
    frame["severity"] = as_severity(frame["severity"])
    order = frame["status"].map(lambda s: STATUS_ORDER.index(s) if s in STATUS_ORDER else len(STATUS_ORDER))
    return (frame.assign(_order=order).sort_values(["_order", "severity", "title"]).drop(columns="_order")
            .reset_index(drop=True))


def audit_results_table(task_id: str) -> StyledTable:
    """Return :func:`audit_results` styled by severity, non-compliant checks first.

    AWS operation:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    d = describe_audit(task_id)
    caption = f"Audit {task_id} · {d['taskStatus']} · started {d.get('taskStartTime')}"
    return style_table(audit_results(task_id), mark_columns=["compliant"], caption=caption)


# -- scheduled audits ----------------------------------------------------------------------------------------------
def resolve_frequency(value: Any) -> str:
    """Return the audit frequency ``value`` names (case and dashes ignored); otherwise raise, naming the closest."""
    text = str(value).strip().upper().replace("-", "")
    if text in FREQUENCIES:
        return text
    close = difflib.get_close_matches(text, FREQUENCIES, n=1, cutoff=0.5)
    raise WorkshopError(f"{value!r} is not an audit frequency.",
                        (f"Did you mean {close[0]!r}? " if close else "") + f"Use one of {', '.join(FREQUENCIES)}.")


_DAY_NAMES = {**{d: d for d in DAYS_OF_WEEK},
              **{full: full[:3] for full in ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY",
                                             "SATURDAY")}}


def _day_of_week(value: Any) -> str:
    text = str(value).strip().upper()
    if text in _DAY_NAMES:
        return _DAY_NAMES[text]
    raise WorkshopError(f"{value!r} is not a day of the week.", f"Use one of {', '.join(DAYS_OF_WEEK)}.")


def _day_of_month(value: Any) -> str:
    text = str(value).strip().upper()
    if text == "LAST" or (text.isdigit() and 1 <= int(text) <= 31):
        return text if text == "LAST" else str(int(text))
    raise WorkshopError(f"{value!r} is not a day of the month.",
                        "Use 1 to 31 or 'LAST' (29, 30 and 31 run on the last day of shorter months).")


def validate_schedule(frequency: str, day_of_week: str | None = None,
                      day_of_month: int | str | None = None) -> dict[str, str]:
    """Return the API fields (``frequency``, ``dayOfWeek``/``dayOfMonth``) for a valid schedule, else raise."""
    freq = resolve_frequency(frequency)
    if freq == "DAILY":
        if day_of_week is not None or day_of_month is not None:
            raise WorkshopError("A DAILY audit runs every day, so it takes no day_of_week or day_of_month.",
                                "Leave both out, or choose WEEKLY/BIWEEKLY (day_of_week) or MONTHLY (day_of_month).")
        return {"frequency": freq}
    if freq in ("WEEKLY", "BIWEEKLY"):
        if day_of_month is not None:
            raise WorkshopError(f"A {freq} audit runs on a day of the week, not a day of the month.",
                                "Give day_of_week (e.g. 'MON') and leave day_of_month out.")
        if day_of_week is None:
            raise WorkshopError(f"A {freq} audit needs day_of_week.",
                                f"Add day_of_week, one of {', '.join(DAYS_OF_WEEK)}.")
        return {"frequency": freq, "dayOfWeek": _day_of_week(day_of_week)}
    if day_of_week is not None:
        raise WorkshopError("A MONTHLY audit runs on a day of the month, not a day of the week.",
                            "Give day_of_month (1 to 31 or 'LAST') and leave day_of_week out.")
    if day_of_month is None:
        raise WorkshopError("A MONTHLY audit needs day_of_month.", "Add day_of_month: 1 to 31, or 'LAST'.")
    return {"frequency": freq, "dayOfMonth": _day_of_month(day_of_month)}


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise WorkshopError(f"{name!r} is not a valid scheduled audit name.",
                            "Use 1 to 128 letters, digits, '_' or '-', e.g. 'WeeklyCertificateAudit'.")
    return name


def _scheduled_names() -> list[str]:
    iot = target.client("iot")
    return [a["scheduledAuditName"] for page in iot.get_paginator("list_scheduled_audits").paginate()
            for a in page["scheduledAudits"]]


def _not_found(exc: ClientError, name: str) -> WorkshopError:
    names = _scheduled_names()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return aws_error(exc, f"There is no scheduled audit {name!r}.",
                     f"{hint}Existing: {', '.join(names) or 'none'} (audits.list_scheduled_audits()).")


def describe_scheduled_audit(scheduled_audit_name: str) -> dict[str, Any]:
    """Return DescribeScheduledAudit for a scheduled audit (frequency, days, checks, ARN).

    AWS operations:
    [DescribeScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeScheduledAudit.html),
    [ListScheduledAudits](https://docs.aws.amazon.com/iot/latest/apireference/API_ListScheduledAudits.html).
    """
    _check_name(scheduled_audit_name)
    try:
        resp = target.client("iot").describe_scheduled_audit(scheduledAuditName=scheduled_audit_name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise _not_found(exc, scheduled_audit_name) from None
        raise
    resp.pop("ResponseMetadata", None)
    return resp


def create_scheduled_audit(scheduled_audit_name: str, *, frequency: str, day_of_week: str | None = None,
                           day_of_month: int | str | None = None, check_names: Iterable[str] | None = None,
                           tags: dict[str, str] | None = None) -> str:
    """Create a scheduled audit after validating its schedule and checks (default: all enabled); return its ARN.

    AWS operations:
    [CreateScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateScheduledAudit.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    _check_name(scheduled_audit_name)
    schedule = validate_schedule(frequency, day_of_week, day_of_month)
    if check_names is None:
        names = describe_audit_settings().enabled_checks
        if not names:
            raise WorkshopError("No audit checks are enabled, so a scheduled audit would have nothing to run.",
                                "Run settings.configure_audit() or settings.enable_checks([...]) first.")
    else:
        names = resolve_check_names(check_names)
        _enabled_or_fail(names)
    kwargs: dict[str, Any] = {"scheduledAuditName": scheduled_audit_name, "targetCheckNames": names, **schedule}
    kwargs["tags"] = workshop_tags(tags)  # tagged like everything the workshop creates, so 99-cleanup finds it
    try:
        return target.client("iot").create_scheduled_audit(**kwargs)["scheduledAuditArn"]
    except ClientError as exc:
        code = error_code(exc)
        if code == "ResourceAlreadyExistsException":
            raise aws_error(exc, f"A scheduled audit named {scheduled_audit_name!r} already exists.",
                            f"Change it with audits.update_scheduled_audit({scheduled_audit_name!r}, ...) or pick "
                            "another name.") from None
        if code == "LimitExceededException":
            raise aws_error(exc, "The account already has 5 scheduled audits (the quota, not adjustable).",
                            "Delete one with audits.delete_scheduled_audit(name), or change an existing one.") from None
        raise aws_error(exc, "Device Defender refused the scheduled audit.", "Read AWS's message above.") from None


def update_scheduled_audit(scheduled_audit_name: str, *, frequency: str | None = None,
                           day_of_week: str | None = None, day_of_month: int | str | None = None,
                           check_names: Iterable[str] | None = None, confirm: bool = False) -> str:
    """Change a scheduled audit's schedule and/or checks (the result is validated as a whole; ``confirm=True`` in a
    real account, after reading the old → new listing); return its ARN.

    AWS operations:
    [UpdateScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateScheduledAudit.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html),
    [DescribeScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeScheduledAudit.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html),
    [ListScheduledAudits](https://docs.aws.amazon.com/iot/latest/apireference/API_ListScheduledAudits.html).
    """
    current = describe_scheduled_audit(scheduled_audit_name)
    freq = resolve_frequency(frequency) if frequency is not None else current["frequency"]
    weekly, monthly = freq in ("WEEKLY", "BIWEEKLY"), freq == "MONTHLY"
    dow = day_of_week if day_of_week is not None else (current.get("dayOfWeek") if weekly and day_of_month is None
                                                       else None)
    dom = day_of_month if day_of_month is not None else (current.get("dayOfMonth") if monthly and day_of_week is None
                                                         else None)
    schedule = validate_schedule(freq, dow, dom)
    kwargs: dict[str, Any] = {"scheduledAuditName": scheduled_audit_name, **schedule}
    for field_ in ("dayOfWeek", "dayOfMonth"):  # the new frequency does not take a day the old one had: clear it
        if current.get(field_) and field_ not in schedule:
            kwargs[field_] = UNSET_VALUE
    if check_names is not None:
        names = resolve_check_names(check_names)
        _enabled_or_fail(names)
        kwargs["targetCheckNames"] = names
    changes = [f"{k}: {current.get(k)!r} → {v!r}" for k, v in kwargs.items()
               if k != "scheduledAuditName" and current.get(k) != v]
    require_confirmation("Not done: this step", [f"changing the scheduled audit {scheduled_audit_name} "
                                                 f"({'; '.join(changes) or 'no change'})"], confirm)
    try:
        return target.client("iot").update_scheduled_audit(**kwargs)["scheduledAuditArn"]
    except ClientError as exc:
        raise aws_error(exc, f"Device Defender refused to change {scheduled_audit_name!r}.",
                        "Read AWS's message above.") from None


def delete_scheduled_audit(scheduled_audit_name: str, *, confirm: bool = False) -> str:
    """Delete a scheduled audit (needs ``confirm=True`` in a real account); return what was done.

    AWS operations:
    [DeleteScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteScheduledAudit.html),
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html),
    [ListScheduledAudits](https://docs.aws.amazon.com/iot/latest/apireference/API_ListScheduledAudits.html).
    """
    _check_name(scheduled_audit_name)
    require_confirmation("Not done: this step", [f"deleting the scheduled audit {scheduled_audit_name}"], confirm)
    try:
        target.client("iot").delete_scheduled_audit(scheduledAuditName=scheduled_audit_name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise _not_found(exc, scheduled_audit_name) from None
        raise
    return f"Deleted the scheduled audit {scheduled_audit_name}."


def list_scheduled_audits() -> pd.DataFrame:
    """Return the scheduled audits: name, frequency, day of week, day of month, number of checks, checks, ARN.

    AWS operations:
    [DescribeScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeScheduledAudit.html),
    [ListScheduledAudits](https://docs.aws.amazon.com/iot/latest/apireference/API_ListScheduledAudits.html).
    """
    rows = []
    for name in _scheduled_names():
        d = describe_scheduled_audit(name)
        rows.append({"name": name, "frequency": d["frequency"], "day of week": d.get("dayOfWeek") or "",
                     "day of month": d.get("dayOfMonth") or "", "checks": len(d.get("targetCheckNames", [])),
                     "check names": ", ".join(d.get("targetCheckNames", [])), "arn": d["scheduledAuditArn"]})
    return pd.DataFrame(rows, columns=["name", "frequency", "day of week", "day of month", "checks", "check names",
                                       "arn"])


def run_scheduled_audit_now(scheduled_audit_name: str) -> str:
    """Return the id of the audit task the sandbox starts for a scheduled audit now, as if it had fallen due.

    Sandbox control: ``POST /_sandbox/iot/scheduled-audits/run-due`` with ``{"force": [scheduled_audit_name]}``.
    A real account has no such control: there a scheduled audit runs on its day.

    AWS operations:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [DescribeScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeScheduledAudit.html),
    [ListScheduledAudits](https://docs.aws.amazon.com/iot/latest/apireference/API_ListScheduledAudits.html).
    """
    _check_name(scheduled_audit_name)
    if not target.is_sandbox():
        raise WorkshopError(f"Running {scheduled_audit_name!r} now is a sandbox control; in a real account a scheduled "
                            "audit runs on its day.",
                            "Wait for its day, or run the same checks now with audits.run_on_demand_audit(names).")
    describe_scheduled_audit(scheduled_audit_name)  # an unknown name fails here, listing the existing ones
    started = target.sandbox_control("POST", "/_sandbox/iot/scheduled-audits/run-due",
                                     {"force": [scheduled_audit_name]})["startedTaskIds"]
    for task_id in started:  # other audits that were due start too
        if describe_audit(task_id).get("scheduledAuditName") == scheduled_audit_name:
            return task_id
    raise WorkshopError(f"The sandbox started no audit for {scheduled_audit_name!r}.",
                        "Check audits.audit_history(days=1), and report this: the sandbox should have started one.")


# -- history -------------------------------------------------------------------------------------------------------
def _task_type(value: str | None) -> str | None:
    if value is None:
        return None
    text = str(value).strip().upper().replace("-", "_")
    for api, short in TASK_TYPES.items():
        if text in (api, short.upper().replace("-", "_")):
            return api
    raise WorkshopError(f"{value!r} is not an audit type.", "Use 'on-demand' or 'scheduled' (or None for both).")


def _list_tasks(days: float, task_type: str | None, task_status: str | None,
                end_time: datetime | None = None) -> list[dict[str, Any]]:
    if isinstance(days, bool) or not isinstance(days, (int, float)) or not 0 < days <= MAX_HISTORY_DAYS:
        raise WorkshopError(f"days={days} is outside the audit history AWS keeps.",
                            f"Use a number of days from 1 to {MAX_HISTORY_DAYS}.")
    now = datetime.now(timezone.utc)
    # A minute inside the retention window (a start exactly 90 days back is already too old by the time AWS reads
    # it); endTime a day ahead tolerates clock skew (and the sandbox's clock, which instructors can move forward).
    kwargs: dict[str, Any] = {"startTime": now - timedelta(days=days) + timedelta(minutes=1),
                              "endTime": end_time or now + timedelta(days=1)}
    if task_type:
        kwargs["taskType"] = _task_type(task_type)
    if task_status:
        kwargs["taskStatus"] = str(task_status).upper()
    try:
        return [t for page in target.client("iot").get_paginator("list_audit_tasks").paginate(**kwargs)
                for t in page["tasks"]]
    except ClientError as exc:
        raise aws_error(exc, "Device Defender refused to list the audits.",
                        "Check the filters: task_status is IN_PROGRESS, COMPLETED, FAILED or CANCELED.") from None


HISTORY_COLUMNS = ["task id", "type", "scheduled audit", "status", "started", "checks", "non-compliant checks",
                   "compliant checks", "failed checks", "non-compliant resources", *SEVERITIES]


def audit_history(*, days: float = 30, task_type: str | None = None, task_status: str | None = None,
                  end_time: datetime | None = None) -> pd.DataFrame:
    """Return the audits of the last ``days`` (≤ 90), newest first, with counts of non-compliant resources by
    severity. ``end_time`` defaults to a day from now (after moving the sandbox clock further, pass a later one).

    AWS operations:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html).
    """
    rows = []
    for task in _list_tasks(days, task_type, task_status, end_time):
        d = describe_audit(task["taskId"])
        stats = d.get("taskStatistics", {})
        by_severity = dict.fromkeys(SEVERITIES, 0)
        for name, detail in (d.get("auditDetails") or {}).items():
            unsuppressed = (detail.get("nonCompliantResourcesCount", 0)
                            - detail.get("suppressedNonCompliantResourcesCount", 0))
            by_severity[describe_check(name).severity] += max(unsuppressed, 0)
        rows.append({"task id": task["taskId"], "type": TASK_TYPES.get(d["taskType"], d["taskType"]),
                     "scheduled audit": d.get("scheduledAuditName") or "", "status": d["taskStatus"],
                     "started": pd.Timestamp(d["taskStartTime"]), "checks": stats.get("totalChecks", 0),
                     "non-compliant checks": stats.get("nonCompliantChecks", 0),
                     "compliant checks": stats.get("compliantChecks", 0), "failed checks": stats.get("failedChecks", 0),
                     "non-compliant resources": sum(by_severity.values()), **by_severity})
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    return frame.sort_values("started", ascending=False).reset_index(drop=True) if rows else frame


def latest_on_demand_audit(*, task_status: str | None = "COMPLETED", days: float = MAX_HISTORY_DAYS) -> str:
    """Return the task id of the most recent on-demand audit (by default a COMPLETED one) of the last ``days``.

    AWS operations:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html).
    """
    for window in sorted({w for w in (1, 7, 30, days) if w <= days}):
        tasks = _list_tasks(window, "ON_DEMAND_AUDIT_TASK", task_status)
        if tasks:
            started = {t["taskId"]: describe_audit(t["taskId"])["taskStartTime"] for t in tasks}
            return max(started, key=lambda k: started[k])
    state = f"{task_status.lower()} " if task_status else ""
    raise WorkshopError(f"No {state}on-demand audit in the last {days:g} days.",
                        "Start one with audits.run_on_demand_audit() (or audits.start_on_demand_audit()).")
