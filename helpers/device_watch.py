"""Notebook 04's "verify" step made visible: a Module 1 device (SensorDevice01, with the certificate it shares with
SensorDevice02) held connected through the mitigation, cut off when the certificate is deactivated, refused when it
tries again, and connected again once the certificate is ACTIVE.

The same calls in both targets: the device connects to the ``iot:Data-ATS`` endpoint (AWS IoT Core, or the
sandbox's broker) with :mod:`helpers.devices`; the reasons shown are what the broker answered, as paho reports them.
In the sandbox they also quote the broker's own record (``GET /_sandbox/iot/sessions``): AWS's disconnect reason, such
as AUTH_ERROR, and why a connection was refused. AWS IoT Core keeps those in its logs and lifecycle events.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from . import devices, target
from .errors import WorkshopError
from .fleet import WorkshopEnvironment

DEVICE = "SensorDevice01"
TOPIC = "temperature"
# AWS documents that UpdateCertificate disconnects the devices "within seconds"; the sandbox does it in ~0.5 s
CUT_OFF_WAIT_SECONDS = {"sandbox": 10.0, "aws": 30.0}
_held: dict[str, devices.HeldConnection] = {}  # client id -> the connection this kernel holds open


@dataclass(frozen=True, repr=False)
class DeviceEvent:
    """What happened to a device: ``what`` is connected, cut off, refused or still connected."""

    device: str
    what: str
    reason: str = ""
    seconds: float = 0.0

    @property
    def connected(self) -> bool:
        """Return True when the device is (or was just) connected."""
        return self.what in ("connected", "still connected")

    def __repr__(self) -> str:
        """Return the event as one sentence."""
        sentences = {"connected": f"{self.device} connected to the broker and published a reading.",
                     "held": f"{self.device} is connected and held open (it will not reconnect on its own).",
                     "cut off": f"{self.device} was cut off by the broker ({self.reason}).",
                     "still connected": f"{self.device} is still connected after {self.seconds:.0f} s: the "
                                        "certificate has not been deactivated yet.",
                     "refused": f"{self.device} tried to connect again and was refused: {self.reason}"}
        return sentences[self.what]

    __str__ = __repr__


def identity(env: WorkshopEnvironment, device: str = DEVICE) -> devices.DeviceIdentity:
    """Return the MQTT identity of one of the environment's devices (its thing name as client id, the shared
    certificate and key)."""
    if device not in env.things:
        raise WorkshopError(f"{device} is not one of this environment's devices ({', '.join(env.things)}).",
                            f"Use one of {', '.join(env.things)}.")
    return devices.DeviceIdentity(device, Path(env.cert_file), Path(env.key_file), device)


def hold(env: WorkshopEnvironment, device: str = DEVICE) -> DeviceEvent:
    """Return after ``device`` connected and is held open (an earlier hold of it in this kernel is closed first).

    AWS operation: [DescribeEndpoint](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeEndpoint.html).
    """
    release(device)
    _held[device] = devices.hold_connection(identity(env, device), devices.data_broker())
    return DeviceEvent(device, "held")


def wait_cut_off(device: str = DEVICE, timeout: float | None = None) -> DeviceEvent:
    """Return whether the held ``device`` was cut off (waiting up to ``timeout`` seconds, default per target), with
    the broker's reason."""
    held = _held.get(device)
    if held is None:
        raise WorkshopError(f"{device} is not held connected in this kernel (the kernel restarted, or the cell that "
                            "connects it has not run).", "Run the cell that connects the device (`device_watch.hold("
                            "env)`) before the mitigation, then the mitigation, then this cell.")
    wait = CUT_OFF_WAIT_SECONDS.get(target.get_target(), 30.0) if timeout is None else timeout
    started = time.monotonic()
    if not held.wait_disconnected(wait):
        return DeviceEvent(device, "still connected", seconds=time.monotonic() - started)
    release(device)
    return DeviceEvent(device, "cut off", reason=_with_record(held.reason or "no reason given", "disconnects", device))


def try_connect(env: WorkshopEnvironment, device: str = DEVICE, *, attempts: int = 1,
                interval: float = 2.0) -> DeviceEvent:
    """Return the outcome of ``device`` connecting and publishing one reading: connected, or refused with the
    broker's answer (``attempts`` tries ``interval`` s apart, for a change AWS applies within seconds).

    AWS operation: [DescribeEndpoint](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeEndpoint.html).
    """
    broker = devices.data_broker()
    refusal = ""
    for attempt in range(max(1, attempts)):
        if attempt:
            time.sleep(interval)
        try:
            devices.run_session(identity(env, device), broker.host, TOPIC, port=broker.port, ca_file=broker.ca_file)
            return DeviceEvent(device, "connected")
        except WorkshopError as exc:
            refusal = (exc.problem.partition(": ")[2] or exc.problem).rstrip(".")
    return DeviceEvent(device, "refused", reason=_with_record(refusal, "refusals", device))


def _with_record(reason: str, kind: str, device: str) -> str:
    """Return ``reason`` (what paho saw) followed, in the sandbox, by the broker's latest record of ``kind``
    (disconnects or refusals) for ``device``."""
    if not target.is_sandbox():
        return reason
    records = [r for r in target.sandbox_control("GET", "/_sandbox/iot/sessions").get(kind, [])
               if r.get("clientId") == device and r.get("reason")]
    return f"{reason}; the broker's record: {records[-1]['reason']}" if records else reason


def release(device: str = DEVICE) -> None:
    """Disconnect ``device`` if this kernel holds it open."""
    held = _held.pop(device, None)
    if held is not None:
        held.close()
