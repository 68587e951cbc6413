"""The sandbox-only controls under ``/_sandbox/``: data AWS has and moto lacks, and instructor conveniences."""
from __future__ import annotations

import base64
import binascii
import os
import re
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from moto.core.exceptions import ServiceException
from moto.iot.models import iot_backends
from werkzeug.wrappers import Request

from . import bounded_json
from .admission import known_regions
from .audit_tasks import DEFAULT_CHECK_BUDGET_SECONDS
from .bulk import bulk_register as register_devices
from .config import CONTROLS_VERSION as VERSION, SANDBOX_ACCOUNT
from .exceptions import SandboxError
from .faults import FaultInjector, FaultSettingError
from .iam_enforcement import Enforcement, create_admin, random_account
from .models import devicedefender_backends
from .operations import OperationLog


class ControlApp(Protocol):
    """What the controls need of the app that serves them (``server.SandboxApp``)."""

    instance_id: str
    started_at: datetime
    faults: FaultInjector
    operations: OperationLog
    enforcement: Enforcement
    dataplane: Any

    def route(self, method: str, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]: ...

ACCOUNT_RE = re.compile(r"[0-9]{12}", re.ASCII)
MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z: later instants are no datetime


def _scope(request: Request) -> tuple[str, str]:
    """Return the (account, region) a control request addresses (query ``account``/``region``)."""
    account = request.args.get("account", SANDBOX_ACCOUNT)
    region = request.args.get("region") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if not ACCOUNT_RE.fullmatch(account):
        raise SandboxError(400, f"account must be 12 ASCII digits (0-9); got {account!r}")
    if not region.isascii() or region not in known_regions("iot"):
        raise SandboxError(400, f"Unknown region {region!r}; IoT regions include us-east-1, eu-west-1, ...")
    return account, region


def _body(request: Request) -> dict[str, Any]:
    """Return the JSON object a control request carries ({} for none), parsed within bounded_json's limits."""
    raw = request.get_data()
    try:
        data = bounded_json.loads(raw) if raw.strip() else {}
    except bounded_json.JsonBodyError as exc:
        raise SandboxError(400, str(exc)) from None
    if not isinstance(data, dict):
        raise SandboxError(400, "The body must be a JSON object.")
    return data


def _backend(request: Request) -> Any:
    account, region = _scope(request)
    return devicedefender_backends[account][region]


def register(app: ControlApp) -> None:
    """Register every control on ``app``."""
    _register_bulk(app)

    _register_faults(app)

    _register_dataplane(app)

    _register_auth(app)

    @app.route("GET", "/_sandbox/health")
    def health(request: Request) -> dict[str, Any]:
        return {"sandbox": "iot-device-defender", "version": VERSION, "account": SANDBOX_ACCOUNT,
                "instanceId": app.instance_id, "startedAt": app.started_at.isoformat(),
                "broker": app.dataplane.health() if app.dataplane is not None else {"running": False}}

    @app.route("POST", "/_sandbox/iot/connections")
    def add_connections(request: Request) -> dict[str, Any]:
        body = _body(request)
        if "events" not in body:
            raise SandboxError(400, 'The body needs "events": a list of connection events.')
        total = _call(lambda: _backend(request).record_connections(body["events"]))
        return {"recorded": len(body["events"]), "total": total}

    @app.route("GET", "/_sandbox/iot/connections")
    def get_connections(request: Request) -> dict[str, Any]:
        return {"events": _backend(request).list_connections()}

    @app.route("DELETE", "/_sandbox/iot/connections")
    def forget_connections(request: Request) -> dict[str, Any]:
        body = _body(request)
        if "certificateIds" not in body:
            raise SandboxError(400, 'The body needs "certificateIds": the certificates whose history to forget.')
        removed = _call(lambda: _backend(request).forget_connections(body["certificateIds"]))
        return {"removed": removed, "total": len(_backend(request).list_connections())}

    @app.route("POST", "/_sandbox/iot/crls")
    def publish_crl(request: Request) -> dict[str, Any]:
        body = _body(request)
        crl = body.get("crl")
        if not isinstance(crl, str) or not crl:
            raise SandboxError(400, 'The body needs "crl": a PEM CRL, or a DER CRL in base64.')
        data: str | bytes = crl
        if "-----BEGIN" not in crl:
            try:
                data = base64.b64decode(crl, validate=True)
            except (binascii.Error, ValueError):  # ValueError: text that is not ASCII
                raise SandboxError(400, '"crl" is neither PEM nor base64-encoded DER.') from None
        info = _call(lambda: _backend(request).publish_crl(data))
        return {"issuerCaCertificateId": info.issuer_ca_certificate_id,
                "revokedSerialNumbers": [format(s, "x") for s in sorted(info.revoked_serials)]}

    @app.route("GET", "/_sandbox/iot/crls")
    def list_crls(request: Request) -> dict[str, Any]:
        return {"crls": [{"issuerCaCertificateId": c.issuer_ca_certificate_id,
                          "revokedSerialNumbers": [format(s, "x") for s in sorted(c.revoked_serials)]}
                         for c in _backend(request).crls]}

    @app.route("POST", "/_sandbox/iot/role-alias-usage")
    def role_alias_usage(request: Request) -> dict[str, Any]:
        body = _body(request)
        alias, services = body.get("roleAliasArn"), body.get("services")
        if not isinstance(alias, str) or ":rolealias/" not in alias:
            raise SandboxError(400, '"roleAliasArn" must be the ARN of a role alias.')
        if not isinstance(services, list) or not all(isinstance(s, str) and s for s in services):
            raise SandboxError(400, '"services" must be a list of service prefixes such as ["iot", "s3"].')
        when = _epoch(body.get("usedAt"), "usedAt")
        backend = _backend(request)
        with backend.lock:
            usage = backend.role_alias_usage.setdefault(alias, {})
            for svc in services:
                usage[svc] = max(usage.get(svc, when), when)
        return {"roleAliasArn": alias, "services": sorted(backend.role_alias_usage[alias])}

    @app.route("POST", "/_sandbox/cognito/pool-activity")
    def pool_activity(request: Request) -> dict[str, Any]:
        body = _body(request)
        pool_id = body.get("identityPoolId")
        if not isinstance(pool_id, str) or ":" not in pool_id:
            raise SandboxError(400, '"identityPoolId" must be an identity pool id such as "us-east-1:1234...".')
        backend = _backend(request)
        backend.pool_activity[pool_id] = _epoch(body.get("connectedAt"), "connectedAt")
        return {"identityPoolId": pool_id, "connectedAt": backend.pool_activity[pool_id].timestamp()}

    @app.route("POST", "/_sandbox/clock")
    def clock(request: Request) -> dict[str, Any]:
        body = _body(request)
        seconds = body.get("advanceSeconds", 0)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise SandboxError(400, '"advanceSeconds" must be a number >= 0 (the sandbox clock only moves forward).')
        now, started = _call(lambda: _backend(request).advance_clock(float(seconds)))
        return {"now": now.isoformat(), "startedTaskIds": started}

    @app.route("GET", "/_sandbox/clock")
    def get_clock(request: Request) -> dict[str, Any]:
        backend = _backend(request)
        return {"now": backend.now().isoformat(), "offsetSeconds": backend.clock_offset.total_seconds()}

    @app.route("POST", "/_sandbox/iot/scheduled-audits/run-due")
    def run_due(request: Request) -> dict[str, Any]:
        force = _body(request).get("force", [])
        if not isinstance(force, list) or not all(isinstance(n, str) for n in force):
            raise SandboxError(400, '"force" must be a list of scheduled audit names to run now as if due.')
        return {"startedTaskIds": _call(lambda: _backend(request).run_due_scheduled_audits(force))}

    @app.route("GET", "/_sandbox/iot/notifications")
    def notifications(request: Request) -> dict[str, Any]:
        return {"notifications": list(_backend(request).notifications)}

    @app.route("POST", "/_sandbox/config")
    def config(request: Request) -> dict[str, Any]:
        body = _body(request)
        unknown = set(body) - {"auditDelaySeconds", "maxPageSize", "synchronousAudits", "checkBudgetSeconds"}
        if unknown:
            raise SandboxError(400, f"Unknown setting(s) {sorted(unknown)}; known: auditDelaySeconds, maxPageSize, "
                                    "synchronousAudits, checkBudgetSeconds.")
        backend = _backend(request)
        changes: dict[str, Any] = {}  # every setting is validated before any is applied
        if "auditDelaySeconds" in body:
            delay = body["auditDelaySeconds"]
            if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay <= 60:
                raise SandboxError(400, '"auditDelaySeconds" must be a number from 0 to 60.')
            changes["audit_delay_seconds"] = delay
        if "synchronousAudits" in body:
            if not isinstance(body["synchronousAudits"], bool):
                raise SandboxError(400, '"synchronousAudits" must be true or false.')
            changes["synchronous_audits"] = body["synchronousAudits"]
        if "maxPageSize" in body:
            size = body["maxPageSize"]
            if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
                raise SandboxError(400, '"maxPageSize" must be a whole number >= 1, or null for no cap.')
            changes["max_page_size"] = size
        if "checkBudgetSeconds" in body:
            budget = body["checkBudgetSeconds"]
            if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0.01 <= budget <= 600:
                raise SandboxError(400, '"checkBudgetSeconds" must be a number from 0.01 to 600 (how long one audit '
                                        'check may run before it is reported FAILED).')
            changes["check_budget_seconds"] = float(budget)
        backend.settings.update(changes)
        return {"auditDelaySeconds": backend.settings.get("audit_delay_seconds", 0),
                "synchronousAudits": backend.settings.get("synchronous_audits", False),
                "maxPageSize": backend.settings.get("max_page_size"),
                "checkBudgetSeconds": backend.settings.get("check_budget_seconds", DEFAULT_CHECK_BUDGET_SECONDS)}


def _epoch(value: Any, name: str) -> datetime:
    """Return a UTC datetime from epoch seconds (now when absent), or refuse the request."""
    if value is None:
        return datetime.now(timezone.utc)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_EPOCH:
        raise SandboxError(400, f'"{name}" must be epoch seconds (a number from 0 to {MAX_EPOCH}, before the '
                                'year 10000).')
    return datetime.fromtimestamp(value, tz=timezone.utc)


def _call(fn: Any) -> Any:
    """Run a backend call, turning its AWS-style errors into HTTP 400 with the message."""
    try:
        return fn()
    except ServiceException as exc:
        raise SandboxError(400, exc.message) from None


def _register_bulk(app: ControlApp) -> None:
    @app.route("POST", "/_sandbox/iot/bulk-register")
    def bulk_register(request: Request) -> dict[str, Any]:
        body = _body(request)
        account, region = _scope(request)
        backend = _backend(request)
        with backend.lock:
            return _call(lambda: register_devices(iot_backends[account][region], body.get("devices"), backend.now()))


def _register_faults(app: ControlApp) -> None:
    @app.route("GET", "/_sandbox/faults")
    def get_faults(request: Request) -> dict[str, Any]:
        return app.faults.to_dict()

    @app.route("POST", "/_sandbox/faults")
    def set_faults(request: Request) -> dict[str, Any]:
        try:
            app.faults.configure(_body(request))
        except FaultSettingError as exc:
            raise SandboxError(400, str(exc)) from None
        return app.faults.to_dict()

    @app.route("DELETE", "/_sandbox/faults")
    def clear_faults(request: Request) -> dict[str, Any]:
        app.faults.configure({})
        return app.faults.to_dict()

    @app.route("GET", "/_sandbox/operations")
    def get_operations(request: Request) -> dict[str, Any]:
        return {"operations": app.operations.to_list()}

    @app.route("DELETE", "/_sandbox/operations")
    def clear_operations(request: Request) -> dict[str, Any]:
        app.operations.clear()
        return {"operations": []}


def _register_dataplane(app: ControlApp) -> None:
    @app.route("GET", "/_sandbox/iot/data-endpoint")
    def data_endpoint(request: Request) -> dict[str, Any]:
        if app.dataplane is None:
            raise SandboxError(404, "This sandbox runs no MQTT broker (it was started with mqtt_port=None).")
        return {"host": app.dataplane.host, "port": app.dataplane.port, "rootCaPem": app.dataplane.root_ca_pem}

    @app.route("GET", "/_sandbox/iot/sessions")
    def sessions(request: Request) -> dict[str, Any]:
        if app.dataplane is None:
            raise SandboxError(404, "This sandbox runs no MQTT broker (it was started with mqtt_port=None).")
        return app.dataplane.sessions()


def _register_auth(app: ControlApp) -> None:
    @app.route("GET", "/_sandbox/auth")
    def get_auth(request: Request) -> dict[str, Any]:
        return app.enforcement.to_dict()

    @app.route("POST", "/_sandbox/auth")
    def set_auth(request: Request) -> dict[str, Any]:
        body = _body(request)
        unknown = set(body) - {"enforce", "account"}
        if unknown:
            raise SandboxError(400, f"Unknown setting(s) {sorted(unknown)}; known: enforce, account.")
        if not isinstance(body.get("enforce"), bool):
            raise SandboxError(400, '"enforce" must be true (authorise every API call with IAM) or false.')
        account = body.get("account", "random") if body["enforce"] else None
        if account == "random":
            account = random_account()
        if account is not None and (not isinstance(account, str) or not ACCOUNT_RE.fullmatch(account)):
            raise SandboxError(400, f'"account" must be 12 ASCII digits, or "random"; got {account!r}')
        answer: dict[str, Any] = {}
        if account is not None:
            answer = {"account": account, "admin": create_admin(account)}
        with app.enforcement.lock:
            app.enforcement.enforce = body["enforce"]
            app.enforcement.denied.clear()
        return {**app.enforcement.to_dict(), **answer}
