"""Test-side MQTT devices: certificates registered in the sandbox and paho clients driven on a thread of their own,
with every broker answer (CONNACK, SUBACK, messages, disconnection) queued for bounded waits."""
from __future__ import annotations

import json
import queue
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import paho.mqtt.client as mqtt

from helpers import certs

WAIT = 10.0  # upper bound of every wait (a poll, never a sleep-as-assertion)
ACCEPTED = 0
NOT_AUTHORIZED = 135  # paho 2 reports MQTT 3.1.1's CONNACK 0x05 with MQTT 5's code for "Not authorized" (0x87)
SUBACK_FAILURE = 0x80


def control(endpoint: str, method: str, path: str, body: Any = None) -> Any:
    """Call a sandbox control and return its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=WAIT) as answer:
        return json.load(answer)


def wait_until(condition: Callable[[], Any], timeout: float = WAIT, what: str = "condition") -> Any:
    """Poll ``condition`` until it returns a truthy value (returned), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass(frozen=True)
class Device:
    """A certificate registered in the sandbox, with its files."""

    certificate_id: str
    certificate_arn: str
    cert_file: Path
    key_file: Path


def policy(*statements: dict[str, Any]) -> str:
    """Return an IoT policy document with ``statements``."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*", **condition: Any) -> dict[str, Any]:
    """Return an Allow statement."""
    st: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return st


def deny(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    """Return a Deny statement."""
    return {"Effect": "Deny", "Action": action, "Resource": resource}


class Registry:
    """Creates devices in the sandbox (files under ``folder``)."""

    def __init__(self, iot: Any, folder: Path) -> None:
        self.iot = iot
        self.folder = folder
        self.count = 0

    def _files(self, cert_pem: str, key_pem: bytes | str) -> tuple[Path, Path]:
        """Write a device's certificate and key (0600); return their paths."""
        self.count += 1
        cert = certs.write_text(self.folder / f"d{self.count}.cert.pem", cert_pem)
        key = self.folder / f"d{self.count}.private.key"
        key.write_bytes(key_pem.encode() if isinstance(key_pem, str) else key_pem)
        key.chmod(0o600)
        return cert, key

    def create(self, *, policy_document: str | None = None, active: bool = True) -> Device:
        """Return a device from CreateKeysAndCertificate, with a new policy attached when given."""
        made = self.iot.create_keys_and_certificate(setAsActive=active)
        cert, key = self._files(made["certificatePem"], made["keyPair"]["PrivateKey"])
        device = Device(made["certificateId"], made["certificateArn"], cert, key)
        if policy_document is not None:
            self.attach(device, policy_document)
        return device

    def register_without_ca(self, *, policy_document: str | None = None) -> Device:
        """Return a device whose self-signed certificate was registered with RegisterCertificateWithoutCA."""
        issued = certs.issue(f"device-{self.count}")
        made = self.iot.register_certificate_without_ca(certificatePem=issued.pem, status="ACTIVE")
        cert, key = self._files(issued.pem, certs.private_key_pem(issued.key))
        device = Device(made["certificateId"], made["certificateArn"], cert, key)
        if policy_document is not None:
            self.attach(device, policy_document)
        return device

    def unregistered(self) -> Device:
        """Return a self-signed certificate the sandbox never saw."""
        issued = certs.issue("stranger")
        cert, key = self._files(issued.pem, certs.private_key_pem(issued.key))
        return Device("", "", cert, key)

    def attach(self, device: Device, document: str) -> str:
        """Create a policy with ``document``, attach it to the device, and return its name."""
        name = f"p{self.count}-{len(document) % 997}-{time.monotonic_ns() % 10**8}"
        self.iot.create_policy(policyName=name, policyDocument=document)
        self.iot.attach_policy(policyName=name, target=device.certificate_arn)
        return name


class Client:
    """A paho MQTT 3.1.1 client over mutual TLS, its network loop on a thread, answers in queues."""

    def __init__(self, host: str, port: int, ca_file: Path, device: Device, client_id: str,
                 clean_session: bool = True, protocol: int = mqtt.MQTTv311) -> None:
        self.host, self.port = host, port
        session = {"clean_session": clean_session} if protocol != mqtt.MQTTv5 else {}
        self.paho = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, **session)
        self.paho.tls_set(ca_certs=str(ca_file), certfile=str(device.cert_file), keyfile=str(device.key_file))
        self.connacks: queue.Queue[int] = queue.Queue()
        self.subacks: queue.Queue[list[int]] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.disconnected = threading.Event()
        self.paho.on_connect = lambda c, u, flags, rc, props: self.connacks.put(rc.value)
        self.paho.on_subscribe = lambda c, u, mid, rcs, props: self.subacks.put([r.value for r in rcs])
        self.paho.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.paho.on_disconnect = lambda *a: self.disconnected.set()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def connect(self) -> int:
        """Connect and return the CONNACK code (ACCEPTED, NOT_AUTHORIZED); raise on a refused TLS handshake."""
        self.paho.connect(self.host, self.port, keepalive=30)
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                return self.connacks.get(timeout=0.05)
            except queue.Empty:
                if self.disconnected.is_set() and self.connacks.empty():
                    return -1  # closed without a CONNACK (a refused TLS handshake)
        return -2

    def _loop(self) -> None:
        """Run paho's network loop until stopped or disconnected (no automatic reconnection)."""
        while not self._stop.is_set():
            if self.paho.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                self.disconnected.set()
                return

    def subscribe(self, topic_filter: str, qos: int = 1) -> list[int]:
        """Subscribe and return the SUBACK codes (0x80 = refused)."""
        self.paho.subscribe(topic_filter, qos)
        return self.subacks.get(timeout=WAIT)

    def publish(self, topic: str, payload: bytes = b"x", qos: int = 1, retain: bool = False) -> None:
        """Publish a message."""
        self.paho.publish(topic, payload, qos, retain)

    def next_message(self, timeout: float = WAIT) -> tuple[str, bytes] | None:
        """Return the next message received, or None after ``timeout``."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        """Disconnect cleanly (if still connected) and stop the loop."""
        if not self.disconnected.is_set():
            self.paho.disconnect()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(WAIT)
        self.paho.socket() and self.paho.socket().close()


def handshake_refused(client: Client) -> bool:
    """Return True when connecting fails at TLS or is answered with a refusal (anything but CONNACK 0)."""
    try:
        return client.connect() != 0
    except (ssl.SSLError, ConnectionError, OSError):
        return True
