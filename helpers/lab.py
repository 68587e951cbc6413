"""``python -m helpers.lab``: start the sandbox (unless WORKSHOP_TARGET=aws), then JupyterLab pointed at it.

Stopping JupyterLab (Ctrl-C) stops the sandbox too. ``make lab`` calls this after installing.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _answers(endpoint: str) -> bool:
    try:
        urllib.request.urlopen(f"{endpoint}/_sandbox/health", timeout=1).close()
        return True
    except OSError:
        return False


def start_sandbox(port: int, timeout: float = 60, mqtt_port: int = 8883) -> tuple[subprocess.Popen | None, str]:
    """Start the sandbox on 127.0.0.1:``port`` with its MQTT broker on ``mqtt_port`` (or reuse one already there);
    return (process or None, endpoint)."""
    endpoint = f"http://127.0.0.1:{port}"
    if _answers(endpoint):
        print(f"Reusing the sandbox already running at {endpoint}.")
        return None, endpoint
    proc = subprocess.Popen([sys.executable, "-m", "helpers.sandbox", "serve", "--port", str(port),
                             "--mqtt-port", str(mqtt_port)], cwd=ROOT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"The sandbox could not start on port {port} (see above). "
                             "Free the ports or run `make lab SANDBOX_PORT=5055 MQTT_PORT=0`.")
        if _answers(endpoint):
            return proc, endpoint
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"The sandbox did not answer at {endpoint} within {timeout:.0f} s.")


def main(argv: list[str] | None = None) -> int:
    """Run the workshop: sandbox + JupyterLab; return JupyterLab's exit code."""
    parser = argparse.ArgumentParser(prog="python -m helpers.lab", description=__doc__)
    parser.add_argument("--sandbox-port", type=int, default=int(os.environ.get("SANDBOX_PORT", "5000")))
    parser.add_argument("--mqtt-port", type=int, default=int(os.environ.get("MQTT_PORT", "8883")),
                        help="the sandbox's MQTT data plane port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--lab-port", type=int, default=int(os.environ.get("LAB_PORT", "8888")))
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser (headless machines)")
    args, lab_args = parser.parse_known_args(argv)

    target = os.environ.get("WORKSHOP_TARGET", "sandbox").strip().lower() or "sandbox"
    env = dict(os.environ, WORKSHOP_TARGET=target)
    sandbox = None
    if target == "sandbox":
        sandbox, endpoint = start_sandbox(args.sandbox_port, mqtt_port=args.mqtt_port)
        env["AWS_ENDPOINT_URL"] = endpoint
        print(f"SANDBOX target: notebooks and terminals use {endpoint}. "
              f"Try: aws --endpoint-url {endpoint} iot list-things")
    else:
        env.pop("AWS_ENDPOINT_URL", None)
        print("REAL AWS target: notebooks use your AWS credentials. Audits are billed; mitigations change devices.")

    cmd = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={ROOT}", "--ip=127.0.0.1",
           f"--port={args.lab_port}", "notebooks/00-start-here.ipynb" if not lab_args else "", *lab_args]
    cmd = [c for c in cmd if c]
    if args.no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    lab = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        return lab.wait()
    except KeyboardInterrupt:
        lab.send_signal(signal.SIGINT)
        try:
            return lab.wait(timeout=15)
        except subprocess.TimeoutExpired:
            lab.kill()
            return 130
    finally:
        if sandbox is not None:
            sandbox.terminate()
            try:
                sandbox.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sandbox.kill()
            print("Sandbox stopped.")


if __name__ == "__main__":
    sys.exit(main())
