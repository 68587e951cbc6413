"""Make the pictures in images/ from real runs: charts from an audit of the Module 1 environment in a sandbox, and
the mitigation launcher as the browser test saw it (run `make images`, which runs the browser test first).

Run: .venv/bin/python tools/make_images.py
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
IMAGES = ROOT / "images"


def charts() -> list[Path]:
    """Audit the Module 1 environment and a small fleet in an in-process sandbox; save the charts; return paths."""
    import os

    from helpers.sandbox import SandboxServer

    server = SandboxServer(port=0).start()
    os.environ.update(WORKSHOP_TARGET="sandbox", AWS_ENDPOINT_URL=server.endpoint, AWS_DEFAULT_REGION="us-east-1")
    from helpers import audits, fleet, plots

    fleet.build_workshop_environment()
    task = audits.run_on_demand_audit(progress=None, poll_interval=0.2)["taskId"]
    out = [IMAGES / "findings-by-check.png", IMAGES / "fleet-compliance.png"]
    plots.plot_findings_by_check(task).savefig(out[0], dpi=100, bbox_inches="tight")
    plots.plot_fleet_compliance(task).savefig(out[1], dpi=100, bbox_inches="tight")
    server.stop()
    return out


def screenshots() -> list[Path]:
    """Copy the browser test's screenshots of the mitigation launcher into images/; return the paths copied."""
    copied = []
    for name, target in (("04-launcher.png", "mitigation-launcher.png"),):
        source = ROOT / "test-artifacts" / "browser" / name
        if source.exists():
            shutil.copy(source, IMAGES / target)
            copied.append(IMAGES / target)
        else:
            print(f"missing {source}: run the browser test first (make images does)", file=sys.stderr)
    return copied


if __name__ == "__main__":
    IMAGES.mkdir(exist_ok=True)
    for path in charts() + screenshots():
        print("wrote", path.relative_to(ROOT))
