"""The second notebook run, against a sandbox that throttles one call in five, started in the background as soon as
collection selects tests/test_notebooks_under_faults.py (root conftest): it spends most of its time in botocore's
back-off sleeps, so it overlaps the rest of the suite instead of adding minutes to it.
"""
from __future__ import annotations

import os
import tempfile
import threading
from typing import Any

import nbformat

from helpers.workshop import NOTEBOOKS
from tests.notebook_runs import ARTIFACTS, ROOT, control, execute_notebook, sandbox_process

__all__ = ["ARTIFACTS", "ROOT", "RUN", "run_notebooks_under_faults"]

THROTTLE = {"throttleRate": 0.2, "seed": 2026}
# Faults are about resilience, not scale: nbval's run covers 05 at 300 devices; 40 keep this run's clean-up short.
FLEET_SIZE = "40"


def run_notebooks_under_faults(base_env: dict[str, str]) -> dict[str, Any]:
    """Run every notebook in order against a fresh throttling sandbox; return the executed notebooks, the errors per
    notebook, the faults injected and the operations the sandbox answered."""
    out_dir = ARTIFACTS / "executed-under-faults"
    out_dir.mkdir(parents=True, exist_ok=True)
    with sandbox_process("sandbox-under-faults.log") as endpoint, tempfile.TemporaryDirectory() as state_dir:
        control(endpoint, "POST", "/_sandbox/faults", THROTTLE)
        control(endpoint, "DELETE", "/_sandbox/operations")
        env = {**base_env, "WORKSHOP_TARGET": "sandbox", "AWS_ENDPOINT_URL": endpoint,
               "WORKSHOP_STATE_DIR": state_dir, "WORKSHOP_FLEET_SIZE": FLEET_SIZE, "MPLBACKEND": "Agg"}
        executed, errors = {}, {}
        for name, *_ in NOTEBOOKS:
            nb, error = execute_notebook(name, env)
            if error:
                errors[name] = error
            nbformat.write(nb, out_dir / name)
            executed[name] = nb
        return {"notebooks": executed, "errors": errors, "faults": control(endpoint, "GET", "/_sandbox/faults"),
                "operations": control(endpoint, "GET", "/_sandbox/operations")["operations"]}


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
