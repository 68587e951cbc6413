"""What notebook 04 shows: a device held connected is cut off when its certificate is deactivated, fails to
reconnect with the broker's answer, and connects again once the certificate is ACTIVE."""
from __future__ import annotations

import pytest

from helpers import devices
from helpers.errors import WorkshopError

from .clients import WAIT, allow, policy


def test_a_held_device_is_cut_off_then_refused_then_back(plane, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    broker = devices.data_broker()
    device = plane.registry.create(policy_document=policy(allow(["iot:Connect", "iot:Publish"])))
    identity = devices.DeviceIdentity("SensorDevice01", device.cert_file, device.key_file, "SensorDevice01")
    held = devices.hold_connection(identity, broker)
    try:
        assert held.connected
        plane.iot.update_certificate(certificateId=device.certificate_id, newStatus="INACTIVE")
        assert held.wait_disconnected(WAIT)
        assert held.reason is not None
    finally:
        held.close()
    with pytest.raises(WorkshopError, match="(?i)not authori[sz]ed"):
        devices.run_session(identity, broker.host, "temperature", port=broker.port, ca_file=broker.ca_file)
    assert "INACTIVE" in plane.sessions()["refusals"][-1]["reason"]
    plane.iot.update_certificate(certificateId=device.certificate_id, newStatus="ACTIVE")
    session = devices.run_session(identity, broker.host, "temperature", port=broker.port, ca_file=broker.ca_file)
    assert session.client_id == "SensorDevice01"
