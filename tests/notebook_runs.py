"""Running notebooks outside nbval: a sandbox process of their own, and one notebook executed with nbclient (used by
the notebooks-under-faults run and the re-run test)."""
from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from helpers.lab import start_sandbox, stop_process
from helpers.workshop import NOTEBOOKS_DIR

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def control(endpoint: str, method: str, path: str, body: dict | None = None) -> Any:
    """Return the JSON answer of a sandbox control (or of ``/moto-api/reset``)."""
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}{path}", data=data, method=method), timeout=10) as r:
        return json.loads(r.read() or b"null")


@contextmanager
def sandbox_process(log_name: str) -> Iterator[str]:
    """Yield the endpoint of a sandbox started with ``python -m helpers.sandbox serve`` (its output in
    test-artifacts/``log_name``), stopped afterwards."""
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / log_name, "w") as log:
        server, endpoint = start_sandbox(port, mqtt_port=0, log=log)
        try:
            yield endpoint
        finally:
            if server is not None:
                stop_process(server, "The sandbox", timeout=10)


def execute_notebook(name: str, env: dict[str, str]) -> tuple[nbformat.NotebookNode, str | None]:
    """Return notebook ``name`` executed in a fresh kernel with ``env`` (working directory notebooks/), and the error
    that stopped it (None when every cell ran)."""
    nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
    try:
        client.execute(env=env)
    except Exception as exc:  # reported by the caller, with the notebook
        return nb, f"{type(exc).__name__}: {str(exc)[-2000:]}"
    return nb, None
