"""The broker bounds how many connections it holds: over the limit, a connection is closed at once and counted, and
the connections under the limit are served."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from helpers import certs
from helpers.sandbox.dataplane import DataPlane
from helpers.sandbox.dataplane_adapter import SandboxDirectory

from .clients import ACCEPTED, WAIT, Device, allow, control, policy, wait_until


def _closed(sock: socket.socket) -> bool:
    """Return True when the broker closed the connection without a word (EOF or reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.fixture
def small_plane() -> Iterator[DataPlane]:
    """A second broker of this process (its endpoint not published) that holds at most 3 connections."""
    plane = DataPlane(SandboxDirectory(), port=0, max_connections=3).start()
    yield plane
    plane.stop()


def test_connections_over_the_limit_are_closed_and_counted(small_plane):
    held = [socket.create_connection(("127.0.0.1", small_plane.port), timeout=WAIT) for _ in range(3)]
    wait_until(lambda: small_plane.open_connections == 3, what="three connections held")
    extra = [socket.create_connection(("127.0.0.1", small_plane.port), timeout=WAIT) for _ in range(2)]
    for sock in extra:
        assert _closed(sock)
    assert small_plane.health()["refusedOverLimit"] == 2
    for sock in held + extra:
        sock.close()
    wait_until(lambda: small_plane.open_connections == 0, what="the held connections released")
    assert small_plane.health()["running"] is True


def test_a_device_registered_among_many_at_once_connects(plane):
    """Over 50 new certificates are trusted on a worker thread (service.INLINE_CERTIFICATES): the path still works."""
    plane.iot.create_policy(policyName="fleet", policyDocument=policy(allow("iot:Connect")))
    issued = [certs.issue(f"bulk-{i}") for i in range(120)]
    control(plane.endpoint, "POST", "/_sandbox/iot/bulk-register", {"devices": [
        {"thingName": f"bulk-{i}", "certificatePem": c.pem, "policyNames": ["fleet"]} for i, c in enumerate(issued)]})
    last = issued[-1]
    cert_file = certs.write_text(plane.registry.folder / "bulk.cert.pem", last.pem)
    key_file = certs.write_private_key(plane.registry.folder / "bulk.private.key", last.key)
    assert plane.client(Device("", "", cert_file, key_file), "bulk-119").connect() == ACCEPTED
