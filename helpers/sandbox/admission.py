"""What an AWS API request must pass before any handler (the sandbox's or moto's) sees it, as AWS checks it at its
front door: signed for a service, a readable body, a region the service has, an operation of the service's model,
and input that satisfies the operation's botocore input shape. A refusal is an AWS-shaped error and changes
nothing."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from ..spec.regions import service_regions
from . import input_validation
from .bounded_json import MAX_BYTES
from .faults import aws_error
from .operations import SCOPE_RE, ApiRequest, identify, model_of, signing_scope
from .request_params import ParamsError, raw_request, read_params

SERVED = ("iot", "iam", "sts", "sns", "sqs", "cognito-identity")
# The error an invalid request gets, when the operation declares it (first match wins); otherwise the protocol's.
VALIDATION_ERRORS = ("InvalidRequestException", "InvalidParameterException", "InvalidParameterValueException",
                     "InvalidInputException", "ValidationException")
PROTOCOL_VALIDATION_ERROR = {"query": "ValidationError", "ec2": "InvalidParameterValue"}
UNSIGNED_MESSAGE = ("The request is not signed for an AWS service. The sandbox answers AWS API requests signed with "
                    "SigV4 for a service such as {services} (boto3 or the AWS CLI with AWS_ENDPOINT_URL set to this "
                    "endpoint sign them), and its own controls under /_sandbox/. Only the operations AWS answers "
                    "unsigned (Cognito's GetId, STS's AssumeRoleWithWebIdentity, ...) may come unsigned.")

Refusal = tuple[str, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class Admitted:
    """A request let through: the identified operation (None for moto's own unsigned API, /moto-api/), its input
    parameters when they were read, and its body."""

    request: ApiRequest | None
    params: dict[str, Any] | None = None
    body: bytes = b""


def known_regions(service: str) -> frozenset[str]:
    """Return the regions where the sandbox answers ``service``: where botocore knows it (moto builds a backend for
    exactly those), or every region for a global service botocore lists none for (IAM: clients sign it with any
    region). ``aws-global`` is no signing region, and no backend serves it."""
    regions = service_regions(service) or service_regions("ec2")
    return regions - {"aws-global"}


def region_problem(request: ApiRequest) -> str | None:
    """Return why the sandbox refuses the region of ``request`` (a region the service does not exist in), or None."""
    if request.region in known_regions(request.service):
        return None
    return (f"Unknown region {request.region!r} for {request.service}: no such AWS region has it. Set "
            "AWS_DEFAULT_REGION to a region such as us-east-1 or eu-west-1 and restart the kernel.")


def validation_error(service: str, operation: str | None, protocol: str) -> tuple[str, int]:
    """Return (code, HTTP status) of the error an invalid ``operation`` request gets: the validation error the
    operation declares (or, for an unknown operation, one the service declares), else the protocol's."""
    if protocol in PROTOCOL_VALIDATION_ERROR:
        return PROTOCOL_VALIDATION_ERROR[protocol], 400
    model = model_of(service)
    if model is not None:
        if operation is not None:
            shapes = model.operation_model(operation).error_shapes
        else:
            shapes = [model.shape_for(name) for name in model.shape_names
                      if model.shape_for(name).metadata.get("exception")]
        declared = {s.name: s.metadata.get("error", {}).get("httpStatusCode", 400) for s in shapes}
        for code in VALIDATION_ERRORS:
            if code in declared:
                return code, declared[code]
    return "ValidationException", 400


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the whole body once (bounded), put it back for whoever reads next, and return it; raise ValueError
    for a Content-Length that is no number or a body over the limit."""
    length = environ.get("CONTENT_LENGTH", "")
    if length and not (length.isascii() and length.isdigit()):
        raise ValueError(f"Content-Length {length[:40]!r} is not a number of bytes.")
    if length and int(length) > MAX_BYTES:
        raise ValueError(f"The body is {length} bytes; at most {MAX_BYTES} are accepted.")
    try:
        body = get_input_stream(environ, max_content_length=MAX_BYTES).read(MAX_BYTES + 1)
    except RequestEntityTooLarge:
        raise ValueError(f"The body is over {MAX_BYTES} bytes.") from None
    if len(body) > MAX_BYTES:
        raise ValueError(f"The body is over {MAX_BYTES} bytes.")
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)
    environ["wsgi.input_terminated"] = False
    return body


def _refuse(service: str, operation: str | None, protocol: str, message: str, status: int | None = None,
            code: str | None = None) -> Refusal:
    """Return the AWS-shaped refusal of an invalid request (the operation's validation error unless given)."""
    default_code, default_status = validation_error(service, operation, protocol)
    return aws_error(protocol or "json", status or default_status, code or default_code, message)


def admit(environ: dict[str, Any]) -> Admitted | Refusal:
    """Return the admitted request, or the AWS-shaped error (status line, headers, body) refusing it."""
    path = environ.get("PATH_INFO", "")
    signed = SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if signed is None and path.startswith("/moto-api/"):
        return Admitted(None)  # moto's own API (reset, dashboard): unsigned by design
    try:
        body = _read_body(environ)
    except ValueError as exc:
        if signed is None:
            return aws_error("json", 400, "SerializationException", str(exc))
        service = signed.group(2)
        model = model_of(service)
        return _refuse(service, None, model.metadata.get("protocol", "") if model is not None else "", str(exc))
    scope = signing_scope(environ)
    if scope is None:
        return aws_error("rest-json", 403, "MissingAuthenticationTokenException",
                         UNSIGNED_MESSAGE.format(services=", ".join(SERVED)))
    service = scope[1]
    model = model_of(service)
    protocol = model.metadata.get("protocol", "") if model is not None else ""
    try:
        request = identify(environ)
    except ValueError as exc:  # a form body that does not decode
        return _refuse(service, None, protocol, f"The request cannot be read: {exc}")
    assert request is not None
    problem = region_problem(request)
    if problem is not None:
        return aws_error(protocol or "json", 400, "InvalidRequestException", problem)
    if model is None:
        return Admitted(request)  # a service without a botocore model: moto answers as it will
    if request.operation is None:
        method = environ.get("REQUEST_METHOD", "GET")
        where = f"{method} {environ.get('RAW_URI') or path}"[:300]
        if protocol == "query":
            return _refuse(service, None, protocol, f"No {service} action in the request ({where}): set Action to "
                           "an operation of the service.", 400, "InvalidAction")
        return _refuse(service, None, protocol, f"No {service} operation matches {where}: check the method, the "
                       "path and X-Amz-Target (boto3 and the AWS CLI build them from the service model).",
                       404 if protocol.startswith("rest") else 400, "UnknownOperationException")
    if request.operation not in model.operation_names:
        return _refuse(service, None, protocol, f"{request.operation!r} is not an operation of {service}.", 400,
                       "InvalidAction" if protocol == "query" else "UnknownOperationException")
    try:
        params = read_params(model.service_name, protocol, request.operation, raw_request(environ, body))
    except ParamsError as exc:
        return _refuse(service, request.operation, protocol, str(exc))
    if params is None:
        return Admitted(request, None, body)
    found = input_validation.problems(model.operation_model(request.operation).input_shape, params,
                                      (service, request.operation))
    if found:
        return _refuse(service, request.operation, protocol, input_validation.message(found))
    return Admitted(request, params, body)


def aws_shaped(request: ApiRequest | None, status: str, headers: list[tuple[str, str]],
               body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """Return the answer as it is, unless it is one of werkzeug's HTML error pages (an exception inside moto, or a
    route moto lacks): then the AWS-shaped error of the same status, so clients parse it like AWS's."""
    code = int(status.split()[0])
    # moto labels many JSON answers text/html, so the body tells: werkzeug's pages start <!doctype html>
    if code < 400 or request is None or not body.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")) and body:
        return status, headers, body
    protocol, operation = request.protocol or "json", request.operation
    if code >= 500:
        model = model_of(request.service)
        declared = {e.name for e in model.operation_model(operation).error_shapes} \
            if model is not None and operation in model.operation_names else set()
        name = "InternalFailureException" if "InternalFailureException" in declared else "InternalFailure"
        return aws_error(protocol, code, name, f"The sandbox failed to run {operation}: an internal error (the "
                         "sandbox log has the details).")
    if code == 404:
        return aws_error(protocol, code, "UnknownOperationException",
                         f"The sandbox does not implement {request.service} {operation}.")
    name, _ = validation_error(request.service, operation, request.protocol)
    return aws_error(protocol, code, name, f"The request was refused (HTTP {code}).")
