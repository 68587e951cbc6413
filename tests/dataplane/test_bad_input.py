"""Bad input gets a clean refusal: garbage before CONNECT, an oversized packet, a TLS handshake without a client
certificate, a flood of connects. Afterwards the broker and the API still serve, and no file descriptor or asyncio
task has leaked (counted before and after, with a bounded wait for the counts to settle): the broker's own sockets
(TCP sockets on its port, read from /proc/net/tcp) go back to none, and its event loop's tasks to where they were."""
from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator

import pytest

from .clients import ACCEPTED, WAIT, allow, control, policy, wait_until

EVERYTHING = policy(allow(["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"]))


LISTEN, TIME_WAIT = "0A", "06"


def _broker_sockets(port: int) -> int:
    """Return how many open TCP sockets have the broker's port as their local port (the broker's side)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] not in (LISTEN, TIME_WAIT):
                    count += 1
    return count


@pytest.fixture
def baseline(plane, sandbox_server) -> Iterator[None]:
    """Check after the test that the broker serves, the API answers, and fds and tasks are back to where they were."""
    plane_obj = sandbox_server.dataplane
    tasks = plane_obj.task_count()
    assert _broker_sockets(plane.port) == 0
    yield
    device = plane.registry.create(policy_document=EVERYTHING)
    client = plane.client(device, "still-served")
    assert client.connect() == ACCEPTED
    assert client.subscribe("alive/#") == [1]
    client.close()
    assert control(plane.endpoint, "GET", "/_sandbox/health")["broker"]["running"] is True
    wait_until(lambda: plane_obj.open_connections == 0, what="every connection closed")
    wait_until(lambda: plane_obj.task_count() <= tasks, what=f"the broker's tasks back to {tasks}")
    wait_until(lambda: _broker_sockets(plane.port) == 0, what="the broker's sockets all closed")


def _tls(plane, device=None) -> ssl.SSLSocket:
    """Return a TLS connection to the broker, presenting ``device``'s certificate when given."""
    context = ssl.create_default_context(cafile=str(plane.ca_file))
    if device is not None:
        context.load_cert_chain(str(device.cert_file), str(device.key_file))
    sock = socket.create_connection((plane.host, plane.port), timeout=WAIT)
    return context.wrap_socket(sock, server_hostname=plane.host)


def _closed_by_broker(sock: socket.socket) -> bool:
    """Return True when the broker closes the connection (EOF or a TLS alert) within the wait."""
    try:
        while sock.recv(4096):
            pass
        return True
    except (ssl.SSLError, ConnectionError):
        return True
    except socket.timeout:
        return False


def test_garbage_before_connect_is_refused(plane, baseline):
    device = plane.registry.create(policy_document=EVERYTHING)
    with _tls(plane, device) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + os.urandom(64))
        assert _closed_by_broker(sock)
    with _tls(plane, device) as sock:  # a PUBLISH as first packet
        sock.sendall(bytes([0x30, 0x05, 0x00, 0x01, 0x61, 0x62, 0x63]))
        assert _closed_by_broker(sock)


def test_an_oversized_packet_disconnects(plane, baseline):
    device = plane.registry.create(policy_document=EVERYTHING)
    client = plane.client(device, "big-mouth")
    assert client.connect() == ACCEPTED
    client.publish("big", b"x" * (200 * 1024))
    wait_until(client.disconnected.is_set, what="the disconnect after a 200 KB packet")
    with _tls(plane, device) as sock:  # a header announcing ~256 MB, then nothing: refused before buffering
        sock.sendall(bytes([0x10, 0xFF, 0xFF, 0xFF, 0x7F]))
        assert _closed_by_broker(sock)


def test_a_handshake_without_a_client_certificate_is_refused(plane, baseline):
    try:
        with _tls(plane) as sock:
            sock.sendall(bytes([0x10, 0x00]))
            assert _closed_by_broker(sock)
    except (ssl.SSLError, ConnectionError):
        pass  # refused during the handshake itself (TLS 1.2)
    assert plane.sessions()["live"] == []


def test_a_flood_of_connects_is_absorbed(plane, baseline):
    sockets = [socket.create_connection((plane.host, plane.port), timeout=WAIT) for _ in range(300)]
    for sock in sockets[:100]:
        sock.sendall(b"\x16\x03\x01\x00\x05hello")  # a broken TLS record
    for sock in sockets:
        sock.close()
    device = plane.registry.create(policy_document=EVERYTHING)
    clients = [plane.client(device, f"flood-{i}") for i in range(30)]
    assert [c.connect() for c in clients] == [ACCEPTED] * 30
    for client in clients:
        client.close()
