"""API layer of the local Device Defender: one thin method per operation, grafted onto moto's ``IoTResponse``.

moto resolves the operation from the request with the botocore model and calls the method whose name is the
operation in snake_case; :func:`install` adds these methods to ``IoTResponse`` so in-process ``mock_aws``, the
threaded server and the AWS CLI all reach them. Each method reads parameters, calls the backend, returns the result.
"""
from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, EmptyResult
from moto.iot.responses import IoTResponse

from .exceptions import InternalFailureException, InvalidRequestException
from .models import DeviceDefenderBackend, devicedefender_backends

log = logging.getLogger(__name__)


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn unexpected errors into InternalFailureException and malformed JSON into InvalidRequestException."""

    @functools.wraps(method)
    def wrapper(self: Any) -> Any:
        try:
            return method(self)
        except ServiceException:
            raise
        except json.JSONDecodeError as exc:
            raise InvalidRequestException(f"The request body is not valid JSON: {exc}") from None
        except Exception as exc:  # keep the server alive and say what happened
            log.exception("sandbox operation %s failed", method.__name__)
            raise InternalFailureException(f"The sandbox failed to run {method.__name__}: {exc!r}") from None

    wrapper._devicedefender = True  # type: ignore[attr-defined]
    return wrapper


class DeviceDefenderResponse:
    """Device Defender operations; methods are copied onto ``IoTResponse`` by :func:`install`."""

    # Provided by BaseResponse at run time.
    current_account: str
    region: str
    body: Any
    _get_param: Callable[..., Any]
    _get_bool_param: Callable[..., Any]

    @property
    def dd_backend(self) -> DeviceDefenderBackend:
        return devicedefender_backends[self.current_account][self.region]

    def _json_body(self) -> dict[str, Any]:
        if not self.body:
            return {}
        raw = self.body.decode() if isinstance(self.body, bytes) else self.body
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise InvalidRequestException("The request body must be a JSON object.")
        return data

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


def operation_methods() -> dict[str, Callable[..., Any]]:
    """Return the operation methods this extension defines, by snake_case operation name."""
    return {
        name: fn
        for name, fn in vars(DeviceDefenderResponse).items()
        if callable(fn) and not name.startswith("_")
    }


class MotoImplementsOperation(RuntimeError):
    """moto now ships an operation this extension also defines: review and drop ours."""


def install() -> list[str]:
    """Add the Device Defender operations to moto's IoTResponse (idempotent) and return their names."""
    installed = []
    for name, fn in operation_methods().items():
        existing = IoTResponse.__dict__.get(name)
        if existing is not None and not getattr(existing, "_devicedefender", False):
            raise MotoImplementsOperation(
                f"moto's IoTResponse now implements {name}; the sandbox's version would shadow it. "
                "Compare both and remove ours from helpers/sandbox/responses.py."
            )
        setattr(IoTResponse, name, _guarded(fn))
        installed.append(name)
    if not isinstance(getattr(IoTResponse, "dd_backend", None), property):
        IoTResponse.dd_backend = DeviceDefenderResponse.dd_backend  # type: ignore[attr-defined]
        IoTResponse._json_body = DeviceDefenderResponse._json_body  # type: ignore[attr-defined]
    return installed
