"""The MQTT device simulator against a real broker: mosquitto on 127.0.0.1 with mutual TLS, certificates made here.

Skipped (with the reason) only when mosquitto is not installed; .ci/run installs it.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers import certs
from helpers.devices import DeviceIdentity, run_devices, run_session, tls_context
from helpers.errors import WorkshopError

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)
pytestmark = pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed (apt-get install mosquitto; "
                                                           ".ci/run installs it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, log: Path, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mosquitto exited with {proc.returncode}: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"mosquitto did not listen on {port} within {timeout} s: {log.read_text()}")


def _identity(folder: Path, name: str, issued: certs.Issued, client_id: str) -> DeviceIdentity:
    cert = certs.write_text(folder / f"{name}.cert.pem", issued.pem)
    key = certs.write_private_key(folder / f"{name}.private.key", issued.key)
    return DeviceIdentity(client_id, cert, key, client_id)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """mosquitto on 127.0.0.1:<free port>, TLS 1.2+, client certificates required (issued by a CA made here)."""
    folder = tmp_path_factory.mktemp("mqtt")
    ca = certs.make_ca("Test MQTT CA", days=2)
    server = certs.server_certificate(ca)
    ca_file = certs.write_text(folder / "ca.pem", ca.pem)
    server_cert = certs.write_text(folder / "server.pem", server.pem)
    server_key = certs.write_private_key(folder / "server.key", server.key)
    port = _free_port()
    config = folder / "mosquitto.conf"
    config.write_text("\n".join([
        f"listener {port} 127.0.0.1", f"cafile {ca_file}", f"certfile {server_cert}", f"keyfile {server_key}",
        "require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2", "allow_anonymous false",
        "persistence false", "log_dest stderr", "log_type error", "log_type warning",
        *(["user root"] if os.geteuid() == 0 else []), ""]))
    log = folder / "mosquitto.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, proc, log)
        yield SimpleNamespace(port=port, ca=ca, ca_file=ca_file, folder=folder, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _subscriber(broker: SimpleNamespace, topic: str) -> tuple[object, list[str]]:
    """Return a connected, subscribed paho client and the list its messages are appended to."""
    import paho.mqtt.client as mqtt

    ident = _identity(broker.folder, "watcher", certs.issue("watcher", broker.ca), "watcher")
    received: list[str] = []
    ready = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="watcher")
    c.tls_set_context(tls_context(ident, broker.ca_file))
    c.on_message = lambda _c, _u, msg: received.append(msg.payload.decode())
    c.on_subscribe = lambda *_args: ready.set()
    c.on_connect = lambda client, *_args: client.subscribe(topic, qos=1)
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    assert ready.wait(10), "the watcher could not subscribe"
    return c, received


def test_two_devices_sharing_one_certificate_publish_at_the_same_time(broker):
    shared = certs.issue("SensorDevices (shared)", broker.ca)
    devices = [_identity(broker.folder, f"dev{i}", shared, f"SensorDevice0{i}") for i in (1, 2)]
    watcher, received = _subscriber(broker, "#")
    progress: list[str] = []
    try:
        sessions = run_devices(devices, "127.0.0.1", lambda d: f"temperature-device-{d.client_id[-2:]}",
                               port=broker.port, ca_file=broker.ca_file, sessions=2, interval=0.2, hold_seconds=0.5,
                               progress=progress.append)
        deadline = time.monotonic() + 5
        while len(received) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.disconnect()
        watcher.loop_stop()
    assert len(sessions) == 4 and len(received) == 4
    assert [line.split(":")[0] for line in progress] == ["round 1/2", "round 2/2"]
    assert {s.client_id for s in sessions} == {"SensorDevice01", "SensorDevice02"}
    first = sorted(sessions, key=lambda s: s.connected_at)[:2]
    assert first[0].client_id != first[1].client_id
    assert first[1].connected_at < first[0].disconnected_at, "the two devices were not connected at the same time"
    for body in received:
        import json

        reading = json.loads(body)
        assert 15.1 <= reading["temperature"] <= 29.9


def test_a_certificate_from_another_ca_is_refused_with_a_clear_error(broker):
    stranger = certs.issue("stranger", certs.make_ca("Unknown CA"))
    ident = _identity(broker.folder, "stranger", stranger, "stranger")
    with pytest.raises(WorkshopError) as e:
        run_session(ident, "127.0.0.1", "t", port=broker.port, ca_file=broker.ca_file, timeout=2)
    assert "stranger" in e.value.problem and e.value.fix


def test_an_untrusted_broker_is_refused(broker):
    ident = _identity(broker.folder, "dev-untrusting", certs.issue("dev", broker.ca), "dev-untrusting")
    other_ca = certs.write_text(broker.folder / "other-ca.pem", certs.make_ca("Other CA").pem)
    with pytest.raises(WorkshopError) as e:
        run_session(ident, "127.0.0.1", "t", port=broker.port, ca_file=other_ca, timeout=2)
    assert "TLS handshake" in e.value.problem


def test_missing_files_are_named(tmp_path):
    ident = DeviceIdentity("d", tmp_path / "nope.pem", tmp_path / "nope.key")
    with pytest.raises(WorkshopError) as e:
        tls_context(ident)
    assert "nope.pem" in e.value.problem


def test_a_key_that_does_not_match_the_certificate_is_named(broker, tmp_path):
    issued = certs.issue("mismatch", broker.ca)
    cert = certs.write_text(tmp_path / "c.pem", issued.pem)
    key = certs.write_private_key(tmp_path / "k.key", certs.new_key())
    with pytest.raises(WorkshopError) as e:
        tls_context(DeviceIdentity("mismatch", cert, key))
    assert "do not load" in e.value.problem


def test_the_sessions_table_in_a_real_account_shows_the_devices_own_sessions(monkeypatch):
    from helpers import devices, target

    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    with pytest.raises(WorkshopError) as e:
        devices.sessions_table()
    assert "no API" in e.value.problem and "connect_devices" in e.value.fix
    ran = [devices.Session("SensorDevice01", 100.0, 101.0, "t", "{}", "ab" * 32),
           devices.Session("SensorDevice02", 100.2, 101.2, "t", "{}", "ab" * 32)]
    table = devices.sessions_table(ran)
    assert list(table["client id"]) == ["SensorDevice02", "SensorDevice01"]
    assert list(table.columns) == devices.SESSION_COLUMNS and set(table["certificate"]) == {"abababababab…"}
