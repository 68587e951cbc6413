"""The device simulator (helpers.devices) finds the broker the same way in both targets: DescribeEndpoint, and in the
sandbox its root CA; real sessions of devices sharing one certificate land in the connection history."""
from __future__ import annotations

from helpers import devices

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
    events = control(plane.endpoint, "GET", "/_sandbox/iot/connections")["events"]
    assert sorted((e["clientId"], e["certificateId"]) for e in events) == [
        ("SensorDevice01", shared.certificate_id), ("SensorDevice02", shared.certificate_id)]
    assert all(e["disconnectedAt"] is not None for e in events)
