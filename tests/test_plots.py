"""helpers.plots: each chart is a returned matplotlib Figure; the tests read its bars, labels, colours and fonts."""
from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from helpers import audits, plots
from helpers.tables import OK_COLOUR, SEVERITY_COLOURS
from tests.test_audits import FAST, build_module1


@pytest.fixture
def audited(sandbox):
    env = build_module1(sandbox)
    env.task_id = audits.run_on_demand_audit(**FAST)["taskId"]
    return env


def bars(ax):
    return [p for p in ax.patches if p.get_width() or p.get_height()]


def tick_texts(labels):
    return [t.get_text() for t in labels]


def assert_projector_ready(fig: Figure) -> None:
    ax = fig.axes[0]
    assert ax.title.get_fontsize() >= 18
    assert all(t.get_fontsize() >= 13 for t in ax.get_yticklabels() + ax.get_xticklabels())
    png = io.BytesIO()
    fig.savefig(png, format="png")
    assert png.getvalue()[:4] == b"\x89PNG"


def synthetic_findings() -> pd.DataFrame:
    rows = [("Device certificate shared", "CRITICAL", False)] * 3 + [("Logging disabled", "LOW", False),
                                                                      ("Conflicting MQTT client IDs", "HIGH", False),
                                                                      ("Conflicting MQTT client IDs", "HIGH", True)]
    return pd.DataFrame(rows, columns=["title", "severity", "suppressed"])


def test_findings_by_check_from_a_frame():
    fig = plots.plot_findings_by_check(findings=synthetic_findings())
    ax = fig.axes[0]
    # most severe at the top: barh draws the first row at the bottom
    assert tick_texts(ax.get_yticklabels()) == ["Logging disabled", "Conflicting MQTT client IDs",
                                                "Device certificate shared"]
    assert [p.get_width() for p in bars(ax)] == [1, 1, 3]  # the suppressed finding is left out
    assert [p.get_facecolor() for p in bars(ax)] == [to_rgba(SEVERITY_COLOURS[s]) for s in ("LOW", "HIGH", "CRITICAL")]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["CRITICAL", "HIGH", "LOW"]
    assert ax.get_title() == "Findings by check"
    assert_projector_ready(fig)
    with_suppressed = plots.plot_findings_by_check(findings=synthetic_findings(), include_suppressed=True)
    assert [p.get_width() for p in bars(with_suppressed.axes[0])] == [1, 2, 3]


def test_findings_by_check_of_an_audit(audited):
    fig = plots.plot_findings_by_check(audited.task_id)
    ax = fig.axes[0]
    assert audited.task_id[:8] in ax.get_title()
    assert tick_texts(ax.get_yticklabels()) == ["Logging disabled", "Device certificate shared",
                                                "AWS IoT policies overly permissive"]
    assert [p.get_width() for p in bars(ax)] == [1, 1, 1]


def test_empty_charts_say_so():
    empty = plots.plot_findings_by_check(findings=synthetic_findings().iloc[0:0])
    assert "every audited check is compliant" in empty.axes[0].texts[0].get_text()
    history = plots.plot_audit_history(pd.DataFrame(columns=audits.HISTORY_COLUMNS))
    assert "No audits" in history.axes[0].texts[0].get_text()


def test_fleet_compliance(audited):
    fig = plots.plot_fleet_compliance(audited.task_id)
    ax = fig.axes[0]
    labels = tick_texts(ax.get_yticklabels())
    # worst at the top (the last label); checks that audited nothing are left out
    assert labels[-3:] == ["Device certificate shared", "AWS IoT policies overly permissive", "Logging disabled"]
    assert len(labels) == 5
    compliant = [p for p in ax.patches if p.get_facecolor() == to_rgba(OK_COLOUR)]
    widths = dict(zip(labels, [p.get_width() for p in compliant]))
    assert widths["Device certificate shared"] == pytest.approx(50.0)  # 1 of 2 certificates shared
    assert widths["AWS IoT policies overly permissive"] == pytest.approx(50.0)  # DevicePolicy, not NarrowPolicy
    assert widths["Logging disabled"] == 0 and widths["Device certificate expiring"] == 100
    texts = [t.get_text() for t in ax.texts]
    assert "1/2" in texts and "0/1" in texts
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["compliant", "non-compliant (CRITICAL)",
                                                                   "non-compliant (LOW)"]
    assert_projector_ready(fig)


def test_audit_history_stacks_severities(audited):
    second = audits.run_on_demand_audit(["LOGGING_DISABLED_CHECK"], **FAST)["taskId"]
    history = audits.audit_history()
    fig = plots.plot_audit_history(history)
    ax = fig.axes[0]
    by_label = {}
    for container, label in zip(ax.containers, [c.get_label() for c in ax.containers]):
        by_label[label] = [p.get_height() for p in container]
    assert set(by_label) == {"LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert by_label["CRITICAL"] == [2, 0] and by_label["LOW"] == [1, 1]  # oldest audit on the left
    assert [t.get_text() for t in ax.texts] == ["3", "1"]
    assert len(ax.get_xticklabels()) == 2 and "on-demand" in ax.get_xticklabels()[0].get_text()
    assert second in set(history["task id"])
    assert_projector_ready(fig)
    assert len(plots.plot_audit_history().axes[0].containers) == 4  # reads the history itself


def test_before_and_after(audited):
    before = audited.task_id
    audited.iot.update_certificate(certificateId=audited.shared, newStatus="INACTIVE")  # what a mitigation does
    after = audits.run_on_demand_audit(**FAST)["taskId"]
    fig = plots.plot_before_after(before, after)
    ax = fig.axes[0]
    labels = tick_texts(ax.get_yticklabels())
    assert labels[-1].startswith("AWS IoT policies overly permissive") and "[CRITICAL]" in labels[-1]
    series = {c.get_label(): [p.get_width() for p in c] for c in ax.containers}
    order = [label.split("\n")[0] for label in labels]
    shared = order.index("Device certificate shared")
    assert series["before mitigation"][shared] == 1 and series["after mitigation"][shared] == 0
    assert series["before mitigation"] == [1, 1, 1] and series["after mitigation"] == [1, 0, 1]
    assert ax.containers[0].patches[0].get_facecolor() == to_rgba(plots.BEFORE_COLOUR)
    assert_projector_ready(fig)
    same = plots.plot_before_after(after, after, labels=("a", "b"))
    assert [t.get_text() for t in same.legends[0].get_texts()] == ["a", "b"]
