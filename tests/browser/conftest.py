"""A real JupyterLab on 127.0.0.1 with a token, and headless Chromium from Debian driven by Playwright.

No browser is downloaded: Playwright launches /usr/bin/chromium (the `chromium` Debian package, installed by
.ci/run). Screenshots go to test-artifacts/browser/ (git-ignored).

JupyterLab serves a copy of notebooks/ in a temporary folder, with its own state folder (``WORKSHOP_STATE_DIR``), so
saving (or autosaving) a notebook with its outputs never touches the committed notebooks or the repository's
.workshop/. The kernels import ``helpers`` from the editable install, as in a workshop.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import lab as make_lab

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Start JupyterLab on a copy of notebooks/ with the session's sandbox in its environment; yield base URL, token
    and the served folder (``root``)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")
    served = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", served / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port, token = _free_port(), secrets.token_hex(16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "jupyterlab.log", "w")  # noqa: SIM115 - closed at teardown
    # as make lab starts it (kernels over ipc, started with `needs` and %%calls defined), served from the copy
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--port-retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={served}",
           f"--LabApp.workspaces_dir={tmp_path_factory.mktemp('workspaces')}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *make_lab.kernel_transport_args()]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    env = make_lab.kernel_environment({**os.environ, "WORKSHOP_STATE_DIR": str(served / ".workshop")})
    proc = subprocess.Popen(cmd, cwd=served, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}: see {ARTIFACTS / 'jupyterlab.log'}")
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.terminate()
                raise RuntimeError("JupyterLab did not answer within 90 s") from None
            time.sleep(0.5)
    yield {"base": base, "token": token, "root": str(served)}
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium through Playwright (no browser download)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201 - pytest's hook signature
    """Keep each phase's report on the test item (``item.rep_call``), so a fixture can screenshot a failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
