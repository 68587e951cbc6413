"""Fault injection for rehearsing bad days: throttling at a rate, transient 5xx errors and added latency.

Set with ``POST /_sandbox/faults``; a fault is decided before the request reaches moto, so a refused request changes
nothing and a client's retry is safe. Faults outlive ``/moto-api/reset`` (they describe the network, not the state).
Errors are shaped per protocol so botocore parses them like AWS's: REST/JSON services get ``x-amzn-ErrorType`` and a
JSON body, query services an XML ``ErrorResponse``.
"""
from __future__ import annotations

import json
import random
import threading
import uuid
from http import HTTPStatus
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from .operations import ApiRequest

# Per protocol: (throttling code, HTTP status); botocore's standard retry mode retries both codes.
THROTTLE = {"query": ("Throttling", 400), "rest-json": ("ThrottlingException", 400),
            "json": ("ThrottlingException", 400)}
SERVER_ERROR = {"query": ("ServiceUnavailable", 503), "rest-json": ("ServiceUnavailableException", 503),
                "json": ("ServiceUnavailable", 503)}
SETTINGS = ("throttleRate", "errorRate", "latencyMs", "seed", "services", "operations")


class FaultSettingError(ValueError):
    """A fault setting that cannot be used; the message names it and what is allowed."""


@dataclass(frozen=True)
class Fault:
    """One injected fault: the error code and status to answer with, or only a delay (code None)."""

    code: str | None
    status: int
    delay: float


@dataclass
class FaultInjector:
    """Decides, request by request, whether to throttle, fail or delay; counts what it injected."""

    throttle_rate: float = 0.0
    error_rate: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    services: frozenset[str] | None = None
    operations: frozenset[str] | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"requests": 0, "throttled": 0, "errors": 0, "delayed": 0})

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)

    @property
    def active(self) -> bool:
        """Return True when any fault is configured."""
        return bool(self.throttle_rate or self.error_rate or self.latency_ms)

    def configure(self, body: dict[str, Any]) -> None:
        """Replace the settings with those in ``body`` (unset ones go back to no fault) after validating all."""
        unknown = set(body) - set(SETTINGS)
        if unknown:
            raise FaultSettingError(f"Unknown fault setting(s) {sorted(unknown)}; known: {', '.join(SETTINGS)}.")
        throttle = _rate(body, "throttleRate")
        error = _rate(body, "errorRate")
        if throttle + error > 1:
            raise FaultSettingError('"throttleRate" plus "errorRate" must not exceed 1.')
        latency = body.get("latencyMs", 0)
        if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not 0 <= latency <= 10_000:
            raise FaultSettingError('"latencyMs" must be a number of milliseconds from 0 to 10000.')
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultSettingError('"seed" must be a whole number (or null for a random sequence).')
        services, operations = _names(body, "services"), _names(body, "operations")
        with self._lock:
            self.throttle_rate, self.error_rate, self.latency_ms = throttle, error, float(latency)
            self.seed, self.services, self.operations = seed, services, operations
            self._random = random.Random(seed)
            self.counts = dict.fromkeys(self.counts, 0)

    def decide(self, request: ApiRequest) -> Fault | None:
        """Return the fault to inject into ``request``, or None to let it through untouched."""
        if not self.active or not self._applies(request):
            return None
        with self._lock:
            self.counts["requests"] += 1
            draw = self._random.random()
            delay = self.latency_ms / 1000
            if delay:
                self.counts["delayed"] += 1
            if draw < self.throttle_rate:
                self.counts["throttled"] += 1
                code, status = THROTTLE.get(request.protocol, THROTTLE["json"])
                return Fault(code, status, delay)
            if draw < self.throttle_rate + self.error_rate:
                self.counts["errors"] += 1
                code, status = SERVER_ERROR.get(request.protocol, SERVER_ERROR["json"])
                return Fault(code, status, delay)
        return Fault(None, 200, delay) if delay else None

    def _applies(self, request: ApiRequest) -> bool:
        return ((self.services is None or request.service in self.services)
                and (self.operations is None or (request.operation or "") in self.operations))

    def to_dict(self) -> dict[str, Any]:
        """Return the settings and the counts so far, in the control's JSON shape."""
        with self._lock:
            return {"throttleRate": self.throttle_rate, "errorRate": self.error_rate, "latencyMs": self.latency_ms,
                    "seed": self.seed, "services": sorted(self.services) if self.services is not None else None,
                    "operations": sorted(self.operations) if self.operations is not None else None,
                    "injected": dict(self.counts)}


def _rate(body: dict[str, Any], name: str) -> float:
    value = body.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise FaultSettingError(f'"{name}" must be a fraction from 0 to 1 (0.2 means one request in five).')
    return float(value)


def _names(body: dict[str, Any], name: str) -> frozenset[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise FaultSettingError(f'"{name}" must be a non-empty list of names (or null for all).')
    return frozenset(value)


def aws_error(protocol: str, status: int, code: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """Return (status line, headers, body) of an AWS error shaped for ``protocol``: an XML ``ErrorResponse`` for
    query services, ``x-amzn-ErrorType`` and a JSON body for the others."""
    request_id = str(uuid.uuid4())
    status_line = f"{status} {HTTPStatus(status).phrase}"
    if protocol == "query":
        kind = "Sender" if status < 500 else "Receiver"
        body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code><Message>{escape(message)}"
                f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml")]
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    return status_line, [*headers, ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))], body


def error_response(fault: Fault, request: ApiRequest) -> tuple[str, list[tuple[str, str]], bytes]:
    """Return (status line, headers, body) of the AWS-shaped error for ``fault``."""
    assert fault.code is not None
    message = ("Rate exceeded (sandbox fault injection)" if fault.status < 500
               else "Service unavailable (sandbox fault injection); try again")
    return aws_error(request.protocol, fault.status, fault.code, message)
