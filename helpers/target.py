"""The sandbox|aws switch: boto3 sessions and clients for the active target, and the banner that shows it.

``WORKSHOP_TARGET=sandbox`` (default) talks to the local endpoint in ``AWS_ENDPOINT_URL`` (started inside this
kernel when nothing answers there); ``WORKSHOP_TARGET=aws`` uses the normal AWS credential chain (profile, env, SSO).
``WORKSHOP_TARGET=rehearsal`` is the aws branch of everything (confirmations, console links, masked account, the
normal credential chain) with the calls sent to the local stack at ``AWS_ENDPOINT_URL`` playing a real account
(``make rehearse``): it never starts a sandbox itself and never uses the sandbox-only controls.
Everything else in ``helpers`` gets its clients from here, so the same calls reach either target.
"""
from __future__ import annotations

import html
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from . import calls
from .errors import TargetError
from .spec.regions import iot_regions

TARGETS = ("sandbox", "aws", "rehearsal")
DEFAULT_REGION = "us-east-1"
DEFAULT_ENDPOINT = "http://127.0.0.1:5000"
SANDBOX_ACCOUNT = "123456789012"
SANDBOX_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
CONSOLE = "https://console.aws.amazon.com"

_kernel_server: Any = None  # the SandboxServer started in this process, if any
_verified: dict[str, float] = {}  # endpoint -> monotonic time it last answered the health check
_instances: dict[str, str] = {}  # endpoint -> the sandbox instance this process last talked to
HEALTH_TTL = 10.0
INSTANCE_HEADER = "x-sandbox-instance"
REBUILD = "fleet.build_workshop_environment()"


def get_target() -> str:
    """Return the active target, ``"sandbox"`` or ``"aws"``, from ``WORKSHOP_TARGET`` (default sandbox)."""
    value = os.environ.get("WORKSHOP_TARGET", "sandbox").strip().lower() or "sandbox"
    if value not in TARGETS:
        raise TargetError(
            f"WORKSHOP_TARGET={value!r} is not a target this workshop knows.",
            "Set WORKSHOP_TARGET to 'sandbox' (local, no account needed), 'aws' (your real account) or "
            "'rehearsal' (the aws path against a local stack, see `make rehearse`), then restart the kernel.",
        )
    return value


def is_sandbox() -> bool:
    """Return True when the active target is the local sandbox."""
    return get_target() == "sandbox"


def is_rehearsal() -> bool:
    """Return True when the aws path runs against the local stack playing a real account (``make rehearse``)."""
    return get_target() == "rehearsal"


def resolve_region() -> tuple[str, str]:
    """Return (region, where it came from): AWS_DEFAULT_REGION, AWS_REGION, the profile, or the default; a region
    without AWS IoT is refused, naming where it came from."""
    region, source = _region_and_source()
    if region not in iot_regions():
        near = sorted(r for r in iot_regions() if r.split("-")[0] == region.split("-")[0])[:4] or ["us-east-1",
                                                                                              "eu-west-1"]
        raise TargetError(f"Region {region!r} (from {source}) is not an AWS region with AWS IoT Device Defender.",
                          f"Set AWS_DEFAULT_REGION to one that has it, e.g. {', '.join(near)}, and restart the "
                          "kernel.")
    return region, source


def _region_and_source() -> tuple[str, str]:
    for var in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        value = os.environ.get(var, "").strip()
        if value:
            note = " (boto3 ignores AWS_REGION; the workshop passes it explicitly)" if var == "AWS_REGION" else ""
            return value, f"environment variable {var}{note}"
    if not is_sandbox():
        try:
            profile_region = boto3.Session(profile_name=os.environ.get("AWS_PROFILE") or None).region_name
        except botocore.exceptions.ProfileNotFound as exc:
            raise TargetError(str(exc), "Check AWS_PROFILE against `aws configure list-profiles`.") from None
        if profile_region:
            return profile_region, f"profile {os.environ.get('AWS_PROFILE') or 'default'}"
    return DEFAULT_REGION, "workshop default (set AWS_DEFAULT_REGION to change it)"


def client_config() -> Config:
    """Return the botocore config every client uses: standard (or adaptive) retries, timeouts, user agent."""
    mode = os.environ.get("WORKSHOP_RETRY_MODE", "standard")
    if mode not in ("standard", "adaptive"):
        raise TargetError(f"WORKSHOP_RETRY_MODE={mode!r} is not a botocore retry mode.",
                          "Use 'standard' (default) or 'adaptive'.")
    return Config(
        retries={"mode": mode, "max_attempts": int(os.environ.get("WORKSHOP_MAX_ATTEMPTS", "10"))},
        connect_timeout=5,
        read_timeout=60,
        user_agent_extra="iot-audit-workshop",
        # In aws mode an AWS_ENDPOINT_URL left over from the sandbox must not redirect calls.
        ignore_configured_endpoint_urls=get_target() == "aws",
    )


# -- sandbox endpoint ----------------------------------------------------------------------------------------------
def _health(endpoint: str, timeout: float = 1.5) -> dict[str, Any] | None:
    """Return the sandbox's health document, or None when nothing answers at ``endpoint``."""
    try:
        with urllib.request.urlopen(f"{endpoint}/_sandbox/health", timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise TargetError(
            f"{endpoint} answers, but it is not this workshop's sandbox (HTTP {exc.code} on /_sandbox/health).",
            "Stop the other service, or point AWS_ENDPOINT_URL at the sandbox (`python -m helpers.sandbox serve`).",
        ) from None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def sandbox_reachable() -> bool:
    """Return True when a sandbox runs in this process or answers at the configured endpoint (none is started)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/") or DEFAULT_ENDPOINT
    return _kernel_server is not None or _health(endpoint) is not None


def sandbox_endpoint() -> str:
    """Return the sandbox endpoint URL, starting one inside this kernel when nothing answers (and saying so)."""
    global _kernel_server
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/") or DEFAULT_ENDPOINT
    if time.monotonic() - _verified.get(endpoint, -HEALTH_TTL) < HEALTH_TTL:
        return endpoint
    health = _health(endpoint)
    if health is not None:
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        _verified[endpoint] = time.monotonic()
        note_sandbox_instance(endpoint, health.get("instanceId"))
        return endpoint
    if _kernel_server is not None:
        return _kernel_server.endpoint
    parsed = urllib.parse.urlparse(endpoint)
    host = parsed.hostname or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost"):
        raise TargetError(f"No sandbox answers at {endpoint}.",
                          "Start it there, or unset AWS_ENDPOINT_URL to let the workshop start one locally.")
    from .sandbox import SandboxServer  # here, not at the top: aws mode never loads the sandbox (tests/test_layers.py)

    port = parsed.port or 5000
    _kernel_server = SandboxServer("127.0.0.1", port if _port_free("127.0.0.1", port) else 0).start()
    os.environ["AWS_ENDPOINT_URL"] = _kernel_server.endpoint
    print(f"No sandbox answered at {endpoint}, so one was started inside this kernel at {_kernel_server.endpoint}. "
          "Its state lasts as long as this kernel; `make lab` shares one sandbox across notebooks.", file=sys.stderr)
    return _kernel_server.endpoint


def rehearsal_endpoint() -> str:
    """Return the local stack's endpoint a rehearsal sends every call to (``AWS_ENDPOINT_URL``); it must be running."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")
    if not endpoint:
        raise TargetError("WORKSHOP_TARGET=rehearsal needs AWS_ENDPOINT_URL: the local stack playing a real account.",
                          "Run `make rehearse` (it starts the stack and sets it), or set AWS_ENDPOINT_URL to a "
                          "running sandbox started for a rehearsal.")
    return endpoint


def sandbox_instance() -> str | None:
    """Return the id of the sandbox instance answering now (a restart gives a new one); None in aws mode."""
    if not is_sandbox():
        return None
    endpoint = sandbox_endpoint()
    health = _health(endpoint)
    instance = health.get("instanceId") if health else None
    note_sandbox_instance(endpoint, instance)
    return instance


def note_sandbox_instance(endpoint: str, instance: str | None) -> bool:
    """Remember the sandbox instance at ``endpoint``; return True (after saying so, once) when it restarted."""
    if not instance:
        return False
    previous = _instances.get(endpoint)
    _instances[endpoint] = instance
    if previous is None or previous == instance:
        return False
    print(f"The sandbox at {endpoint} restarted: it is a new instance, and everything created in the old one "
          f"(the Module 1 things, audits, findings, mitigation actions) is gone. Rebuild the environment with one "
          f"call, `{REBUILD}`, or run this notebook again from the top (its first cells do that).",
          file=sys.stderr)
    return True


class SandboxGone(TargetError):
    """The sandbox stopped answering in the middle of a call."""


def _sandbox_watch(endpoint: str) -> Any:
    """Return a botocore ``needs-retry`` handler that notices a restarted sandbox and fails fast on a stopped one."""

    def handler(response: Any = None, caught_exception: Any = None, **_: Any) -> None:
        if isinstance(caught_exception, (botocore.exceptions.EndpointConnectionError,
                                         botocore.exceptions.ConnectionClosedError)):
            _verified.pop(endpoint, None)
            if _health(endpoint) is None:  # not a blip: nothing listens there any more
                raise SandboxGone(
                    f"The sandbox at {endpoint} stopped answering (it was stopped, or its terminal closed), and "
                    "its state went with it.",
                    "Start it again (`make sandbox` in a terminal, or `make lab`), or just rerun the cell: the "
                    f"workshop then starts one inside this kernel. Then rebuild with one call: `{REBUILD}`.")
            return None
        if response is not None:
            note_sandbox_instance(endpoint, response[0].headers.get(INSTANCE_HEADER))
        return None

    return handler


def sandbox_control(method: str, path: str, body: Any = None, **query: str) -> Any:
    """Call a ``/_sandbox/`` control of the sandbox endpoint and return its JSON answer."""
    if not is_sandbox():
        raise TargetError(f"{path} is a sandbox control; it does not exist in a real AWS account.",
                          "Run this step with WORKSHOP_TARGET=sandbox, or skip it in aws mode.")
    query.setdefault("region", get_region())
    url = f"{sandbox_endpoint()}{path}?{urllib.parse.urlencode(query)}"
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", "")
        except ValueError:
            message = ""
        raise TargetError(f"The sandbox refused {method} {path}: {message or exc.reason}",
                          "Correct the request as the message says.") from None
    except (urllib.error.URLError, ConnectionError) as exc:
        _verified.clear()
        raise SandboxGone(f"The sandbox at {url.split('/_sandbox/')[0]} stopped answering ({exc}).",
                          "Start it again (`make sandbox`, or `make lab`), or rerun the cell to start one inside "
                          f"this kernel; then rebuild with one call: `{REBUILD}`.") from None


def reset_sandbox() -> None:
    """Wipe every resource in the sandbox (moto and Device Defender state), like a fresh start."""
    if not is_sandbox():
        raise TargetError("reset_sandbox() only works on the sandbox.", "There is no 'reset' for a real account.")
    req = urllib.request.Request(f"{sandbox_endpoint()}/moto-api/reset", data=b"", method="POST")
    urllib.request.urlopen(req, timeout=30).close()


# -- sessions and clients ------------------------------------------------------------------------------------------
def get_region() -> str:
    """Return the region the workshop works in."""
    return resolve_region()[0]


def get_session() -> boto3.Session:
    """Return a boto3 session for the active target (fixed test credentials in the sandbox)."""
    return _cached_session(get_target(), get_region(), os.environ.get("AWS_PROFILE"))


@lru_cache(maxsize=8)
def _cached_session(target: str, region: str, profile: str | None) -> boto3.Session:
    # One session per target/region/profile: botocore then loads each service model once, not per client.
    if target == "sandbox":
        return boto3.Session(region_name=region, **SANDBOX_CREDENTIALS)
    try:
        return boto3.Session(profile_name=profile or None, region_name=region)
    except botocore.exceptions.ProfileNotFound as exc:
        raise TargetError(str(exc), "Check AWS_PROFILE against `aws configure list-profiles`.") from None


@lru_cache(maxsize=64)
def _cached_client(service: str, target: str, region: str, endpoint: str | None, profile: str | None) -> Any:
    session = get_session()
    made = session.client(service, region_name=region, endpoint_url=endpoint, config=client_config())
    if target == "sandbox" and endpoint:
        made.meta.events.register_first("needs-retry", _sandbox_watch(endpoint))
    return calls.track(made, endpoint if target == "sandbox" else None)  # "Under the hood" can watch it


def client(service: str) -> Any:
    """Return a boto3 client for ``service`` on the active target (cached per target, region and endpoint)."""
    target = get_target()
    endpoint = sandbox_endpoint() if target == "sandbox" else rehearsal_endpoint() if target == "rehearsal" else None
    return _cached_client(service, target, get_region(), endpoint, os.environ.get("AWS_PROFILE"))


def clear_client_cache() -> None:
    """Forget cached clients and sessions (after changing WORKSHOP_TARGET, the region or the profile)."""
    _cached_client.cache_clear()
    _cached_session.cache_clear()


# -- identity and banner -------------------------------------------------------------------------------------------
def mask_account(account_id: str) -> str:
    """Return the account id with all but its last 4 digits masked."""
    return "•" * max(len(account_id) - 4, 0) + account_id[-4:]


def identity_type(arn: str) -> str:
    """Return a readable kind of caller for an STS caller ARN."""
    if arn.endswith(":root"):
        return "root user (avoid: use an IAM role or user)"
    if ":assumed-role/" in arn:
        return "assumed role" + (" (SSO)" if "AWSReservedSSO" in arn else "")
    if ":federated-user/" in arn:
        return "federated user"
    if ":user/" in arn:
        return "IAM user"
    return "unknown"


def caller_identity() -> dict[str, str]:
    """Return the caller's account and ARN, failing early with a clear message when there are no credentials.

    AWS operation:
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    try:
        ident = client("sts").get_caller_identity()
    except botocore.exceptions.NoCredentialsError:
        raise TargetError(
            "WORKSHOP_TARGET=aws but no AWS credentials were found.",
            "Run `aws configure` (or `aws sso login --profile NAME` and set AWS_PROFILE=NAME), then restart the "
            "kernel. To work without an account, unset WORKSHOP_TARGET.",
        ) from None
    except botocore.exceptions.ClientError as exc:
        raise TargetError(f"AWS rejected your credentials: {exc.response['Error'].get('Message', exc)}",
                          "Refresh them (`aws sso login`, new access keys) and restart the kernel.") from None
    except botocore.exceptions.BotoCoreError as exc:
        raise TargetError(f"Could not reach AWS STS: {exc}", "Check your network and region.") from None
    return {"account": ident["Account"], "arn": ident["Arn"]}


@dataclass
class Banner:
    """The active-target banner: HTML in a notebook, plain text elsewhere."""

    target: str
    lines: list[tuple[str, str]]
    message: str

    @property
    def title(self) -> str:
        """Return the banner's headline for its target."""
        return {"sandbox": "SANDBOX", "rehearsal": "REHEARSAL: A LOCAL STACK PLAYING A REAL ACCOUNT"}.get(
            self.target, "REAL AWS ACCOUNT")

    def __str__(self) -> str:
        rows = "\n".join(f"  {k}: {v}" for k, v in self.lines)
        return f"[{self.title}]\n{rows}\n  {self.message}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour, border = ("#e7f5ec", "#1b7f3b") if self.target == "sandbox" else ("#fdecea", "#b3261e")
        rows = "".join(f"<tr><td style='padding-right:1em'><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>"
                       for k, v in self.lines)
        return (f"<div style='background:{colour};border-left:8px solid {border};padding:0.6em 1em;font-size:1.1em'>"
                f"<div style='font-size:1.3em;font-weight:bold;color:{border}'>{self.title}</div>"
                f"<table>{rows}</table><div style='margin-top:0.4em'>{html.escape(self.message)}</div></div>")


def show_target() -> Banner:
    """Return the banner for the active target (display it as a cell's last expression).

    AWS operation:
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    region, source = resolve_region()
    if is_sandbox():
        endpoint = sandbox_endpoint()
        return Banner("sandbox", [("endpoint", endpoint), ("account", SANDBOX_ACCOUNT),
                                  ("region", f"{region} — from {source}")],
                      "Nothing you do here touches AWS: no account, no network, no cost.")
    ident = caller_identity()
    allowed = [a.strip() for a in os.environ.get("WORKSHOP_ALLOWED_ACCOUNTS", "").split(",") if a.strip()]
    if allowed and ident["account"] not in allowed:
        raise TargetError(f"Account {mask_account(ident['account'])} is not in WORKSHOP_ALLOWED_ACCOUNTS.",
                          "Switch to an allowed profile, or add the account to WORKSHOP_ALLOWED_ACCOUNTS.")
    return Banner(get_target(), [("account", mask_account(ident["account"])), ("region", f"{region} — from {source}"),
                          ("caller", identity_type(ident["arn"])),
                          ("profile", os.environ.get("AWS_PROFILE") or "default credential chain")],
                  "Audits are billed per device per month, and mitigation actions change real devices "
                  "(a deactivated certificate disconnects them). Destructive steps ask for confirmation.")


def console_url(path: str) -> str:
    """Return the AWS console URL for an IoT console ``path`` in the active region."""
    region = get_region()
    return f"{CONSOLE}/iot/home?region={region}#/{path.lstrip('/')}"
