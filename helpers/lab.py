"""``python -m helpers.lab``: start the sandbox (unless WORKSHOP_TARGET=aws), then JupyterLab pointed at it, opening
notebooks/00-start-here.ipynb.

The terminal stays short: the sandbox's request log and JupyterLab's own log go to files under ``.workshop/`` (one
line says where; ``--verbose`` shows them here instead), and the URL with its token is the last thing printed.
Kernels talk to JupyterLab over local ipc sockets where the platform has them, so none warns about TCP without
encryption. Stopping JupyterLab (Ctrl-C) stops the sandbox too. ``make lab`` calls this after installing.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import zmq
from jupyter_core.paths import jupyter_runtime_dir

from .state import state_dir
from .target import DEFAULT_REGION, SANDBOX_CREDENTIALS

ROOT = Path(__file__).resolve().parent.parent
START_NOTEBOOK = "notebooks/00-start-here.ipynb"
KERNEL_STARTUP = Path(__file__).resolve().parent / "kernel_startup.py"
DEFAULT_URL = f"/lab/tree/{START_NOTEBOOK}"


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(f"{endpoint}/_sandbox/health", timeout=1).close()
        return True
    except OSError:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    """Return the last ``lines`` lines of the log at ``path`` ("" when there is none)."""
    try:
        return "".join(path.read_text(errors="replace").splitlines(True)[-lines:])
    except OSError:
        return ""


def start_sandbox(port: int, timeout: float = 60, mqtt_port: int = 8883, log: IO[Any] | None = None,
                  env: dict[str, str] | None = None) -> tuple[subprocess.Popen | None, str]:
    """Start the sandbox on 127.0.0.1:``port`` with its MQTT broker on ``mqtt_port`` (or reuse one already there),
    writing its output to ``log`` (None: this terminal), in ``env``; return (process or None, endpoint)."""
    endpoint = f"http://127.0.0.1:{port}"
    if _answers(endpoint):
        print(f"Reusing the sandbox already running at {endpoint}.")
        return None, endpoint
    proc = subprocess.Popen([sys.executable, "-m", "helpers.sandbox", "serve", "--port", str(port),
                             "--mqtt-port", str(mqtt_port)], cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT if log else None, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = _tail(Path(log.name)) if log else ""
            raise SystemExit(f"{said}The sandbox could not start on port {port} (see above). "
                             "Free the ports or run `make lab SANDBOX_PORT=5055 MQTT_PORT=0`.")
        if _answers(endpoint):
            return proc, endpoint
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"The sandbox did not answer at {endpoint} within {timeout:.0f} s.")


def sandbox_environment(endpoint: str, base: dict[str, str]) -> dict[str, str]:
    """Return ``base`` set up for the sandbox: its endpoint, a region, test credentials (never real ones), and this
    environment's scripts (``aws``, ``python``) first on PATH, for notebooks and JupyterLab terminals alike."""
    env = {k: v for k, v in base.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(WORKSHOP_TARGET="sandbox", AWS_ENDPOINT_URL=endpoint,
               AWS_ACCESS_KEY_ID=SANDBOX_CREDENTIALS["aws_access_key_id"],
               AWS_SECRET_ACCESS_KEY=SANDBOX_CREDENTIALS["aws_secret_access_key"])
    if not env.get("AWS_DEFAULT_REGION"):
        env["AWS_DEFAULT_REGION"] = env.get("AWS_REGION") or DEFAULT_REGION
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def aws_cli_hint(env: dict[str, str]) -> str:
    """Return the AWS CLI command that works as printed: in a JupyterLab terminal, and from any other terminal."""
    aws = Path(sys.executable).parent / "aws"
    aws_path = os.path.relpath(aws, ROOT) if aws.is_relative_to(ROOT) else str(aws)
    variables = " ".join(f"{k}={shlex.quote(env[k])}" for k in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
                                                                 "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"))
    return ("  AWS CLI in a JupyterLab terminal:  aws iot list-things\n"
            f"  from any other terminal:  {variables} {aws_path} iot list-things")


def kernel_environment(base: dict[str, str]) -> dict[str, str]:
    """Return ``base`` with :mod:`helpers.kernel_startup` as every kernel's PYTHONSTARTUP (``needs`` defined after a
    restart), unless the user has a startup file of their own."""
    return {**base, "PYTHONSTARTUP": base.get("PYTHONSTARTUP") or str(KERNEL_STARTUP)}


def kernel_transport_args() -> list[str]:
    """Return the JupyterLab options that connect kernels over local ipc sockets where the platform has them."""
    # ipykernel warns "Kernel is running over TCP without encryption" for the tcp transport only; ipc sockets are
    # files in the user's private runtime folder, so nothing travels over the network at all.
    if os.name == "posix" and zmq.has("ipc"):
        return ["--KernelManager.transport=ipc"]
    return []  # other platforms keep tcp on 127.0.0.1 (loopback only)


def lab_command(port: int, no_browser: bool, extra: list[str]) -> list[str]:
    """Return the command starting JupyterLab on 127.0.0.1:``port`` with 00-start-here as its default page."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={ROOT}", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", f"--LabApp.default_url={DEFAULT_URL}", *kernel_transport_args(), *extra]
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    return cmd


def server_info(pid: int) -> dict[str, Any] | None:
    """Return the running-server record JupyterLab process ``pid`` wrote (port, token, ...), or None yet."""
    path = Path(jupyter_runtime_dir()) / f"jpserver-{pid}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def wait_for_lab(proc: subprocess.Popen, log: Path | None, timeout: float = 120) -> str:
    """Return the URL (with token) of 00-start-here once JupyterLab ``proc`` serves; exit, showing its log, if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{_tail(log) if log else ''}JupyterLab stopped (exit code {proc.returncode}); "
                             "see above.")
        info = server_info(proc.pid)
        if info:
            token = f"?token={info['token']}" if info.get("token") else ""
            return f"http://127.0.0.1:{info['port']}{DEFAULT_URL}{token}"
        time.sleep(0.2)
    raise SystemExit(f"JupyterLab did not start within {timeout:.0f} s" + (f"; its log: {log}" if log else "."))


def stop_process(proc: subprocess.Popen, name: str, timeout: float = 15) -> int:
    """Stop ``proc`` (SIGTERM, then kill); return its exit code."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop within {timeout:.0f} s: killed.")
        proc.kill()
        return proc.wait()


def _relative(path: Path) -> str:
    """Return ``path`` relative to the project when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    """Run the workshop: sandbox + JupyterLab; return JupyterLab's exit code."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lab", description=__doc__)
    parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "5000")))
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", "8883")),
                        help="the sandbox's MQTT data plane port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--lab-port", type=int, default=int(os.environ.get("LAB_PORT", "8888")))
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser (headless machines)")
    parser.add_argument("--verbose", action="store_true",
                        help="show the sandbox's request log and JupyterLab's log here instead of in .workshop/")
    args, lab_args = parser.parse_known_args(argv)
    # a plain `kill` (or CI's timeout) must stop JupyterLab and the sandbox too: run the finally below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    logs = state_dir()
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    sandbox_log = None if args.verbose else open(logs / "sandbox.log", "w")  # noqa: SIM115 - lives with the sandbox
    lab_log = None if args.verbose else logs / "jupyterlab.log"
    target = os.environ.get("WORKSHOP_TARGET", "sandbox").strip().lower() or "sandbox"
    env = dict(os.environ, WORKSHOP_TARGET=target)
    sandbox = None
    if target == "sandbox":
        env = sandbox_environment(f"http://127.0.0.1:{args.sandbox_port}", env)  # no real credentials reach it
        sandbox, endpoint = start_sandbox(args.sandbox_port, mqtt_port=args.mqtt_port, log=sandbox_log, env=env)
        print(f"SANDBOX target: notebooks and JupyterLab terminals use {endpoint} "
              f"({env['AWS_DEFAULT_REGION']}, test credentials).\n{aws_cli_hint(env)}")
    else:
        env.pop("AWS_ENDPOINT_URL", None)
        print("REAL AWS target: notebooks use your AWS credentials. Audits are billed; mitigations change devices.")

    out = open(lab_log, "w") if lab_log else None  # noqa: SIM115 - lives with JupyterLab
    lab = subprocess.Popen(lab_command(args.lab_port, args.no_browser, lab_args), cwd=ROOT,
                           env=kernel_environment(env), stdin=subprocess.DEVNULL if out else None, stdout=out,
                           stderr=subprocess.STDOUT if out else None)
    try:
        url = wait_for_lab(lab, lab_log)
        if sandbox_log is not None and lab_log is not None:
            requests = f"{_relative(Path(sandbox_log.name))} (sandbox requests), " if sandbox is not None else ""
            print(f"Logs: {requests}{_relative(lab_log)} (JupyterLab); `make lab LAB_ARGS=--verbose` shows them "
                  "here.")
        print(f"Stop with Ctrl-C. JupyterLab, with 00-start-here open:\n    {url}", flush=True)
        return lab.wait()
    except KeyboardInterrupt:  # Ctrl-C is how the workshop ends: not an error for make
        stop_process(lab, "JupyterLab")
        return 0
    finally:
        stop_process(lab, "JupyterLab")
        if sandbox is not None:
            stop_process(sandbox, "The sandbox", timeout=10)
            print("Sandbox stopped.")
        for f in (sandbox_log, out):
            if f is not None:
                f.close()


if __name__ == "__main__":
    sys.exit(main())
