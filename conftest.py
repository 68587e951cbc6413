"""Root pytest configuration: one sandbox endpoint for the whole run, set up before any notebook kernel starts.

nbval starts each notebook's kernel during collection, before fixtures run, so the endpoint and the environment
are prepared in ``pytest_configure``. The sandbox runs in its own process so that in-process ``mock_aws()`` unit tests
cannot wipe the state the notebooks build.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parent
_server: subprocess.Popen | None = None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(endpoint: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the sandbox exited with code {proc.returncode} before answering")
        try:
            urllib.request.urlopen(f"{endpoint}/_sandbox/health", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the sandbox did not answer at {endpoint} within {timeout} s")


def pytest_configure(config) -> None:  # noqa: ANN001
    global _server
    if os.environ.get("WORKSHOP_TARGET", "sandbox").strip().lower() in ("aws", "rehearsal"):
        return  # a real account, or make rehearse's own stack and credentials
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    log = open(artifacts / "sandbox.log", "w")  # noqa: SIM115 - kept open for the server's lifetime
    _server = subprocess.Popen([sys.executable, "-m", "helpers.sandbox", "serve", "--port", str(port),
                                "--mqtt-port", "0"],
                               stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    _wait_ready(endpoint, _server)
    os.environ.update({
        "WORKSHOP_TARGET": "sandbox",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
        "MPLBACKEND": "Agg",
    })
    # 05-automate-at-scale builds 5,000 devices for attendees; the test run proves the same flow on 300
    os.environ.setdefault("WORKSHOP_FLEET_SIZE", "300")
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        os.environ.pop(var, None)


def pytest_unconfigure(config) -> None:  # noqa: ANN001
    if _server is not None:
        _server.terminate()
        try:
            _server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _server.kill()


def pytest_collection_modifyitems(session, config, items) -> None:  # noqa: ANN001
    """Start the notebooks-under-faults run in the background when its tests are selected, and run them last."""
    late = [item for item in items if item.nodeid.startswith("tests/test_notebooks_under_faults.py")]
    if not late:
        return
    from tests.notebook_fault_run import RUN

    RUN.start()
    items[:] = [item for item in items if item not in late] + late
