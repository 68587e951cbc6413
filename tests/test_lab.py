"""``python -m helpers.lab`` (what ``make lab`` runs), headless: a short terminal ending with the URL and token, the
URL opening 00-start-here, logs in .workshop/, an AWS CLI hint that works as printed, kernels over ipc sockets (no
"TCP without encryption" warning). The lab runs in a subprocess on free ports and is stopped afterwards."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq
from jupyter_client import BlockingKernelClient, find_connection_file

from helpers import lab
from tests.lab_runs import RunningLab, start_lab, stop_lab
from tests.notebook_runs import ROOT

STARTUP_SECONDS = 120


@pytest.fixture(scope="module")
def running_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    env = dict(os.environ, WORKSHOP_TARGET="sandbox", AWS_PROFILE="someone-real")
    env.pop("AWS_ENDPOINT_URL", None)
    lab_run = start_lab(sys.executable, tmp_path_factory.mktemp("lab-state"), env, STARTUP_SECONDS)
    try:
        yield lab_run
    finally:
        stop_lab(lab_run.proc)


def test_the_terminal_is_short_and_ends_with_the_url(running_lab: RunningLab):
    assert len(running_lab.lines) <= 8, running_lab.lines
    assert running_lab.url.startswith("http://127.0.0.1:")
    assert "/lab/tree/notebooks/00-start-here.ipynb?token=" in running_lab.url
    assert not any("HTTP/1.1" in line or "GET /" in line for line in running_lab.lines), "request log in the terminal"


def test_logs_go_to_files_named_in_one_line(running_lab: RunningLab):
    pointer = [line for line in running_lab.lines if line.startswith("Logs:")]
    assert len(pointer) == 1
    for name in ("sandbox.log", "jupyterlab.log"):
        assert (running_lab.state_dir / name).is_file()
        assert name in pointer[0]


def test_the_default_page_is_00_start_here(running_lab: RunningLab):
    base = running_lab.base
    with urllib.request.urlopen(f"{base}/?token={running_lab.token}", timeout=30) as resp:
        assert resp.status == 200
        assert resp.geturl().startswith(f"{base}/lab/tree/notebooks/00-start-here.ipynb")
    with urllib.request.urlopen(f"{base}/api/contents/notebooks/00-start-here.ipynb?content=0&token="
                                f"{running_lab.token}", timeout=30) as resp:
        assert json.loads(resp.read())["type"] == "notebook"


def test_the_aws_cli_hint_works_as_printed(running_lab: RunningLab):
    hint = next(line for line in running_lab.lines if "from any other terminal:" in line)
    command = hint.split("from any other terminal:", 1)[1].strip()
    assert f"AWS_ENDPOINT_URL=http://127.0.0.1:{running_lab.sandbox_port}" in command
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run(command, shell=True, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"things": []}


@pytest.mark.skipif(not (os.name == "posix" and zmq.has("ipc")), reason="ipc sockets are POSIX-only")
def test_kernels_use_ipc_and_do_not_warn_about_tcp(running_lab: RunningLab):
    base = running_lab.base
    request = urllib.request.Request(f"{base}/api/kernels?token={running_lab.token}", data=b'{"name": "python3"}',
                                     method="POST")
    with urllib.request.urlopen(request, timeout=60) as resp:
        kernel_id = json.loads(resp.read())["id"]
    outputs: list[dict] = []
    client = BlockingKernelClient()
    client.load_connection_file(find_connection_file(kernel_id))
    assert client.transport == "ipc"
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("import os; print(os.environ['AWS_ENDPOINT_URL'], os.environ.get("
                                           "'AWS_PROFILE'), callable(needs))", timeout=60,
                                           output_hook=lambda msg: outputs.append(msg))
        # the notebooks' imports cell stays silent although the kernel registered its magics at start
        after_restart: list[dict] = []
        magics = client.execute_interactive("%%calls\nx = 1", timeout=60, output_hook=after_restart.append)
        load = client.execute_interactive("%load_ext helpers.under_the_hood", timeout=60,
                                          output_hook=after_restart.append)
    finally:
        client.stop_channels()
    assert reply["content"]["status"] == "ok"
    printed = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    # never a real profile; needs() callable before any cell imported it (a restarted kernel)
    assert printed.strip() == f"http://127.0.0.1:{running_lab.sandbox_port} None True"
    assert magics["content"]["status"] == "ok" and load["content"]["status"] == "ok"
    assert [m for m in after_restart if m["msg_type"] in ("stream", "error")] == []
    log = (running_lab.state_dir / "jupyterlab.log").read_text()
    assert "Kernel started" in log
    assert "without encryption" not in log


def test_sandbox_environment_uses_test_credentials_only():
    env = lab.sandbox_environment("http://127.0.0.1:1", {"AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "x",
                                                         "AWS_ACCESS_KEY_ID": "AKIAREAL", "PATH": "/usr/bin"})
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["AWS_ACCESS_KEY_ID"] == "testing" and env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    assert lab.sandbox_environment("http://x", {"AWS_REGION": "eu-west-1"})["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_the_lab_command_opens_00_and_binds_loopback():
    cmd = lab.lab_command(8899, True, [])
    assert "--LabApp.default_url=/lab/tree/notebooks/00-start-here.ipynb" in cmd
    assert "--ServerApp.ip=127.0.0.1" in cmd and "--no-browser" in cmd


def test_stopping_the_lab_stops_jupyterlab_and_the_sandbox(tmp_path: Path):
    env = dict(os.environ, WORKSHOP_TARGET="sandbox")
    env.pop("AWS_ENDPOINT_URL", None)
    lab_run = start_lab(sys.executable, tmp_path, env, STARTUP_SECONDS)
    try:
        assert lab._answers(f"http://127.0.0.1:{lab_run.sandbox_port}")
        os.kill(lab_run.proc.pid, signal.SIGTERM)  # the lab alone, as `kill` or CI's timeout would
        assert lab_run.proc.wait(timeout=60) == 143
        assert not lab._answers(f"http://127.0.0.1:{lab_run.sandbox_port}")
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{lab_run.base}/api/status?token={lab_run.token}", timeout=5)
    finally:
        stop_lab(lab_run.proc)
