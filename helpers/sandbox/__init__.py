"""The local Device Defender: AWS IoT Device Defender Audit on top of moto, served on 127.0.0.1.

Python equivalents of the ``/_sandbox/`` controls are here; they act on the in-process moto state (use them with
``mock_aws()`` or an in-process :class:`SandboxServer`). Against a separate process, use the HTTP controls
(``helpers.target`` does).
"""
from __future__ import annotations

from typing import Any

from .config import SANDBOX_ACCOUNT
from .grafting import configure_moto
from .models import DeviceDefenderBackend, devicedefender_backends
from .responses import operation_methods
from .server import SandboxServer

__all__ = ["SANDBOX_ACCOUNT", "SandboxServer", "configure_moto", "install", "record_connections", "list_connections",
           "forget_connections"]


def install() -> list[str]:
    """Install the Device Defender operations into moto (in this process) and return their names."""
    configure_moto()
    return sorted(operation_methods())


def _backend(account: str, region: str) -> DeviceDefenderBackend:
    return devicedefender_backends[account][region]


def record_connections(events: list[dict[str, Any]], *, region: str = "us-east-1",
                       account: str = SANDBOX_ACCOUNT) -> int:
    """Record MQTT connection events (the ``POST /_sandbox/iot/connections`` contract); return the total stored."""
    return _backend(account, region).record_connections(events)


def list_connections(*, region: str = "us-east-1", account: str = SANDBOX_ACCOUNT) -> list[dict[str, Any]]:
    """Return the recorded MQTT connection events."""
    return _backend(account, region).list_connections()


def forget_connections(certificate_ids: list[str], *, region: str = "us-east-1", account: str = SANDBOX_ACCOUNT) -> int:
    """Remove the recorded events of ``certificate_ids`` (``DELETE /_sandbox/iot/connections``); return how many."""
    return _backend(account, region).forget_connections(certificate_ids)
