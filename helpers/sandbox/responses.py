"""API layer of the local Device Defender: one thin method per operation, grafted onto moto's ``IoTResponse``.

moto resolves the operation from the request with the botocore model and calls the method whose name is the
operation in snake_case; :mod:`helpers.sandbox.grafting` adds these methods to ``IoTResponse`` so in-process
``mock_aws``, the threaded server and the AWS CLI all reach them. Each method reads parameters, calls the backend,
returns the result.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlparse

from moto.core.responses import ActionResult, EmptyResult
from moto.iot.responses import IoTResponse

from .exceptions import InvalidRequestException
from .models import DeviceDefenderBackend, devicedefender_backends
from .paging import paginate
from .validation import request_object

AUDIT_TASK_ID_RE = re.compile(r"^[a-zA-Z0-9-]{1,40}$")

# The methods moto's IoTResponse has as shipped (this module is imported before anything is installed).
MOTO_IOT_METHODS = frozenset(name for name, fn in vars(IoTResponse).items()
                             if not getattr(fn, "_devicedefender", False))


class DeviceDefenderResponse:
    """Device Defender operations; methods are copied onto ``IoTResponse`` by :func:`install`."""

    # Provided by BaseResponse at run time.
    current_account: str
    region: str
    body: Any
    querystring: dict[str, Any]
    uri: str
    _get_param: Callable[..., Any]
    _get_bool_param: Callable[..., Any]

    @property
    def dd_backend(self) -> DeviceDefenderBackend:
        return devicedefender_backends[self.current_account][self.region]

    def _json_body(self) -> dict[str, Any]:
        return request_object(self.body) if self.body else {}

    # -- account audit configuration ---------------------------------------------------------------------------
    def describe_account_audit_configuration(self) -> ActionResult:
        return ActionResult(self.dd_backend.describe_account_audit_configuration())

    def update_account_audit_configuration(self) -> ActionResult:
        body = self._json_body()
        self.dd_backend.update_account_audit_configuration(
            role_arn=body.get("roleArn"),
            notification_targets=body.get("auditNotificationTargetConfigurations"),
            check_configs=body.get("auditCheckConfigurations"),
        )
        return EmptyResult()

    def delete_account_audit_configuration(self) -> ActionResult:
        self.dd_backend.delete_account_audit_configuration(
            bool(self._get_bool_param("deleteScheduledAudits", False))
        )
        return EmptyResult()

    # -- audit tasks -------------------------------------------------------------------------------------------
    def start_on_demand_audit_task(self) -> ActionResult:
        task_id = self.dd_backend.start_on_demand_audit_task(self._json_body().get("targetCheckNames"))
        return ActionResult({"taskId": task_id})

    def describe_audit_task(self) -> ActionResult:
        return ActionResult(self.dd_backend.describe_audit_task(_audit_task_id(self._path_param("taskId"))))

    def cancel_audit_task(self) -> ActionResult:
        self.dd_backend.cancel_audit_task(_audit_task_id(self._path_param("taskId")))
        return EmptyResult()

    def list_audit_tasks(self) -> ActionResult:
        start, end = self._time_param("startTime", required=True), self._time_param("endTime", required=True)
        tasks = self.dd_backend.list_audit_tasks(start, end, self._get_param("taskType"), self._get_param("taskStatus"))
        page, token = self._page(tasks)
        return ActionResult({"tasks": [t.summary() for t in page], "nextToken": token})

    # -- findings ----------------------------------------------------------------------------------------------
    def list_audit_findings(self) -> ActionResult:
        body = self._json_body()
        suppressed = body.get("listSuppressedFindings")
        if suppressed is not None and not isinstance(suppressed, bool):
            raise InvalidRequestException("listSuppressedFindings must be true or false.")
        findings = self.dd_backend.list_audit_findings(
            body.get("taskId"), body.get("checkName"), body.get("resourceIdentifier"),
            _timestamp(body.get("startTime"), "startTime"), _timestamp(body.get("endTime"), "endTime"), suppressed)
        page, token = paginate(findings, body.get("maxResults"), body.get("nextToken"),
                               fingerprint=_fingerprint(body), cap=self.dd_backend.page_cap())
        return ActionResult({"findings": [f.to_dict() for f in page], "nextToken": token})

    def describe_audit_finding(self) -> ActionResult:
        finding = self.dd_backend.describe_audit_finding(self._path_param("findingId"))
        return ActionResult({"finding": finding.to_dict(related_limit=10)})

    def list_related_resources_for_audit_finding(self) -> ActionResult:
        finding_id = self._get_param("findingId")
        if not finding_id:
            raise InvalidRequestException("findingId is required.")
        finding = self.dd_backend.describe_audit_finding(finding_id)
        page, token = self._page(finding.related_resources)
        return ActionResult({"relatedResources": page, "nextToken": token})

    # -- suppressions ------------------------------------------------------------------------------------------
    def create_audit_suppression(self) -> ActionResult:
        b = self._json_body()
        self.dd_backend.create_audit_suppression(b.get("checkName"), b.get("resourceIdentifier"),
                                                 _timestamp(b.get("expirationDate"), "expirationDate"),
                                                 b.get("suppressIndefinitely"), b.get("description"),
                                                 b.get("clientRequestToken"))
        return EmptyResult()

    def update_audit_suppression(self) -> ActionResult:
        b = self._json_body()
        self.dd_backend.update_audit_suppression(b.get("checkName"), b.get("resourceIdentifier"),
                                                 _timestamp(b.get("expirationDate"), "expirationDate"),
                                                 b.get("suppressIndefinitely"), b.get("description"))
        return EmptyResult()

    def delete_audit_suppression(self) -> ActionResult:
        b = self._json_body()
        self.dd_backend.delete_audit_suppression(b.get("checkName"), b.get("resourceIdentifier"))
        return EmptyResult()

    def describe_audit_suppression(self) -> ActionResult:
        b = self._json_body()
        return ActionResult(self.dd_backend.describe_audit_suppression(b.get("checkName"), b.get("resourceIdentifier")))

    def list_audit_suppressions(self) -> ActionResult:
        b = self._json_body()
        ascending = b.get("ascendingOrder", True)
        if not isinstance(ascending, bool):
            raise InvalidRequestException("ascendingOrder must be true or false.")
        rows = self.dd_backend.list_audit_suppressions(b.get("checkName"), b.get("resourceIdentifier"), ascending)
        page, token = paginate(rows, b.get("maxResults"), b.get("nextToken"), fingerprint=_fingerprint(b),
                               cap=self.dd_backend.page_cap())
        return ActionResult({"suppressions": page, "nextToken": token})

    # -- scheduled audits --------------------------------------------------------------------------------------
    def create_scheduled_audit(self) -> ActionResult:
        b = self._json_body()
        arn = self.dd_backend.create_scheduled_audit(self._path_param("scheduledAuditName"), b.get("frequency"),
                                                     b.get("dayOfWeek"), b.get("dayOfMonth"),
                                                     b.get("targetCheckNames"), b.get("tags"))
        return ActionResult({"scheduledAuditArn": arn})

    def update_scheduled_audit(self) -> ActionResult:
        b = self._json_body()
        arn = self.dd_backend.update_scheduled_audit(self._path_param("scheduledAuditName"), b.get("frequency"),
                                                     b.get("dayOfWeek"), b.get("dayOfMonth"),
                                                     b.get("targetCheckNames"))
        return ActionResult({"scheduledAuditArn": arn})

    def delete_scheduled_audit(self) -> ActionResult:
        self.dd_backend.delete_scheduled_audit(self._path_param("scheduledAuditName"))
        return EmptyResult()

    def describe_scheduled_audit(self) -> ActionResult:
        return ActionResult(self.dd_backend._scheduled(self._path_param("scheduledAuditName")).describe())

    def list_scheduled_audits(self) -> ActionResult:
        audits = sorted(self.dd_backend.scheduled_audits.values(), key=lambda a: a.name)
        page, token = self._page(audits)
        return ActionResult({"scheduledAudits": [a.summary() for a in page], "nextToken": token})

    # -- logging -----------------------------------------------------------------------------------------------
    def get_logging_options(self) -> ActionResult:
        return ActionResult(dict(self.dd_backend.logging_v1 or {}))

    def set_logging_options(self) -> ActionResult:
        body = self._json_body()  # the whole body is the loggingOptionsPayload member (HTTP payload)
        self.dd_backend.set_logging_options(body.get("loggingOptionsPayload", body))
        return EmptyResult()

    def get_v2_logging_options(self) -> ActionResult:
        return ActionResult(self.dd_backend.get_v2_logging_options(bool(self._get_bool_param("verbose", False))))

    def set_v2_logging_options(self) -> ActionResult:
        b = self._json_body()
        self.dd_backend.set_v2_logging_options(b.get("roleArn"), b.get("defaultLogLevel"), b.get("disableAllLogs"),
                                               b.get("eventConfigurations"))
        return EmptyResult()

    def set_v2_logging_level(self) -> ActionResult:
        b = self._json_body()
        self.dd_backend.set_v2_logging_level(b.get("logTarget"), b.get("logLevel"))
        return EmptyResult()

    def list_v2_logging_levels(self) -> ActionResult:
        page, token = self._page(self.dd_backend.list_v2_logging_levels(self._get_param("targetType")))
        return ActionResult({"logTargetConfigurations": page, "nextToken": token})

    def delete_v2_logging_level(self) -> ActionResult:
        self.dd_backend.delete_v2_logging_level(self._get_param("targetType"), self._get_param("targetName"))
        return EmptyResult()

    # -- mitigation actions ------------------------------------------------------------------------------------
    def create_mitigation_action(self) -> ActionResult:
        b = self._json_body()
        action = self.dd_backend.create_mitigation_action(self._path_param("actionName"), b.get("roleArn"),
                                                          b.get("actionParams"), b.get("tags"))
        return ActionResult({"actionArn": action.arn, "actionId": action.action_id})

    def describe_mitigation_action(self) -> ActionResult:
        return ActionResult(self.dd_backend.mitigation_action(self._path_param("actionName")).describe())

    def update_mitigation_action(self) -> ActionResult:
        b = self._json_body()
        action = self.dd_backend.update_mitigation_action(self._path_param("actionName"), b.get("roleArn"),
                                                          b.get("actionParams"))
        return ActionResult({"actionArn": action.arn, "actionId": action.action_id})

    def delete_mitigation_action(self) -> ActionResult:
        self.dd_backend.delete_mitigation_action(self._path_param("actionName"))
        return EmptyResult()

    def list_mitigation_actions(self) -> ActionResult:
        actions = self.dd_backend.list_mitigation_actions(self._get_param("actionType"))
        page, token = self._page(actions)
        return ActionResult({"actionIdentifiers": [{"actionName": a.name, "actionArn": a.arn,
                                                    "creationDate": a.creation_date} for a in page],
                             "nextToken": token})

    # -- audit mitigation tasks --------------------------------------------------------------------------------
    def start_audit_mitigation_actions_task(self) -> ActionResult:
        b = self._json_body()
        task_id = self.dd_backend.start_audit_mitigation_actions_task(
            self._path_param("taskId"), b.get("target"), b.get("auditCheckToActionsMapping"), b.get("clientRequestToken"))
        return ActionResult({"taskId": task_id})

    def describe_audit_mitigation_actions_task(self) -> ActionResult:
        return ActionResult(self.dd_backend.mitigation_task(self._path_param("taskId")).describe())

    def cancel_audit_mitigation_actions_task(self) -> ActionResult:
        self.dd_backend.cancel_audit_mitigation_actions_task(self._path_param("taskId"))
        return EmptyResult()

    def list_audit_mitigation_actions_tasks(self) -> ActionResult:
        tasks = self.dd_backend.list_audit_mitigation_actions_tasks(
            self._time_param("startTime", required=True), self._time_param("endTime", required=True),
            self._get_param("auditTaskId"), self._get_param("findingId"), self._get_param("taskStatus"))
        page, token = self._page(tasks)
        return ActionResult({"tasks": [t.summary() for t in page], "nextToken": token})

    def list_audit_mitigation_actions_executions(self) -> ActionResult:
        executions = self.dd_backend.list_audit_mitigation_actions_executions(
            self._get_param("taskId"), self._get_param("findingId"), self._get_param("actionStatus"))
        page, token = self._page(executions)
        return ActionResult({"actionsExecutions": [e.to_dict() for e in page], "nextToken": token})

    # -- request helpers ---------------------------------------------------------------------------------------
    def _path_param(self, name: str) -> str:
        value = self._get_param(name)
        if not value:
            raise InvalidRequestException(f"{name} is required.")
        return unquote(str(value))

    def _time_param(self, name: str, required: bool = False) -> datetime | None:
        value = _timestamp(self._get_param(name), name)
        if value is None and required:
            raise InvalidRequestException(f"{name} is required.")
        return value

    def _page(self, items: list[Any]) -> tuple[list[Any], str | None]:
        # moto fills ``querystring`` with the headers for a GET without a query: read the URL's own query instead
        query = {k: v for k, v in parse_qs(urlparse(self.uri).query).items() if k not in ("nextToken", "maxResults")}
        return paginate(items, self._get_param("maxResults"), self._get_param("nextToken"),
                        fingerprint=_fingerprint(query), cap=self.dd_backend.page_cap())


def _audit_task_id(value: str) -> str:
    """Return ``value`` if it fits the model's AuditTaskId (1 to 40 letters, digits or '-'), else refuse it."""
    if not AUDIT_TASK_ID_RE.match(value):
        raise InvalidRequestException(f"taskId must be 1 to 40 letters, digits or '-'; got {value!r}.")
    return value


def _timestamp(value: Any, name: str) -> datetime | None:
    """Return a UTC datetime from epoch seconds or an ISO 8601 string (how botocore sends timestamps)."""
    if value is None or value == "":
        return None
    if isinstance(value, list):
        value = value[0]
    try:
        if isinstance(value, (int, float)) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        raise InvalidRequestException(f"{name} must be a timestamp (epoch seconds or ISO 8601); got {value!r}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _fingerprint(params: dict[str, Any]) -> str:
    """Return a short digest of the filters of a list request, so a token cannot be replayed on other filters."""
    relevant = {k: v for k, v in params.items() if k not in ("nextToken", "maxResults")}
    return hashlib.sha1(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:12]


def operation_methods() -> dict[str, Callable[..., Any]]:
    """Return the operation methods this extension defines, by snake_case operation name."""
    return {
        name: fn
        for name, fn in vars(DeviceDefenderResponse).items()
        if callable(fn) and not name.startswith("_")
    }
