"""The second notebook run, against a sandbox that throttles one call in five, started in the background as soon as
collection selects tests/test_notebooks_under_faults.py (root conftest): it spends most of its time in botocore's
back-off sleeps, so it overlaps the rest of the suite instead of adding minutes to it.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

from helpers.workshop import NOTEBOOKS, NOTEBOOKS_DIR

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
THROTTLE = {"throttleRate": 0.2, "seed": 2026}
# Faults are about resilience, not scale: nbval's run covers 05 at 300 devices; 40 keep this run's clean-up short.
FLEET_SIZE = "40"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _control(endpoint: str, method: str, path: str, body: dict | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}{path}", data=data, method=method), timeout=10) as r:
        return json.loads(r.read())


def run_notebooks_under_faults(base_env: dict[str, str]) -> dict[str, Any]:
    """Run every notebook in order against a fresh throttling sandbox; return the executed notebooks, the errors per
    notebook, the faults injected and the operations the sandbox answered."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    out_dir = ARTIFACTS / "executed-under-faults"
    out_dir.mkdir(exist_ok=True)
    with open(ARTIFACTS / "sandbox-under-faults.log", "w") as log, tempfile.TemporaryDirectory() as state_dir:
        server = subprocess.Popen([sys.executable, "-m", "helpers.sandbox", "serve", "--port", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            for _ in range(600):
                try:
                    _control(endpoint, "GET", "/_sandbox/health")
                    break
                except OSError:
                    time.sleep(0.1)
            _control(endpoint, "POST", "/_sandbox/faults", THROTTLE)
            _control(endpoint, "DELETE", "/_sandbox/operations")
            env = {**base_env, "WORKSHOP_TARGET": "sandbox", "AWS_ENDPOINT_URL": endpoint,
                   "WORKSHOP_STATE_DIR": state_dir, "WORKSHOP_FLEET_SIZE": FLEET_SIZE, "MPLBACKEND": "Agg"}
            executed, errors = {}, {}
            for name, *_ in NOTEBOOKS:
                nb = nbformat.read(NOTEBOOKS_DIR / name, as_version=4)
                client = NotebookClient(nb, timeout=300, kernel_name="python3",
                                        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}})
                try:
                    client.execute(env=env)
                except Exception as exc:  # reported per notebook by the test
                    errors[name] = f"{type(exc).__name__}: {str(exc)[-2000:]}"
                nbformat.write(nb, out_dir / name)
                executed[name] = nb
            return {"notebooks": executed, "errors": errors, "faults": _control(endpoint, "GET", "/_sandbox/faults"),
                    "operations": _control(endpoint, "GET", "/_sandbox/operations")["operations"]}
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


class BackgroundRun(threading.Thread):
    """:func:`run_notebooks_under_faults` on a daemon thread; ``result()`` waits for it."""

    def __init__(self) -> None:
        super().__init__(name="notebooks-under-faults", daemon=True)
        self._result: dict[str, Any] | None = None
        self._error: BaseException | None = None
        self._env: dict[str, str] = {}

    def start(self) -> None:
        """Start the run with the environment as it is now (tests monkeypatch os.environ while it runs)."""
        self._env = dict(os.environ)
        super().start()

    def run(self) -> None:
        try:
            self._result = run_notebooks_under_faults(self._env)
        except BaseException as exc:  # handed to the test that waits
            self._error = exc

    def result(self, timeout: float = 1800) -> dict[str, Any]:
        """Return the run's result, waiting for it; re-raise what stopped it."""
        if not self.is_alive() and self._result is None and self._error is None:
            self.start()  # collection did not start it (e.g. the module was run directly)
        self.join(timeout)
        if self._error is not None:
            raise self._error
        if self._result is None:
            raise TimeoutError(f"the notebooks were still running after {timeout} s")
        return self._result


RUN = BackgroundRun()
