"""Which audit to read in §1.2, given AWS's 2-hour connection lag: an on-demand audit sees device connections only
about 2 hours after they happen, so in a fresh account the shared-certificate finding is not there yet.

:func:`choose_audit` takes the audit the attendee just ran. When it shows the shared certificate, that is the one.
Otherwise it looks for an earlier audit of the account that does (the one an event creates in advance, or an
earlier one of the attendee's) and uses it. Failing that, it keeps the new audit and says when an audit will show
the finding. Either way :attr:`AuditChoice.expected` is what the chosen audit can show now, so a notebook asserts
that and never fails an attendee for waiting. The same code runs in every target; in the sandbox the first audit
already sees the connections (its clock moves past the lag).
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from botocore.exceptions import ClientError

from . import audits, state, target
from .errors import aws_error
from .fleet_base import CONNECTION_LOOKBACK_GAP_HOURS, MODULE1_NON_COMPLIANT

SHARED_CHECK = "DEVICE_CERTIFICATE_SHARED_CHECK"
LOOKBACK_DAYS = 31  # how far back an audit reads connections (and so how old a usable audit may be)
MARGIN = timedelta(minutes=5)  # AWS's lag is "about" 2 hours


@dataclass(frozen=True)
class AuditChoice:
    """The audit to read, why, and what it can show now."""

    task_id: str
    source: str  # "new" (the audit just run), "earlier" (an earlier audit of the account) or "waiting"
    expected: frozenset[str]  # the module's non-compliant checks this audit can show
    shared_finding_from: datetime | None  # when an audit started will show the shared certificate (None: it does)
    message: str

    @property
    def shows_shared_certificate(self) -> bool:
        """Return True when the chosen audit has the shared-certificate finding of this environment."""
        return SHARED_CHECK in self.expected

    def __str__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        colour = "#1b7f3b" if self.shows_shared_certificate else "#8a6d00"
        return (f"<div style='border-left:6px solid {colour};padding:0.4em 0.8em'>"
                f"{html.escape(self.message)}</div>")


def shows_shared_certificate(task_id: str, certificate_id: str) -> bool:
    """Return True when audit ``task_id`` has a DEVICE_CERTIFICATE_SHARED_CHECK finding on ``certificate_id``.

    AWS operation:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    try:
        pages = target.client("iot").get_paginator("list_audit_findings").paginate(taskId=task_id,
                                                                                   checkName=SHARED_CHECK)
        return any(f.get("nonCompliantResource", {}).get("resourceIdentifier", {}).get("deviceCertificateId")
                   == certificate_id for page in pages for f in page["findings"])
    except ClientError as exc:
        raise aws_error(exc, f"Device Defender refused to list the findings of audit {task_id}.",
                        "Check the task id (audits.audit_history() lists them).") from None


def earlier_audit_with_shared_certificate(certificate_id: str, *, exclude: str = "") -> str | None:
    """Return the newest completed audit (on-demand or scheduled, last 31 days) that shows ``certificate_id`` as
    shared, or None.

    AWS operations:
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    history = audits.audit_history(days=LOOKBACK_DAYS, task_status="COMPLETED")
    for task_id in history["task id"]:
        if task_id != exclude and shows_shared_certificate(task_id, certificate_id):
            return str(task_id)
    return None


def devices_connected_at(run_id: str) -> datetime | None:
    """Return when this machine last connected the run's devices (as recorded), or None when it never did."""
    at = (state.get_run(run_id) or {}).get("devices_connected_at")
    return datetime.fromtimestamp(at, timezone.utc) if at else None


def shared_finding_from(run_id: str) -> datetime | None:
    """Return when an audit started will show the run's shared certificate: 2 hours (and a margin) after its
    devices last connected from this machine, or None when they never did."""
    connected = devices_connected_at(run_id)
    return None if connected is None else connected + timedelta(hours=CONNECTION_LOOKBACK_GAP_HOURS) + MARGIN


def choose_audit(env: Any, task_id: str) -> AuditChoice:
    """Return the audit §1.2 reads: ``task_id`` when it shows ``env``'s shared certificate, else an earlier audit
    that does, else ``task_id`` with when the finding will appear (``env``: a Module 1 WorkshopEnvironment).

    AWS operations:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html),
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    everything = frozenset(MODULE1_NON_COMPLIANT)
    if shows_shared_certificate(task_id, env.certificate_id):
        return AuditChoice(task_id, "new", everything, None,
                           f"Audit {task_id} shows all three of the module's findings.")
    earlier = earlier_audit_with_shared_certificate(env.certificate_id, exclude=task_id)
    if earlier is not None:
        return AuditChoice(earlier, "earlier", everything, None,
                           f"Your new audit {task_id} does not show the shared certificate yet: AWS IoT shows device "
                           "connections to an audit only about 2 hours after they happen. An earlier audit of this "
                           f"account, {earlier}, already does, so this notebook reads that one.")
    when = shared_finding_from(env.run_id)
    if when is None:
        wait = ("The devices have not connected from this machine yet: connect them (fleet.connect_devices(env)); "
                f"an audit started {CONNECTION_LOOKBACK_GAP_HOURS} hours later shows the shared certificate.")
    else:
        local = when.astimezone()
        at = f"{when:%H:%M} UTC" if local.utcoffset() == timedelta(0) else f"{local:%H:%M} ({when:%H:%M} UTC)"
        wait = (f"An audit started after {at} shows it: run "
                "audits.run_on_demand_audit() again then, or read a scheduled audit that runs later.")
    return AuditChoice(task_id, "waiting", everything - {SHARED_CHECK}, when,
                       f"Audit {task_id} shows two of the module's three findings. The shared certificate is not "
                       f"there yet: AWS IoT shows device connections to an audit only about "
                       f"{CONNECTION_LOOKBACK_GAP_HOURS} hours after they happen. {wait} Meanwhile, read what this "
                       "audit found.")
