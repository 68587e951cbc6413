"""Notebook 04's verify step (helpers.device_watch) against the sandbox's broker: a Module 1 device held connected
is cut off when the shared certificate is deactivated, refused with the broker's reason, and back once ACTIVE."""
from __future__ import annotations

import pytest

from helpers import device_watch, fleet
from helpers.errors import WorkshopError


@pytest.fixture
def env(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    built = fleet.build_workshop_environment(connect=False)
    yield built
    device_watch.release()


def test_held_device_is_cut_off_refused_then_connects_again(env, sandbox):
    held = device_watch.hold(env)
    assert "held open" in repr(held)
    assert device_watch.wait_cut_off(timeout=0.3).what == "still connected"
    sandbox.iot.update_certificate(certificateId=env.certificate_id, newStatus="INACTIVE")
    cut = device_watch.wait_cut_off()
    assert cut.what == "cut off" and not cut.connected and cut.reason and "cut off by the broker" in repr(cut)
    refused = device_watch.try_connect(env)
    assert refused.what == "refused" and "not authori" in refused.reason.lower(), refused
    assert "AUTH_ERROR" in cut.reason and "is INACTIVE" in refused.reason  # the sandbox broker's own record
    sandbox.iot.update_certificate(certificateId=env.certificate_id, newStatus="ACTIVE")
    back = device_watch.try_connect(env)
    assert back.connected and "SensorDevice01 connected" in str(back)


def test_holding_again_replaces_the_earlier_hold(env):
    device_watch.hold(env)
    device_watch.hold(env)  # the earlier hold is closed first, not knocked off as a duplicate client id
    assert device_watch.wait_cut_off(timeout=0.5).what == "still connected"


def test_waiting_without_a_hold_names_the_cell_to_run(env):
    device_watch.release()
    with pytest.raises(WorkshopError, match="not held connected") as e:
        device_watch.wait_cut_off()
    assert "device_watch.hold(env)" in e.value.fix


def test_only_the_environments_devices(env):
    with pytest.raises(WorkshopError, match="not one of this environment's devices"):
        device_watch.identity(env, "SensorDevice99")
