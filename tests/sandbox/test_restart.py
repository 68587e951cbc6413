"""A sandbox stopped or restarted mid-workshop: the helpers say so clearly, and one call rebuilds the environment."""
from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from helpers import fleet, state, target
from helpers.sandbox import SandboxServer
from tests.notebook_runs import free_port


def _start(port: int) -> SandboxServer:
    """Return a started sandbox on ``port`` with empty state (an in-process restart shares moto's memory, so wipe it)."""
    server = SandboxServer("127.0.0.1", port).start()
    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", data=b"", method="POST")).close()
    return server


@pytest.fixture
def workshop(tmp_path, monkeypatch) -> Iterator[dict]:
    """A sandbox on a port of its own, the helpers pointed at it, and a private state folder."""
    port = free_port()
    server = _start(port)
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    monkeypatch.setenv("WORKSHOP_TARGET", "sandbox")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(target, "_verified", {})
    monkeypatch.setattr(target, "_instances", {})
    monkeypatch.setattr(target, "_kernel_server", None)
    target.clear_client_cache()
    box = {"port": port, "server": server}
    yield box
    box["server"].stop()
    if target._kernel_server is not None:
        target._kernel_server.stop()
    target.clear_client_cache()


def test_a_stopped_sandbox_fails_fast_with_the_fix(workshop):
    """A call to a sandbox that went away raises SandboxGone naming the restart and the one-call rebuild."""
    iot = target.client("iot")
    iot.list_things()
    workshop["server"].stop()
    with pytest.raises(target.SandboxGone) as caught:
        iot.list_things()
    assert "stopped answering" in caught.value.problem
    assert target.REBUILD in caught.value.fix and "make sandbox" in caught.value.fix


def test_a_stopped_sandbox_control_call_fails_with_the_fix(workshop):
    """A /_sandbox/ control call to a sandbox that went away raises SandboxGone, not a URLError."""
    target.sandbox_control("GET", "/_sandbox/clock")
    workshop["server"].stop()
    with pytest.raises(target.SandboxGone, match="stopped answering"):
        target.sandbox_control("GET", "/_sandbox/clock")


def test_a_restart_is_announced_and_one_call_rebuilds(workshop, capsys):
    """After a restart the next call says the state is gone; build_workshop_environment() then rebuilds it all."""
    first = fleet.build_workshop_environment(connect=False)
    assert state.get_run(first.run_id)["sandbox_instance"] == target.sandbox_instance()
    workshop["server"].stop()
    workshop["server"] = _start(workshop["port"])
    capsys.readouterr()

    target.client("iot").list_things()  # any call: the answer carries the new instance id
    said = capsys.readouterr().err
    assert "restarted" in said and target.REBUILD in said

    again = fleet.build_workshop_environment()
    assert "built in a sandbox that has since restarted" in capsys.readouterr().out
    assert again.run_id != first.run_id and not again.reused
    report = fleet.verify_workshop_environment(again)
    assert set(report["ok"]) == {"✓"}, report.to_string()


def test_the_same_sandbox_is_not_announced_as_restarted(workshop, capsys):
    """A reset keeps the instance: no restart message, and the recorded environment is reused when it still exists."""
    env = fleet.build_workshop_environment(connect=False)
    target.client("iot").list_things()
    assert "restarted" not in capsys.readouterr().err
    assert fleet.build_workshop_environment(connect=False).run_id == env.run_id
