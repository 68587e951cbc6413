"""A self-contained report of one audit, in HTML or Markdown, its charts embedded as ``data:`` URIs (it opens
offline and can be mailed or attached to a ticket): ``iot-audit report`` writes it."""
from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from . import audits, findings, plots, target
from .errors import WorkshopError

FORMATS = ("html", "md")


@dataclass
class ReportData:
    """What a report shows: the audit, its tables and its charts (base64 PNG)."""

    task_id: str
    description: dict[str, Any]
    where: str
    results: pd.DataFrame
    non_compliant: pd.DataFrame
    findings: pd.DataFrame
    charts: list[tuple[str, str]]


def _png(fig: Any) -> str:
    """Return a matplotlib Figure as a base64 PNG string."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _markdown_table(frame: pd.DataFrame) -> str:
    """Return ``frame`` as a GitHub-flavoured Markdown table."""
    if frame.empty:
        return "_(none)_"

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def report_data(task_id: str) -> ReportData:
    """Return the tables and charts of audit ``task_id``.

    AWS operations:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html).
    """
    description = audits.describe_audit(task_id)
    where = f"{target.get_target()} · {target.get_region()}"
    found = findings.list_findings(task_id)[["check", "severity", "resource type", "resource id", "reason"]]
    charts = []
    for title, make in (("Findings by check", lambda: plots.plot_findings_by_check(task_id)),
                        ("Fleet compliance per check", lambda: plots.plot_fleet_compliance(task_id)),
                        ("Audit history (30 days)", lambda: plots.plot_audit_history())):
        charts.append((title, _png(make())))
    return ReportData(task_id, description, where, audits.audit_results(task_id)
                      [["check", "title", "severity", "status", "resources", "non-compliant"]],
                      findings.non_compliant_checks(task_id), found, charts)


def render_html(data: ReportData) -> str:
    """Return a self-contained HTML report (charts embedded as data: URIs)."""
    d = data.description
    stats = d.get("taskStatistics", {})

    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, escape=True, border=0, classes="t") if not frame.empty else "<p>(none)</p>"

    charts = "".join(f"<h3>{html.escape(t)}</h3><img alt='{html.escape(t)}' src='data:image/png;base64,{png}'>"
                     for t, png in data.charts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Device Defender audit {html.escape(data.task_id)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}
table.t{{border-collapse:collapse;margin:0.5em 0 1.5em}} table.t td,table.t th{{border:1px solid #ccc;padding:3px 8px;
text-align:left}} img{{max-width:100%}}</style></head><body>
<h1>AWS IoT Device Defender audit report</h1>
<p>Audit <b>{html.escape(data.task_id)}</b> · {html.escape(str(d.get('taskStatus')))} · started
{html.escape(str(d.get('taskStartTime')))} · target {html.escape(data.where)} · generated
{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC</p>
<p>{stats.get('totalChecks', 0)} checks: {stats.get('nonCompliantChecks', 0)} non-compliant,
{stats.get('compliantChecks', 0)} compliant, {stats.get('failedChecks', 0)} failed.</p>
<h2>Non-compliant checks</h2>{table(data.non_compliant)}
<h2>Charts</h2>{charts}
<h2>All checks</h2>{table(data.results)}
<h2>Findings ({len(data.findings)})</h2>{table(data.findings)}
</body></html>
"""


def render_markdown(data: ReportData) -> str:
    """Return a self-contained Markdown report (charts embedded as data: URIs)."""
    d = data.description
    stats = d.get("taskStatistics", {})
    charts = "\n\n".join(f"### {t}\n\n![{t}](data:image/png;base64,{png})" for t, png in data.charts)
    return (f"# AWS IoT Device Defender audit report\n\n"
            f"Audit **{data.task_id}** · {d.get('taskStatus')} · started {d.get('taskStartTime')} · target "
            f"{data.where} · generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
            f"{stats.get('totalChecks', 0)} checks: {stats.get('nonCompliantChecks', 0)} non-compliant, "
            f"{stats.get('compliantChecks', 0)} compliant, {stats.get('failedChecks', 0)} failed.\n\n"
            f"## Non-compliant checks\n\n{_markdown_table(data.non_compliant)}\n\n## Charts\n\n{charts}\n\n"
            f"## All checks\n\n{_markdown_table(data.results)}\n\n"
            f"## Findings ({len(data.findings)})\n\n{_markdown_table(data.findings)}\n")


def report_format(out: Path, fmt: str | None = None) -> str:
    """Return "md" or "html": ``fmt`` when given, otherwise what the suffix of ``out`` implies (.md/.markdown)."""
    if fmt is not None and fmt not in FORMATS:
        raise WorkshopError(f"{fmt!r} is not a report format.", f"Use one of: {', '.join(FORMATS)}.")
    return fmt or ("md" if out.suffix.lower() in (".md", ".markdown") else "html")


def write_report(out: Path, task_id: str | None = None, fmt: str | None = None) -> ReportData:
    """Write the report of audit ``task_id`` (default: the latest completed on-demand audit) to ``out`` in ``fmt``
    (default: by suffix); return what it shows.

    AWS operations:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html).
    """
    kind = report_format(out, fmt)
    if not out.parent.exists():
        raise WorkshopError(f"The folder {out.parent} does not exist.",
                            "Create it, or choose a file in an existing folder.")
    data = report_data(task_id or audits.latest_on_demand_audit())
    out.write_text(render_markdown(data) if kind == "md" else render_html(data), encoding="utf-8")
    return data
