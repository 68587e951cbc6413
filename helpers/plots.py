"""Charts for a projector: findings by check and severity, fleet compliance per check, audit history over time, and
before/after a mitigation. Each function returns a matplotlib Figure (shown when it is a cell's last expression, or
saved with ``fig.savefig(...)``); large fonts, Okabe-Ito colours that survive colour-blindness and greyscale.

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so they are not shown twice in a notebook and do
not pile up in pyplot's global state.
"""
from __future__ import annotations

from typing import Any

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .audits import audit_history, describe_audit
from .checks import describe_check
from .findings import list_findings
from .spec.checks import SEVERITIES
from .tables import NEUTRAL_COLOUR, OK_COLOUR, SEVERITY_COLOURS, severity_rank

__all__ = ["PROJECTOR_STYLE", "BEFORE_COLOUR", "AFTER_COLOUR", "plot_findings_by_check", "plot_fleet_compliance",
           "plot_audit_history", "plot_before_after"]

PROJECTOR_STYLE: dict[str, Any] = {
    "font.size": 15, "axes.titlesize": 19, "axes.titleweight": "bold", "axes.labelsize": 16, "xtick.labelsize": 14,
    "ytick.labelsize": 14, "legend.fontsize": 14, "axes.spines.top": False, "axes.spines.right": False,
    "hatch.linewidth": 1.5,
}
BEFORE_COLOUR = "#E69F00"  # Okabe-Ito orange
AFTER_COLOUR = "#0072B2"  # Okabe-Ito blue
EDGE = "black"


_display_ready = False


def _enable_notebook_display() -> None:
    """In a Jupyter kernel, make returned Figures show as PNG (pyplot would do this, but these skip pyplot)."""
    global _display_ready
    if _display_ready:
        return
    _display_ready = True
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:  # pragma: no cover - IPython comes with jupyterlab
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        select_figure_formats(shell, {"png"}, dpi=100)


def _short(task_id: str) -> str:
    return task_id if len(task_id) <= 12 else f"{task_id[:8]}…"


def _figure(rows: float, width: float = 12.0) -> Figure:
    _enable_notebook_display()
    return Figure(figsize=(width, max(3.5, 1.6 + 0.65 * rows)), layout="constrained")


def _empty(fig: Figure, title: str, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=18, transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def _severity_legend(fig: Figure, severities: list[str]) -> None:
    present = [s for s in SEVERITIES if s in severities]
    fig.legend(handles=[Patch(facecolor=SEVERITY_COLOURS[s], edgecolor=EDGE, label=s) for s in present],
               title="severity", loc="outside right upper", frameon=False)


def plot_findings_by_check(task_id: str | None = None, *, findings: pd.DataFrame | None = None,
                           include_suppressed: bool = False) -> Figure:
    """Return a bar chart of an audit's findings per check, coloured by severity (most severe at the top).

    AWS operation:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    frame = findings if findings is not None else list_findings(task_id)
    if not include_suppressed and "suppressed" in frame.columns:
        frame = frame[~frame["suppressed"].astype(bool)]
    title = "Findings by check" + (f" — audit {_short(task_id)}" if task_id else "")
    with matplotlib.rc_context(PROJECTOR_STYLE):
        if frame.empty:
            return _empty(_figure(1), title, "No findings: every audited check is compliant ✓")
        counts = (frame.assign(severity=frame["severity"].astype(str))
                  .groupby(["title", "severity"]).size().reset_index(name="findings"))
        counts["rank"] = counts["severity"].map(severity_rank)
        counts = counts.sort_values(["rank", "findings", "title"], ascending=[False, True, False])
        fig = _figure(len(counts))
        ax = fig.add_subplot()
        bars = ax.barh(counts["title"], counts["findings"], color=[SEVERITY_COLOURS[s] for s in counts["severity"]],
                       edgecolor=EDGE)
        ax.bar_label(bars, padding=4, fontsize=15)
        ax.set_xlabel("non-compliant resources (findings)")
        ax.set_title(title)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlim(0, counts["findings"].max() * 1.15 + 0.5)
        _severity_legend(fig, list(counts["severity"]))
    return fig


def plot_fleet_compliance(task_id: str) -> Figure:
    """Return a chart of the % of compliant resources per check of an audit (worst at the top).

    AWS operation:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    details = describe_audit(task_id).get("auditDetails") or {}
    rows = []
    for name, d in details.items():
        total = d.get("totalResourcesCount", 0)
        if not total or not str(d.get("checkRunStatus", "")).startswith("COMPLETED"):
            continue
        bad = max(d.get("nonCompliantResourcesCount", 0) - d.get("suppressedNonCompliantResourcesCount", 0), 0)
        info = describe_check(name)
        rows.append({"title": info.title, "severity": info.severity, "total": total, "bad": bad,
                     "compliant %": 100.0 * (total - bad) / total})
    title = f"Fleet compliance — audit {_short(task_id)}"
    with matplotlib.rc_context(PROJECTOR_STYLE):
        if not rows:
            return _empty(_figure(1), title, "No resources were audited (or no check completed).")
        frame = pd.DataFrame(rows).sort_values(["compliant %", "title"], ascending=[False, False])
        fig = _figure(len(frame))
        ax = fig.add_subplot()
        ax.barh(frame["title"], frame["compliant %"], color=OK_COLOUR, edgecolor=EDGE, label="compliant")
        ax.barh(frame["title"], 100 - frame["compliant %"], left=frame["compliant %"],
                color=[SEVERITY_COLOURS[s] for s in frame["severity"]], edgecolor=EDGE, hatch="//")
        for y, row in enumerate(frame.itertuples(index=False)):
            ax.text(101, y, f"{row.total - row.bad}/{row.total}", va="center", fontsize=14)
        ax.set_xlim(0, 115)
        ax.set_xlabel("% of audited resources compliant")
        ax.set_title(title)
        handles = [Patch(facecolor=OK_COLOUR, edgecolor=EDGE, label="compliant")]
        handles += [Patch(facecolor=SEVERITY_COLOURS[s], edgecolor=EDGE, hatch="//", label=f"non-compliant ({s})")
                    for s in SEVERITIES if s in set(frame.loc[frame["bad"] > 0, "severity"])]
        fig.legend(handles=handles, loc="outside right upper", frameon=False)
    return fig


def plot_audit_history(history: pd.DataFrame | None = None, *, days: float = 30) -> Figure:
    """Return stacked bars of non-compliant resources by severity for each audit over time (oldest on the left).

    AWS operations:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html).
    """
    frame = history if history is not None else audit_history(days=days)
    title = "Audit history: non-compliant resources"
    with matplotlib.rc_context(PROJECTOR_STYLE):
        if frame.empty:
            return _empty(_figure(1), title, f"No audits in the last {days:g} days.")
        frame = frame.sort_values("started").reset_index(drop=True)
        _enable_notebook_display()
        fig = Figure(figsize=(max(10.0, 1.2 * len(frame) + 4), 6), layout="constrained")
        ax = fig.add_subplot()
        bottom = pd.Series(0, index=frame.index, dtype=float)
        for s in reversed(SEVERITIES):  # LOW at the bottom, CRITICAL on top
            values = frame[s].astype(float)
            ax.bar(frame.index, values, bottom=bottom, color=SEVERITY_COLOURS[s], edgecolor=EDGE, label=s, width=0.7)
            bottom += values
        for x, total in zip(frame.index, bottom):
            ax.text(x, total + 0.05 * max(bottom.max(), 1), f"{int(total)}", ha="center", fontsize=14)
        labels = [f"{pd.Timestamp(t):%m-%d %H:%M}\n{k}"
                  for t, k in zip(frame["started"], frame["type"])]
        ax.set_xticks(list(frame.index), labels, rotation=0 if len(frame) <= 6 else 45,
                      ha="center" if len(frame) <= 6 else "right")
        ax.set_ylabel("non-compliant resources")
        ax.set_ylim(0, max(bottom.max(), 1) * 1.2)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(title)
        handles, legend_labels = ax.get_legend_handles_labels()
        fig.legend(handles[::-1], legend_labels[::-1], title="severity", loc="outside right upper", frameon=False)
    return fig


def _non_compliant_counts(task_id: str) -> dict[str, int]:
    details = describe_audit(task_id).get("auditDetails") or {}
    return {name: max(d.get("nonCompliantResourcesCount", 0) - d.get("suppressedNonCompliantResourcesCount", 0), 0)
            for name, d in details.items()}


def plot_before_after(before_task_id: str, after_task_id: str, *,
                      labels: tuple[str, str] = ("before mitigation", "after mitigation")) -> Figure:
    """Return paired bars of non-compliant resources per check in two audits (e.g. before and after mitigating).

    AWS operation:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    before, after = _non_compliant_counts(before_task_id), _non_compliant_counts(after_task_id)
    names = [n for n in set(before) | set(after) if before.get(n, 0) or after.get(n, 0)]
    names.sort(key=lambda n: (severity_rank(describe_check(n).severity), describe_check(n).title), reverse=True)
    title = "Non-compliant resources per check"
    with matplotlib.rc_context(PROJECTOR_STYLE):
        if not names:
            return _empty(_figure(1), title, "Neither audit found a non-compliant resource.")
        fig = _figure(len(names) * 1.4)
        ax = fig.add_subplot()
        ys = range(len(names))
        height = 0.38
        b = ax.barh([y + height / 2 for y in ys], [before.get(n, 0) for n in names], height=height,
                    color=BEFORE_COLOUR, edgecolor=EDGE, label=labels[0])
        a = ax.barh([y - height / 2 for y in ys], [after.get(n, 0) for n in names], height=height,
                    color=AFTER_COLOUR, edgecolor=EDGE, hatch="..", label=labels[1])
        ax.bar_label(b, padding=4, fontsize=14)
        ax.bar_label(a, padding=4, fontsize=14)
        ax.set_yticks(list(ys), [f"{describe_check(n).title}\n[{describe_check(n).severity}]" for n in names])
        for tick, n in zip(ax.get_yticklabels(), names):
            tick.set_color("black")
            tick.set_bbox({"facecolor": SEVERITY_COLOURS.get(describe_check(n).severity, NEUTRAL_COLOUR),
                           "alpha": 0.35, "edgecolor": "none", "pad": 2})
        peak = max(max(before.get(n, 0), after.get(n, 0)) for n in names)
        ax.set_xlim(0, peak * 1.2 + 0.5)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("non-compliant resources")
        ax.set_title(title)
        fig.legend(loc="outside lower center", ncol=2, frameon=False)
    return fig
