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


def architecture() -> Path:
    """Draw the sandbox-versus-AWS architecture from the layout in DESIGN.md; return the image's path."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig = Figure(figsize=(12, 5.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 12)
    ax.set_ylim(0, 5.2)
    ax.axis("off")

    def box(x: float, y: float, w: float, h: float, text: str, colour: str) -> None:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", facecolor=colour, edgecolor="black"))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=12)

    def arrow(x1: float, y1: float, x2: float, y2: float, label: str = "", at: tuple[float, float] = (0, 0)) -> None:
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-|>", mutation_scale=18, linewidth=1.5))
        if label:
            ax.text(at[0], at[1], label, fontsize=10, va="center")

    box(0.3, 3.9, 2.6, 0.9, "notebooks\n00-start-here … 99-cleanup", "#F0F0F0")
    box(0.3, 2.3, 2.6, 1.0, "helpers\nsettings · audits · findings\nmitigation · fleet · widgets", "#F0F0F0")
    box(0.3, 0.8, 2.6, 0.9, "helpers.target\nboto3 clients (same calls)", "#F0F0F0")
    arrow(1.6, 3.9, 1.6, 3.3)
    arrow(1.6, 2.3, 1.6, 1.7)
    box(4.2, 2.9, 3.6, 1.9, "SANDBOX (default) — 127.0.0.1\nmoto: IoT, IAM, SNS, SQS, Cognito\n+ local Device Defender "
        "(17 checks,\ntasks, findings, mitigation actions)\n+ local IoT Core data plane: MQTT\nbroker, "
        "mutual TLS, IoT policies", "#CCE5D8")
    box(4.2, 0.3, 3.6, 1.9, "REAL AWS ACCOUNT\nAWS IoT Core +\nDevice Defender Audit\n(billed; changes real devices)",
        "#F6D1C1")
    arrow(2.9, 1.4, 4.2, 3.6, "WORKSHOP_TARGET=sandbox\nAWS_ENDPOINT_URL", at=(3.0, 2.15))
    arrow(2.9, 1.0, 4.2, 1.0, "WORKSHOP_TARGET=aws\nyour profile", at=(2.95, 0.55))
    box(8.8, 3.3, 2.9, 1.2, "/_sandbox/ controls\nconnections · CRLs · clock\nbulk register", "#E8F1FA")
    box(8.8, 0.8, 2.9, 1.2, "devices over MQTT\n(mutual TLS; DescribeEndpoint\niot:Data-ATS names the broker)",
        "#E8F1FA")
    arrow(8.8, 3.9, 7.8, 3.9)
    arrow(8.8, 1.4, 7.8, 1.4)
    arrow(9.3, 2.0, 7.8, 3.1)
    out = IMAGES / "architecture.png"
    fig.savefig(out, dpi=100)
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
    for path in [architecture(), *charts(), *screenshots()]:
        print("wrote", path.relative_to(ROOT))
