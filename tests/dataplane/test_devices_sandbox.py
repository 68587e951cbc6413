"""The device simulator (helpers.devices) finds the broker the same way in both targets: DescribeEndpoint, and in the
sandbox its root CA; real sessions of devices sharing one certificate land in the connection history."""
from __future__ import annotations

import time

import pytest

from helpers import devices, fleet
from helpers.errors import WorkshopError

from .clients import allow, control, policy


def test_devices_connect_to_the_sandbox_data_endpoint(plane, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    broker = devices.data_broker()
    assert (broker.host, broker.port) == (plane.host, plane.port)
    assert broker.ca_file is not None and broker.ca_file.read_text() == plane.ca_file.read_text()
    shared = plane.registry.create(policy_document=policy(allow(["iot:Connect", "iot:Publish"])))
    identities = [devices.DeviceIdentity(name, shared.cert_file, shared.key_file, name)
                  for name in ("SensorDevice01", "SensorDevice02")]
    sessions = devices.run_devices(identities, broker.host, port=broker.port, ca_file=broker.ca_file, sessions=1,
                                   hold_seconds=0.5)
    assert sorted(s.client_id for s in sessions) == ["SensorDevice01", "SensorDevice02"]
    deadline = time.monotonic() + 10  # the broker records a disconnect just after the client has gone
    while True:
        events = control(plane.endpoint, "GET", "/_sandbox/iot/connections")["events"]
        if all(e["disconnectedAt"] is not None for e in events) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert sorted((e["clientId"], e["certificateId"]) for e in events) == [
        ("SensorDevice01", shared.certificate_id), ("SensorDevice02", shared.certificate_id)]
    assert all(e["disconnectedAt"] is not None for e in events)


def test_the_module1_devices_connect_for_real_and_the_table_shows_the_broker_s_record(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    env = fleet.build_workshop_environment(connect=False)
    before = fleet.target_now()
    run = fleet.connect_devices(env, progress=None)
    assert fleet.target_now() - before >= 2 * 3600 and run.clock_advanced_seconds >= 2 * 3600
    assert "sandbox clock moved" in str(run) and "SensorDevice01 and SensorDevice02" in str(run)
    table = devices.sessions_table(run.sessions)
    assert len(table) == len(run.sessions) == 6
    assert set(table["client id"]) == {"SensorDevice01", "SensorDevice02"}
    assert set(table["state"]) == {"disconnected"} and all(table["reason"])  # the broker's disconnect reason
    assert set(table["certificate"]) == {env.certificate_id[:12] + "…"}
    assert (table["disconnected"] >= table["connected"]).all()
    assert list(table["connected"]) == sorted(table["connected"], reverse=True)


def test_the_sessions_table_shows_a_refusal_with_its_reason(plane, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    broker = devices.data_broker()
    device = plane.registry.create(policy_document=policy(allow(["iot:Connect", "iot:Publish"])))
    plane.iot.update_certificate(certificateId=device.certificate_id, newStatus="INACTIVE")
    identity = devices.DeviceIdentity("Refused01", device.cert_file, device.key_file)
    with pytest.raises(WorkshopError):
        devices.run_session(identity, broker.host, "t", port=broker.port, ca_file=broker.ca_file, timeout=5)
    table = devices.sessions_table(client_ids=["Refused01"])
    assert list(table["state"]) == ["refused"] and "INACTIVE" in table["reason"].iloc[0]
