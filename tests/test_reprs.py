"""Every helper result a notebook shows reads well: an HTML or text form instead of a raw dataclass repr, and wide
tables shown whole (every column, full cells) instead of cut with "…"."""
from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from helpers import settings, tables
from helpers.cleanup import CleanupReport, Item
from helpers.target import Banner
from tests.notebook_runs import ROOT

ROLE = "arn:aws:iam::123456789012:role/IoTMitigationRole"
MANAGED = "AWSIoTDeviceDefenderUpdateDeviceCertMitigationAction"


@pytest.mark.parametrize("report,verdict,needles", [
    (settings.RoleReport(ROLE, exists=True, trusted=True, managed_policies=[MANAGED]), "usable",
     ["✓ exists", "✓ trusted by IoT: trusts iot.amazonaws.com", MANAGED, "✓ required actions allowed: all"]),
    (settings.RoleReport(ROLE, exists=True, trusted=False, missing_actions=["iot:UpdateCertificate"]), "NOT usable",
     ["✗ trusted by IoT: does not trust", "✗ required actions allowed: missing iot:UpdateCertificate"]),
    (settings.RoleReport(ROLE, exists=False), "NOT usable", ["✗ exists: IAM has no such role"]),
    (settings.RoleReport(ROLE, exists=True, problem="IAM refused to describe it (AccessDenied: no)"), "NOT usable",
     ["can be read: IAM refused"]),
])
def test_role_report_reads_as_a_verdict_with_one_line_per_question(report, verdict, needles):
    text = repr(report)
    assert not text.startswith("RoleReport(")
    assert text.splitlines()[0] == f"Role IoTMitigationRole: {verdict} by Device Defender"
    for needle in needles:
        assert needle in text
    shown = report._repr_html_()
    assert "<table" in shown and f"{verdict} by Device Defender" in shown and "RoleReport(" not in shown


def test_a_trusted_role_that_trusts_too_much_says_so():
    report = settings.RoleReport(ROLE, exists=True, trusted=True, trust_problems=["any account may assume it"])
    assert "trusts iot.amazonaws.com (warning: any account may assume it)" in str(report)


def test_notebook_display_shows_long_cells_and_every_column_whole():
    long_text = "arn:aws:iot:us-east-1:123456789012:cert/" + "f" * 64
    frame = pd.DataFrame([{f"column {i}": long_text for i in range(30)}])
    with pd.option_context("display.max_colwidth", 50, "display.max_columns", 20):
        assert "..." in frame._repr_html_()  # pandas' defaults cut both ways: what the options must undo
        tables.use_notebook_display()
        shown = frame._repr_html_()
    assert "..." not in shown and "…" not in shown
    assert shown.count(long_text) == 30


def test_styled_table_text_is_not_cut():
    long_text = "x" * 120
    assert long_text in repr(tables.style_table(pd.DataFrame([{"reason": long_text}])))


@pytest.mark.parametrize("kernel,expected", [(True, "None None"), (False, "50 ")])
def test_importing_the_helpers_in_a_kernel_sets_the_display_options(kernel, expected):
    code = ("import sys\n" + ("import ipykernel\n" if kernel else "") +
            "import pandas as pd\nimport helpers.tables\n"
            "print(pd.get_option('display.max_colwidth'), pd.get_option('display.max_columns'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith(expected), done.stderr  # outside a kernel: pandas' defaults stay


def shown_results() -> list[object]:
    """Return one of each helper result class a notebook shows as a cell's last expression (other than tables,
    widgets and figures)."""
    return [Banner("sandbox", [("endpoint", "http://127.0.0.1:5000")], "no cost"),
            settings.Outcome("SNS alerts on", ["Audits publish to BadDevices."]),
            settings.Validation([settings.Requirement("audit role is set", True, "IoTAuditRole")]),
            settings.RoleReport(ROLE, exists=True, trusted=True),
            CleanupReport([Item("things", "SensorDevice01", "m2x")], ["m2x"])]


@pytest.mark.parametrize("result", shown_results(), ids=lambda r: type(r).__name__)
def test_every_result_a_notebook_shows_has_a_readable_form(result):
    text = repr(result)
    assert not text.startswith(f"{type(result).__name__}("), text
    html_form = getattr(result, "_repr_html_", None)
    if html_form is not None:
        assert f"{type(result).__name__}(" not in html_form()
