"""What an AWS API call is, read from the botocore model: its reference page, its parameters fit to show (secrets
and long PEMs elided), the equivalent AWS CLI command and the boto3 call that makes it."""
from __future__ import annotations

import datetime as dt
import json
import re
import shlex
from functools import lru_cache
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.model import OperationModel, ServiceModel, Shape

# API reference base per botocore service name; the rest use AWS's own redirect from the model's uid.
DOC_BASES = {
    "iot": "https://docs.aws.amazon.com/iot/latest/apireference/API_{op}.html",
    "iot-data": "https://docs.aws.amazon.com/iot/latest/apireference/API_iotdata_{op}.html",
    "iam": "https://docs.aws.amazon.com/IAM/latest/APIReference/API_{op}.html",
    "sts": "https://docs.aws.amazon.com/STS/latest/APIReference/API_{op}.html",
    "sns": "https://docs.aws.amazon.com/sns/latest/api/API_{op}.html",
    "sqs": "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_{op}.html",
    "cognito-identity": "https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_{op}.html",
}
GOTO = "https://docs.aws.amazon.com/goto/WebAPI/{uid}/{op}"
# The AWS CLI renames a few members where they would clash with its own options (awscli customizations/argrename).
CLI_RENAMES = {("sns", "Subscribe", "Endpoint"): "notification-endpoint"}
PEM_SHOWN = 24  # characters kept at each end of a certificate's base64 body
WRAP = 100  # a CLI command longer than this is written one option per line

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


@lru_cache(maxsize=16)
def service_model(service: str) -> ServiceModel:
    """Return botocore's model of ``service`` (its boto3 name, e.g. ``"iot"``)."""
    return _botocore_session().get_service_model(service)


@lru_cache(maxsize=1)
def _botocore_session() -> botocore.session.Session:
    return botocore.session.get_session()


def operation_model(service: str, operation: str) -> OperationModel:
    """Return botocore's model of ``operation`` (``"StartOnDemandAuditTask"``) in ``service``."""
    return service_model(service).operation_model(operation)


def has_operation(service: str, operation: str) -> bool:
    """Return True when ``operation`` exists in botocore's model of ``service``."""
    return operation in service_model(service).operation_names


def doc_url(service: str, operation: str) -> str:
    """Return the URL of ``operation``'s page in its service's API reference."""
    base = DOC_BASES.get(service)
    if base:
        return base.format(op=operation)
    return GOTO.format(uid=service_model(service).metadata.get("uid", service), op=operation)


def doc_link(service: str, operation: str) -> str:
    """Return a Markdown link to ``operation``'s API reference page, e.g. ``[DescribeAuditTask](https://…)``."""
    return f"[{operation}]({doc_url(service, operation)})"


# -- what is shown ---------------------------------------------------------------------------------------------------
def _shorten_pem(text: str) -> str:
    """Return ``text`` with private keys removed and every other PEM body cut to its two ends."""
    def one(match: re.Match[str]) -> str:
        label, body = match.group(1), re.sub(r"\s+", "", match.group(2))
        if "PRIVATE KEY" in label:
            return "<private key elided>"
        if len(body) <= 2 * PEM_SHOWN:
            return match.group(0)
        return (f"-----BEGIN {label}-----{body[:PEM_SHOWN]}…({len(body) - 2 * PEM_SHOWN} chars)…"
                f"{body[-PEM_SHOWN:]}-----END {label}-----")
    return _PEM.sub(one, text)


def elide(value: Any, shape: Shape | None) -> Any:
    """Return ``value`` fit to show: sensitive members (per the model) and private keys hidden, PEMs shortened."""
    if shape is not None and shape.metadata.get("sensitive"):
        return "<sensitive: elided>"
    if isinstance(value, dict):
        members = getattr(shape, "members", None)
        value_shape = getattr(shape, "value", None)
        return {k: elide(v, members.get(k) if members is not None else value_shape) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [elide(v, getattr(shape, "member", None)) for v in value]
    if isinstance(value, str) and "-----BEGIN " in value:
        return _shorten_pem(value)
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return value


def show_params(model: OperationModel, params: dict[str, Any]) -> dict[str, Any]:
    """Return the call's parameters fit to show (see ``elide``)."""
    return elide(params, model.input_shape)


# -- the AWS CLI -----------------------------------------------------------------------------------------------------
def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _cli_json(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _cli_scalar(value: Any) -> str:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def _pem_file(option: str) -> str:
    stem = option[:-4] if option.endswith("-pem") else option
    return f"file://{stem or 'file'}.pem"


def cli_options(model: OperationModel, params: dict[str, Any]) -> list[str]:
    """Return the CLI options for ``params``, each one shell-quoted: ``--member value``, lists of scalars as
    separate values, structures, maps and other lists as JSON; PEMs as ``file://`` and secrets as variables."""
    service = model.service_model.service_name
    members = model.input_shape.members if model.input_shape is not None else {}
    options = []
    for name, value in params.items():
        shape = members.get(name)
        option = CLI_RENAMES.get((service, model.name, name)) or xform_name(name, "-")
        if shape is None:
            raise ValueError(f"{model.name} has no member {name!r} in botocore's model of {service}.")
        if shape.metadata.get("sensitive"):
            options.append(f'--{option} "${xform_name(name).upper()}"')
        elif shape.type_name == "boolean":
            options.append(f"--{option}" if value else f"--no-{option}")
        elif isinstance(value, str) and "-----BEGIN " in value:
            options.append(f"--{option} {_pem_file(option)}")
        elif shape.type_name == "list" and value and shape.member.type_name not in ("structure", "list", "map"):
            options.append(f"--{option} " + " ".join(shlex.quote(_cli_scalar(v)) for v in value))
        elif shape.type_name in ("structure", "list", "map"):
            options.append(f"--{option} {shlex.quote(_cli_json(elide(value, shape)))}")
        else:
            options.append(f"--{option} {shlex.quote(_cli_scalar(value))}")
    return options


def cli_command(model: OperationModel, params: dict[str, Any], region: str, endpoint: str | None) -> str:
    """Return the AWS CLI command that makes this call (``--endpoint-url`` only for the sandbox), ready to paste;
    written one option per line when it is long."""
    words = ["aws", model.service_model.service_name, xform_name(model.name, "-"), *cli_options(model, params)]
    if endpoint:
        words.append(f"--endpoint-url {endpoint}")
    words.append(f"--region {region}")
    line = " ".join(words)
    if len(line) <= WRAP:
        return line
    return " ".join(words[:3]) + "".join(f" \\\n    {w}" for w in words[3:])


# -- boto3 -----------------------------------------------------------------------------------------------------------
def boto3_call(model: OperationModel, params: dict[str, Any]) -> str:
    """Return the boto3 call that makes this call, e.g. ``iot.describe_audit_task(taskId='…')`` (values elided as
    in ``show_params``)."""
    service = model.service_model.service_name
    var = service.replace("-", "_")
    shown = show_params(model, params)
    args = ", ".join(f"{k}={v!r}" for k, v in shown.items())
    return f"{var}.{xform_name(model.name)}({args})"
