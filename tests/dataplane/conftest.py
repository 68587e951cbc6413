"""Fixtures: the session's served sandbox (API and MQTT broker on 127.0.0.1), reset per test, and device makers."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from .clients import Client, Device, Registry, control


@pytest.fixture
def plane(sandbox: SimpleNamespace, tmp_path: Path) -> Iterator[SimpleNamespace]:
    """The data endpoint of a freshly reset sandbox, a device registry, and a client maker that closes its clients."""
    endpoint = control(sandbox.endpoint, "GET", "/_sandbox/iot/data-endpoint")
    ca_file = tmp_path / "sandbox-root-ca.pem"
    ca_file.write_text(endpoint["rootCaPem"])
    clients: list[Client] = []

    def client(device: Device, client_id: str, clean_session: bool = True, **options: Any) -> Client:
        made = Client(endpoint["host"], endpoint["port"], ca_file, device, client_id, clean_session, **options)
        clients.append(made)
        return made

    def sessions() -> dict[str, Any]:
        return control(sandbox.endpoint, "GET", "/_sandbox/iot/sessions")

    yield SimpleNamespace(host=endpoint["host"], port=endpoint["port"], ca_file=ca_file, iot=sandbox.iot,
                          endpoint=sandbox.endpoint, registry=Registry(sandbox.iot, tmp_path), client=client,
                          sessions=sessions, sandbox=sandbox)
    for made in clients:
        made.close()
