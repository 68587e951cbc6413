"""The sandbox-only controls under ``/_sandbox/``: data AWS has and moto lacks, and instructor conveniences."""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import ServiceException

from .server import SANDBOX_ACCOUNT, SandboxError

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from .server import SandboxApp

VERSION = "1"


def _scope(request: "Request") -> tuple[str, str]:
    """Return the (account, region) a control request addresses (query ``account``/``region``)."""
    account = request.args.get("account", SANDBOX_ACCOUNT)
    region = request.args.get("region") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if not (account.isdigit() and len(account) == 12):
        raise SandboxError(400, f"account must be 12 digits; got {account!r}")
    if region not in _iot_regions():
        raise SandboxError(400, f"Unknown region {region!r}; IoT regions include us-east-1, eu-west-1, ...")
    return account, region


def _iot_regions() -> set[str]:
    from boto3.session import Session

    return set(Session().get_available_regions("iot"))


def _body(request: "Request") -> dict[str, Any]:
    try:
        data = json.loads(request.get_data(as_text=True) or "{}")
    except json.JSONDecodeError as exc:
        raise SandboxError(400, f"The body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SandboxError(400, "The body must be a JSON object.")
    return data


def _backend(request: "Request") -> Any:
    from .models import devicedefender_backends

    account, region = _scope(request)
    return devicedefender_backends[account][region]


def register(app: "SandboxApp") -> None:
    """Register every control on ``app``."""

    @app.route("GET", "/_sandbox/health")
    def health(request: "Request") -> dict[str, Any]:
        return {"sandbox": "iot-device-defender", "version": VERSION, "account": SANDBOX_ACCOUNT}

    @app.route("POST", "/_sandbox/iot/connections")
    def add_connections(request: "Request") -> dict[str, Any]:
        body = _body(request)
        if "events" not in body:
            raise SandboxError(400, 'The body needs "events": a list of connection events.')
        try:
            total = _backend(request).record_connections(body["events"])
        except ServiceException as exc:
            raise SandboxError(400, exc.message) from None
        return {"recorded": len(body["events"]), "total": total}

    @app.route("GET", "/_sandbox/iot/connections")
    def get_connections(request: "Request") -> dict[str, Any]:
        return {"events": _backend(request).list_connections()}
