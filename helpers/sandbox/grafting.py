"""Grafting onto moto: the one place that changes moto's classes and settings, so that in-process ``mock_aws``, the
threaded server and the AWS CLI all reach the sandbox's operations (moto resolves an operation with the botocore
model and calls the method of its snake_case name on ``IoTResponse``, looked up at call time).

Each grafted method is marked ``_devicedefender`` and :func:`_guard` trips when moto ships one of ours itself.
"""
from __future__ import annotations

import functools
import json
import logging
import os
from typing import Any, Callable

import moto.iam.models as iam_models
from moto.core.config import default_user_config
from moto.core.exceptions import JsonRESTError, ServiceException
from moto.iot.responses import IoTResponse

from . import cognito, iot_gaps
from .exceptions import InternalFailureException, InvalidRequestException, MotoImplementsOperation
from .locking import STATE_LOCK
from .models import devicedefender_backends
from .responses import DeviceDefenderResponse, operation_methods
from .validation import request_object

log = logging.getLogger(__name__)

# AWS managed policies the workshop may attach besides every policy whose name mentions IoT.
EXTRA_MANAGED_POLICIES = {"AdministratorAccess", "ReadOnlyAccess", "PowerUserAccess", "AmazonSNSFullAccess",
                          "AmazonSNSReadOnlyAccess", "CloudWatchLogsFullAccess", "AmazonSQSFullAccess",
                          "AmazonCognitoReadOnly", "AmazonCognitoPowerUser", "AWSLambdaBasicExecutionRole"}


def _trim_managed_policies() -> None:
    """Keep only the managed policies the workshop can use: moto builds all ~1,600 for every account and partition
    (about 1 s after each reset); set WORKSHOP_SANDBOX_ALL_MANAGED_POLICIES=true to keep them all."""
    if os.environ.get("WORKSHOP_SANDBOX_ALL_MANAGED_POLICIES", "").lower() == "true":
        return
    data = json.loads(iam_models.aws_managed_policies_data)
    if len(data) < 200:  # already trimmed
        return
    kept = {k: v for k, v in data.items() if "IoT" in k or k in EXTRA_MANAGED_POLICIES}
    iam_models.aws_managed_policies_data = json.dumps(kept)


def configure_moto() -> list[str]:
    """Set moto up the way the workshop needs it (AWS managed policies attachable), install the extension, and
    return the IoT operation names it installed."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    default_user_config.setdefault("iam", {})["load_aws_managed_policies"] = True
    _trim_managed_policies()
    return install_operations()


READ_PREFIXES = ("list_", "describe_", "get_")


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn unexpected errors into InternalFailureException and malformed JSON into InvalidRequestException; an
    operation that may change state and fails, refused or by surprise, leaves the Device Defender state as it was."""
    reads = method.__name__.startswith(READ_PREFIXES)

    @functools.wraps(method)
    def wrapper(self: Any) -> Any:
        with STATE_LOCK:
            restore = None if reads else devicedefender_backends[self.current_account][self.region].savepoint()
            try:
                return method(self)
            except BaseException:
                if restore is not None:
                    restore()
                raise

    def answer(self: Any) -> Any:
        try:
            return wrapper(self)
        except (ServiceException, JsonRESTError):  # AWS-shaped errors: the sandbox's, and moto's own
            raise
        except json.JSONDecodeError as exc:
            raise InvalidRequestException(f"The request body is not valid JSON: {exc}") from None
        except Exception as exc:  # keep the server alive and say what happened
            log.exception("sandbox operation %s failed", method.__name__)
            raise InternalFailureException(f"The sandbox failed to run {method.__name__}: {exc!r}") from None

    answer.__name__ = answer.__qualname__ = method.__name__
    answer.__doc__ = method.__doc__
    answer._devicedefender = True  # type: ignore[attr-defined]
    return answer


def _body_checked(get_param: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap ``_get_param`` so a request body that is not a JSON object is refused with InvalidRequestException:
    moto reads such a body as no parameters and goes on (CreateThing with ``{broken`` creates the thing)."""

    @functools.wraps(get_param)
    def _get_param(self: Any, param_name: str, if_none: Any = None) -> Any:
        if self.body and not getattr(self, "_dd_body_checked", False):
            request_object(self.body)
            self._dd_body_checked = True
        return get_param(self, param_name, if_none)

    _get_param._devicedefender = True  # type: ignore[attr-defined]
    return _get_param


def _guard(name: str, existing: Any) -> None:
    """Raise MotoImplementsOperation when moto itself now defines ``name``."""
    if existing is not None and not getattr(existing, "_devicedefender", False):
        raise MotoImplementsOperation(
            f"moto's IoTResponse now implements {name}; the sandbox's version would shadow it. "
            "Compare both and remove ours from helpers/sandbox."
        )


def install_operations() -> list[str]:
    """Add the Device Defender operations, the IoT gap fillers and the Cognito role operations to moto
    (idempotent); return the IoT operation names."""
    installed = []
    for name, fn in operation_methods().items():
        _guard(name, IoTResponse.__dict__.get(name))
        setattr(IoTResponse, name, _guarded(fn))
        installed.append(name)
    installed += iot_gaps.install(_guard, _guarded)
    for helper in ("dd_backend", "_json_body", "_path_param", "_time_param", "_page"):
        setattr(IoTResponse, helper, DeviceDefenderResponse.__dict__[helper])
    if not getattr(IoTResponse._get_param, "_devicedefender", False):
        IoTResponse._get_param = _body_checked(IoTResponse._get_param)  # type: ignore[method-assign]
    cognito.install()
    return installed
