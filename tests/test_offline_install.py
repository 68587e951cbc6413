"""The offline route for events, end to end: build the wheelhouse (``make wheelhouse``), install it into a fresh
virtual environment with the network denied (``--no-index``, no pip configuration, an index that does not exist),
then start the lab headless from that environment (``python -m helpers.lab --no-browser``: sandbox and JupyterLab)
and run notebooks/00-start-here.ipynb in a kernel of that environment against the lab's sandbox.

Slow (minutes: it installs about 160 packages), so it runs only under ``make test-offline`` (WORKSHOP_OFFLINE_TEST=1),
which prints the install time and size it measured; the README quotes them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.lab_runs import start_lab, stop_lab
from tests.notebook_runs import ARTIFACTS, ROOT

pytestmark = pytest.mark.skipif(not os.environ.get("WORKSHOP_OFFLINE_TEST"),
                                reason="slow: run with `make test-offline`")

RUN_00 = """
import sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
print("cells run:", sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count")))
"""


def offline_env(**extra: str) -> dict[str, str]:
    """Return this environment without pip's configuration and with an index that cannot answer."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "AWS_", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_NO_INPUT="1", **extra)
    return env


def folder_size(path: Path) -> int:
    """Return the bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def test_install_from_the_wheelhouse_without_network_then_run_00(tmp_path: Path):
    wheelhouse = tmp_path / "wheelhouse"
    subprocess.run([sys.executable, "tools/wheelhouse.py", "--dest", str(wheelhouse), "--no-archive"], cwd=ROOT,
                   check=True, timeout=1800)
    names = {w.name.split("-")[0].lower() for w in wheelhouse.glob("*.whl")}
    assert {"iot_audit_workshop", "jupyterlab", "moto", "awscli", "setuptools", "pip"} <= names

    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    env = offline_env()
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
    for args in (["--upgrade", "pip"], ["-e", "."]):
        done = subprocess.run([str(python), "tools/install.py", "--offline", "--wheelhouse", str(wheelhouse), *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stderr[-3000:]
    seconds = time.monotonic() - started
    check = subprocess.run([str(python), "-c", "from helpers.envcheck import environment_ok as ok; print(ok())"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert check.stdout.strip() == "True", check.stderr

    # the lab from the new environment, headless, then 00 in a kernel of that environment against the lab's sandbox
    lab = start_lab(str(python), tmp_path / "state", offline_env(WORKSHOP_TARGET="sandbox"))
    try:
        with urllib.request.urlopen(f"{lab.base}/api/status?token={lab.token}", timeout=30) as resp:
            assert resp.status == 200
        kernel_env = offline_env(WORKSHOP_TARGET="sandbox", AWS_ENDPOINT_URL=f"http://127.0.0.1:{lab.sandbox_port}",
                                 AWS_DEFAULT_REGION="us-east-1", WORKSHOP_STATE_DIR=str(tmp_path / "state"))
        run = subprocess.run([str(python), "-c", RUN_00, str(ROOT / "notebooks" / "00-start-here.ipynb"),
                              str(ROOT / "notebooks")], cwd=ROOT, env=kernel_env, capture_output=True, text=True,
                             timeout=600)
    finally:
        stop_lab(lab.proc)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "cells run:" in run.stdout

    measured = {"packages": len(list(wheelhouse.glob("*.whl"))), "wheelhouse_mib": folder_size(wheelhouse) / 2**20,
                "install_seconds": round(seconds), "installed_mib": folder_size(venv) / 2**20}
    (ARTIFACTS / "offline-install.json").write_text(json.dumps(measured, indent=1))
    print(f"\noffline install: {measured['packages']} wheels ({measured['wheelhouse_mib']:.0f} MiB) installed in "
          f"{measured['install_seconds']} s to {measured['installed_mib']:.0f} MiB; 00-start-here ran")
