"""A small MQTT device simulator (paho-mqtt over mutual TLS), like Module 1's Lambda devices: each session connects
with the device's certificate, publishes one temperature reading, and disconnects.

It talks to a real broker, found the same way in both targets (:func:`data_broker`): the ``iot:Data-ATS`` endpoint
that DescribeEndpoint names. In aws mode that is AWS IoT Core (port 8883, the server verified against the system's
trust store, which holds Amazon Root CA 1); in the sandbox it is the sandbox's own broker on 127.0.0.1, verified
against the sandbox's root CA. Any MQTT broker with TLS client authentication works too (the tests also start
mosquitto).

:func:`sessions_table` shows the devices' sessions: in the sandbox as the broker saw them (its sessions control:
live, disconnected with AWS's disconnect reason, refused with the reason); AWS has no API listing MQTT sessions, so in
aws mode it shows the sessions the devices themselves ran (the list :func:`run_devices` returns).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from . import state, target
from .errors import WorkshopError

MQTT_TLS_PORT = 8883
SESSION_COLUMNS = ["client id", "certificate", "connected", "disconnected", "state", "reason"]


@dataclass(frozen=True)
class DeviceIdentity:
    """What a device connects with: its MQTT client id and the files of its certificate and private key."""

    client_id: str
    cert_file: Path
    key_file: Path
    thing_name: str = ""
    certificate_id: str = ""  # the certificate's id in AWS IoT, when known (shown in session tables)


@dataclass(frozen=True)
class Session:
    """One finished MQTT session of a device (epoch seconds)."""

    client_id: str
    connected_at: float
    disconnected_at: float
    topic: str
    payload: str
    certificate_id: str = ""


@dataclass(frozen=True)
class Broker:
    """Where devices connect: host and port, and the CA file that verifies the broker (None: the system's trust
    store, which holds Amazon Root CA 1)."""

    host: str
    port: int
    ca_file: Path | None


def data_endpoint() -> str:
    """Return the account's AWS IoT data endpoint (``iot:Data-ATS``) for the active target: a host, or
    ``host:port`` when the broker is not on 8883 (the sandbox's may not be).

    AWS operation: [DescribeEndpoint](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeEndpoint.html).
    """
    return target.client("iot").describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]


def data_broker() -> Broker:
    """Return the active target's MQTT broker: DescribeEndpoint's address, and in the sandbox its root CA (written
    under the state folder), as AWS IoT Core is verified with Amazon Root CA 1.

    AWS operation: [DescribeEndpoint](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeEndpoint.html).
    """
    host, _, port = data_endpoint().partition(":")
    ca_file = None
    if target.is_sandbox():
        pem = target.sandbox_control("GET", "/_sandbox/iot/data-endpoint")["rootCaPem"]
        # one file per CA, written whole: kernels of other sandboxes sharing the state folder never overwrite it
        ca_file = state.state_dir() / f"sandbox-root-ca-{hashlib.sha256(pem.encode()).hexdigest()[:16]}.pem"
        if not ca_file.exists() or ca_file.read_text() != pem:
            ca_file.parent.mkdir(parents=True, exist_ok=True)
            partial = ca_file.with_name(f"{ca_file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            partial.write_text(pem)
            partial.replace(ca_file)
    return Broker(host, int(port) if port else MQTT_TLS_PORT, ca_file)


def tls_context(identity: DeviceIdentity, ca_file: Path | None = None) -> ssl.SSLContext:
    """Return a TLS client context presenting the device certificate and verifying the broker (system trust store,
    or ``ca_file``)."""
    for path in (identity.cert_file, identity.key_file):
        if not Path(path).is_file():
            raise WorkshopError(f"Device {identity.client_id}: {path} does not exist.",
                                "Build the environment first (it writes certificates and keys under .workshop/keys/), "
                                "or pass the right paths.")
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(identity.cert_file), str(identity.key_file))
    except ssl.SSLError as exc:
        raise WorkshopError(f"Device {identity.client_id}: the certificate and key do not load ({exc}).",
                            "Check that the key file is the private key of that certificate.") from None
    return context


def reading(device: str) -> str:
    """Return a temperature reading as JSON, like Module 1's devices (15.1 to 29.9 degrees)."""
    return json.dumps({"device": device, "temperature": round(random.uniform(15.1, 29.9), 1),
                       "timestamp": int(time.time())})


def _client(identity: DeviceIdentity, context: ssl.SSLContext) -> Any:
    """Return a paho MQTT 3.1.1 client for ``identity`` using ``context``."""
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise WorkshopError("The MQTT library paho-mqtt is not installed.",
                            "Install the workshop's dependencies: `.venv/bin/pip install -e .`") from None
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=identity.client_id,
                         protocol=mqtt.MQTTv311, clean_session=True)
    client.tls_set_context(context)
    return client


def _connect(client: Any, identity: DeviceIdentity, host: str, port: int, timeout: float) -> None:
    """Connect ``client`` and wait for the broker's CONNACK, raising a WorkshopError that names the problem."""
    connected = threading.Event()
    result: dict[str, Any] = {}

    def on_connect(_c: Any, _u: Any, _flags: Any, reason_code: Any, _props: Any) -> None:
        result["rc"] = reason_code
        connected.set()

    def on_disconnect(_c: Any, _u: Any, _flags: Any, reason_code: Any, _props: Any) -> None:
        if not connected.is_set():  # closed before CONNACK: typically the broker refused the certificate
            result["rc"] = f"connection closed by the broker before it answered: {reason_code}"
            connected.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    try:
        client.connect(host, port, keepalive=30)
    except ssl.SSLError as exc:
        raise WorkshopError(f"Device {identity.client_id}: TLS handshake with {host}:{port} failed ({exc.reason}).",
                            "The broker did not accept the device certificate, or its own certificate is not trusted: "
                            "check the certificate is registered and ACTIVE, and the CA file.") from None
    except OSError as exc:
        raise WorkshopError(f"Device {identity.client_id}: cannot reach {host}:{port} ({exc}).",
                            "Check the endpoint (data_endpoint()) and that outbound port 8883 is open.") from None
    client.loop_start()
    if not connected.wait(timeout) or getattr(result.get("rc"), "is_failure", True):
        client.disconnect()
        client.loop_stop()
        raise WorkshopError(f"Device {identity.client_id}: the broker at {host}:{port} did not accept the MQTT "
                            f"connection ({result.get('rc', 'no answer within %.0f s' % timeout)}).",
                            "Check that a policy allowing iot:Connect is attached to the certificate and that the "
                            "certificate is ACTIVE.")


def run_session(identity: DeviceIdentity, host: str, topic: str, *, port: int = MQTT_TLS_PORT,
                ca_file: Path | None = None, hold_seconds: float = 0.0, timeout: float = 10.0,
                payload: str | None = None) -> Session:
    """Connect as ``identity``, publish one reading (QoS 1) to ``topic``, stay ``hold_seconds``, disconnect; return
    the session."""
    client = _client(identity, tls_context(identity, ca_file))
    _connect(client, identity, host, port, timeout)
    connected_at = time.time()
    body = payload if payload is not None else reading(identity.thing_name or identity.client_id)
    try:
        info = client.publish(topic, body, qos=1)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise WorkshopError(f"Device {identity.client_id}: publishing to {topic!r} was not acknowledged.",
                                "Check that the policy allows iot:Publish on that topic.")
        if hold_seconds > 0:
            time.sleep(hold_seconds)
    finally:
        client.disconnect()
        client.loop_stop()
    return Session(identity.client_id, connected_at, time.time(), topic, body, identity.certificate_id)


def run_devices(identities: Sequence[DeviceIdentity], host: str, topic_for: Any = None, *,
                port: int = MQTT_TLS_PORT, ca_file: Path | None = None, sessions: int = 1, interval: float = 10.0,
                hold_seconds: float = 1.0, timeout: float = 10.0,
                progress: Callable[[str], None] | None = None) -> list[Session]:
    """Run every device at once, ``sessions`` times ``interval`` seconds apart (so devices that share a certificate
    are connected at the same time, as in Module 1); return all sessions, oldest first.

    ``topic_for(identity)`` names each device's topic (default ``temperature-<client id>``); ``progress`` (e.g.
    ``print``) gets one line per round. The run is bounded: at most ``sessions`` rounds.
    """
    topic_for = topic_for or (lambda ident: f"temperature-{ident.client_id}")
    done: list[Session] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(identity: DeviceIdentity) -> None:
        try:
            session = run_session(identity, host, topic_for(identity), port=port, ca_file=ca_file,
                                  hold_seconds=hold_seconds, timeout=timeout)
            with lock:
                done.append(session)
        except BaseException as exc:  # reported after all threads finished
            with lock:
                errors.append(exc)

    for i in range(sessions):
        threads = [threading.Thread(target=one, args=(ident,), daemon=True) for ident in identities]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout + hold_seconds + 10)
        if errors:
            raise errors[0]
        if progress is not None:
            progress(f"round {i + 1}/{sessions}: {', '.join(ident.client_id for ident in identities)} connected, "
                     f"published and disconnected")
        if i + 1 < sessions:
            time.sleep(interval)
    return sorted(done, key=lambda s: s.connected_at)


class HeldConnection:
    """A device that stays connected until told to go, or until the broker cuts it off (e.g. its certificate was
    deactivated): then :attr:`reason` says what the broker answered."""

    def __init__(self, identity: DeviceIdentity, client: Any) -> None:
        self.identity = identity
        self._client = client
        self._gone = threading.Event()
        self.reason: str | None = None
        client.on_disconnect = self._on_disconnect

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason_code: Any, _props: Any) -> None:
        """Record why the connection ended."""
        self.reason = str(reason_code)
        self._gone.set()

    @property
    def connected(self) -> bool:
        """Return True while the broker keeps the device connected."""
        return not self._gone.is_set()

    def wait_disconnected(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the broker to cut the device off; return True when it did."""
        return self._gone.wait(timeout)

    def close(self) -> None:
        """Disconnect (if still connected) and stop the network loop."""
        if self.connected:
            self._client.disconnect()
        self._client.loop_stop()


def hold_connection(identity: DeviceIdentity, broker: Broker, *, timeout: float = 10.0) -> HeldConnection:
    """Connect ``identity`` to ``broker`` and keep it connected (without reconnecting) until closed or cut off."""
    client = _client(identity, tls_context(identity, broker.ca_file))
    _connect(client, identity, broker.host, broker.port, timeout)
    client.reconnect_delay_set(min_delay=3600, max_delay=3600)  # a device cut off stays off: no silent reconnect
    return HeldConnection(identity, client)


# -- sessions as a table ---------------------------------------------------------------------------------------------
def _when(seconds: float | None) -> Any:
    """Return epoch seconds as a UTC timestamp (NaT when unknown)."""
    return pd.NaT if seconds is None else pd.Timestamp(datetime.fromtimestamp(seconds, timezone.utc)).round("ms")


def broker_sessions(client_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Return the sandbox broker's live, recently disconnected and recently refused sessions (of ``client_ids``, or
    all), newest first, as rows of :data:`SESSION_COLUMNS` (times on the sandbox clock).

    Sandbox only: ``GET /_sandbox/iot/sessions`` (AWS has no API listing MQTT sessions).
    """
    seen = target.sandbox_control("GET", "/_sandbox/iot/sessions")
    wanted = None if client_ids is None else set(client_ids)
    rows = [{"client id": c["clientId"], "certificate": c.get("certificateId", ""), "connected": c["connectedAt"],
             "disconnected": None, "state": "connected", "reason": ""} for c in seen["live"]]
    rows += [{"client id": c["clientId"], "certificate": c.get("certificateId", ""), "connected": c["connectedAt"],
              "disconnected": c["disconnectedAt"], "state": "disconnected", "reason": c.get("reason") or ""}
             for c in seen["disconnects"]]
    rows += [{"client id": c["clientId"], "certificate": c.get("certificateId", ""), "connected": None,
              "disconnected": None, "state": "refused", "reason": c.get("reason") or ""}
             for c in reversed(seen["refusals"])]
    rows = [r for r in rows if wanted is None or r["client id"] in wanted]
    timed = sorted((r for r in rows if r["connected"] is not None), key=lambda r: r["connected"], reverse=True)
    return timed + [r for r in rows if r["connected"] is None]


def sessions_table(sessions: Sequence[Session] | None = None, *, client_ids: Iterable[str] | None = None,
                   limit: int = 20) -> pd.DataFrame:
    """Return a table of MQTT sessions, newest first: client id, certificate, connected and disconnected (UTC), state
    (connected, disconnected, refused) and the broker's reason.

    Sandbox: the broker's own record (:func:`broker_sessions`) of ``client_ids`` (default: those of ``sessions``),
    at most ``limit`` rows (default: as many as ``sessions`` when given, so a run's table shows that run). aws: AWS
    IoT Core has no API listing sessions, so the table shows ``sessions`` as the devices ran them (required).
    """
    if target.is_sandbox():
        ids = set(client_ids) if client_ids is not None else \
            ({s.client_id for s in sessions} if sessions is not None else None)
        rows = broker_sessions(ids)[:len(sessions) if sessions is not None else limit]
    elif sessions is None:
        raise WorkshopError("AWS IoT Core has no API that lists MQTT sessions, so there is nothing to read them from.",
                            "Pass the sessions the devices ran: sessions_table(run.sessions), with run = "
                            "fleet.connect_devices(env) (or devices.run_devices(...)).")
    else:
        rows = [{"client id": s.client_id, "certificate": s.certificate_id, "connected": s.connected_at,
                 "disconnected": s.disconnected_at, "state": "disconnected",
                 "reason": "the device disconnected (as the device saw it)"}
                for s in sorted(sessions, key=lambda s: s.connected_at, reverse=True)][:limit]
    table = pd.DataFrame(rows, columns=SESSION_COLUMNS)
    for column in ("connected", "disconnected"):
        table[column] = [_when(v) for v in table[column]]
    table["certificate"] = [f"{c[:12]}…" if c else "" for c in table["certificate"]]
    return table


def wait_until_offline(client_ids: Iterable[str], timeout: float = 10.0) -> set[str]:
    """Return the client ids still connected to the sandbox broker after waiting up to ``timeout`` seconds for them to
    disconnect (a kernel that just stopped closes its connections within moments). Sandbox only."""
    wanted, deadline = set(client_ids), time.monotonic() + timeout
    while True:
        live = {c["clientId"] for c in target.sandbox_control("GET", "/_sandbox/iot/sessions")["live"]} & wanted
        if not live or time.monotonic() >= deadline:
            return live
        time.sleep(0.2)
