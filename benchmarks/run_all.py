"""One command for the scale measurements (`make bench`): fleet seeding, audit and findings table at 1k and 10k
devices with the growth ratio, a mitigation task over 1,000 findings, the check functions alone, the Module 2 flow under
throttling, the MQTT data plane (1,000 devices connected), and the notebook suite, with the machine and peak memory. Measurements, not tests: nothing here asserts.

Run: .venv/bin/python benchmarks/run_all.py
"""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(title: str, args: list[str]) -> float:
    """Run a benchmark script (or pytest) and return its wall-clock seconds; its output is shown as it runs."""
    print(f"\n## {title}\n$ {' '.join(args)}", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=ROOT, check=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}")
    run("fleet: seed, audit (all 17 checks), findings table at 1k and 10k devices",
        ["benchmarks/bench_fleet.py", "--devices", "1000", "10000", "--audit", "--findings-table"])
    run("bulk seeding and audit of plain devices", ["benchmarks/bench_audit.py"])
    run("mitigation task over 1,000 findings", ["benchmarks/bench_mitigation.py"])
    run("check functions alone", ["benchmarks/bench_checks.py"])
    run("the Module 2 flow under 0%, 10% and 20% throttling", ["benchmarks/bench_faults.py"])
    run("MQTT data plane: 1,000 devices connected, connect rate, publish-to-receive latency, memory",
        ["benchmarks/bench_dataplane.py"])
    seconds = run("notebook suite (nbval, sandbox, fleet of 300 in 05)", ["-m", "pytest", "notebooks", "-q", "-p",
                                                                            "no:randomly"])
    print(f"# notebook suite: {seconds:.0f} s wall clock (including the sandbox start)")
