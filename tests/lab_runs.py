"""Running ``python -m helpers.lab`` (what ``make lab`` runs) headless in a test: start it on free ports in its own
process group, read what it prints up to the URL, stop it and everything it started."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from tests.notebook_runs import ROOT, free_port


@dataclass
class RunningLab:
    """A lab started for a test: what it printed, its URL and token, where its logs are, and its sandbox port."""

    lines: list[str]
    url: str
    token: str
    state_dir: Path
    sandbox_port: int
    proc: subprocess.Popen

    @property
    def base(self) -> str:
        """Return the server's base URL (scheme, host and port)."""
        return self.url.split("/lab/", 1)[0]


def read_until_url(proc: subprocess.Popen, timeout: float) -> list[str]:
    """Return the lines the lab printed up to and including the one with the token; raise after ``timeout`` s or
    when it exits first."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no URL within {timeout} s; printed so far: {seen}") from None
        if line is None:
            raise RuntimeError(f"the lab exited ({proc.wait()}) before printing a URL: {seen}")
        seen.append(line)
        if "token=" in line:
            return seen


def start_lab(python: str, state_dir: Path, env: dict[str, str], timeout: float = 120) -> RunningLab:
    """Return a lab started with ``python -m helpers.lab --no-browser`` on free ports (state and logs in
    ``state_dir``), once it printed its URL."""
    sandbox_port = free_port()
    env = dict(env, WORKSHOP_STATE_DIR=str(state_dir), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([python, "-m", "helpers.lab", "--sandbox-port", str(sandbox_port), "--mqtt-port", "0",
                             "--lab-port", str(free_port()), "--no-browser"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        lines = read_until_url(proc, timeout)
    except Exception:
        stop_lab(proc)
        raise
    url = lines[-1].strip()
    return RunningLab(lines, url, url.split("token=", 1)[1], state_dir, sandbox_port, proc)


def stop_lab(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop the lab and what it started (SIGTERM to its process group, then SIGKILL; nothing when all are gone)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
