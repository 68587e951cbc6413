"""Fixtures: an in-process sandbox endpoint, reset before every test that asks for it."""
from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from helpers import target
from helpers.sandbox import SandboxServer


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer("127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """A freshly reset sandbox that helpers.target points at; ``.iot`` etc. are clients for it."""
    for method, path in (("POST", "/moto-api/reset"), ("DELETE", "/_sandbox/faults")):  # faults outlive a reset
        urllib.request.urlopen(urllib.request.Request(f"{sandbox_server.endpoint}{path}", data=b"", method=method)).close()
    monkeypatch.setenv("WORKSHOP_TARGET", "sandbox")
    monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox_server.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    target.clear_client_cache()
    yield SimpleNamespace(endpoint=sandbox_server.endpoint, iot=target.client("iot"), client=target.client,
                          region="us-east-1", account=target.SANDBOX_ACCOUNT)
    target.clear_client_cache()
