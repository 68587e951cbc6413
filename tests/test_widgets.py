"""helpers.widgets without a browser: build each UI with its factory, drive it with ``.click()`` and ``.value``,
and read the results from widget values (callbacks never print)."""
from __future__ import annotations

import pytest

from helpers import audits, widgets
from helpers.checks import CHECK_NAMES, ORIGINAL_14
from helpers.errors import WorkshopError
from tests.test_audits import CHECKS, FAST, LOGGING, POLICY, SHARED, build_module1, sandbox_config


@pytest.fixture
def env(sandbox):
    return build_module1(sandbox)


@pytest.fixture
def audited(env):
    env.task_id = audits.run_on_demand_audit(**FAST)["taskId"]
    return env


# -- check picker --------------------------------------------------------------------------------------------------
def test_check_picker_groups_by_severity_with_shortcuts(capsys):
    picker = widgets.check_picker()
    assert picker.selected == sorted(ORIGINAL_14) and "<b>14</b> of 17" in picker.summary.value
    headers = [w.value for w in picker.children[1].children if isinstance(w, widgets.widgets.HTML)]
    assert [h.split(">")[-3].split("<")[0] for h in headers] == ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    seen = []
    picker.on_change(seen.append)
    picker.select_all_button.click()
    assert picker.selected == list(CHECK_NAMES) and seen[-1] == list(CHECK_NAMES)
    picker.clear_button.click()
    assert picker.selected == [] and "<b>0</b> of 17" in picker.summary.value
    picker.original_button.click()
    assert picker.selected == sorted(ORIGINAL_14)
    picker.checkboxes[LOGGING].value = False
    assert LOGGING not in picker.selected and seen[-1] == picker.selected and len(seen) == 4
    assert picker.checkboxes[SHARED].description == "Device certificate shared"
    assert picker.checkboxes[SHARED].tooltip.startswith(f"{SHARED}: One certificate")
    assert capsys.readouterr().out == ""  # callbacks write to widgets, not stdout


def test_check_picker_limited_to_available_checks():
    picker = widgets.check_picker(selected=[SHARED, "DEVICE_CERTIFICATE_AGE_CHECK"], available=[SHARED, LOGGING])
    assert picker.selected == [SHARED]  # the unavailable one cannot be selected
    age = picker.checkboxes["DEVICE_CERTIFICATE_AGE_CHECK"]
    assert age.disabled and age.description.endswith("(not enabled)")
    picker.select_all_button.click()
    assert picker.selected == [SHARED, LOGGING] and "<b>2</b> of 2" in picker.summary.value
    picker.original_button.click()
    assert picker.selected == [SHARED, LOGGING]


# -- schedule picker -----------------------------------------------------------------------------------------------
def shown(widget) -> bool:
    return widget.layout.display != "none"


def test_schedule_picker_shows_only_the_day_fields_the_frequency_needs(env):
    picker = widgets.schedule_picker()
    assert picker.frequency.value == "WEEKLY" and shown(picker.day_of_week) and not shown(picker.day_of_month)
    assert picker.checks.selected == sorted(CHECKS)  # the enabled checks
    assert "every Monday" in picker.description.value
    picker.frequency.value = "DAILY"
    assert not shown(picker.day_of_week) and not shown(picker.day_of_month)
    assert picker.schedule == {"frequency": "DAILY"}
    assert "every day" in picker.description.value
    picker.frequency.value = "MONTHLY"
    picker.day_of_month.value = "LAST"
    assert shown(picker.day_of_month) and not shown(picker.day_of_week)
    assert picker.schedule == {"frequency": "MONTHLY", "day_of_month": "LAST"}
    assert "last day of every month" in picker.description.value
    picker.day_of_month.value = "15"
    assert "on day 15" in picker.description.value
    picker.frequency.value = "BIWEEKLY"
    picker.day_of_week.value = "FRI"
    assert picker.schedule == {"frequency": "BIWEEKLY", "day_of_week": "FRI"}
    assert "every other Friday" in picker.description.value


def test_schedule_picker_creates_and_reports_mistakes_in_its_status(env, capsys):
    picker = widgets.schedule_picker(name="WeeklyCerts")
    picker.checks.select([SHARED])
    picker.create_button.click()
    assert "Created arn:aws:iot:us-east-1:123456789012:scheduledaudit/WeeklyCerts" in picker.status.value
    d = audits.describe_scheduled_audit("WeeklyCerts")
    assert (d["frequency"], d["dayOfWeek"], d["targetCheckNames"]) == ("WEEKLY", "MON", [SHARED])
    picker.create_button.click()  # same name again: the problem and the fix, no traceback
    assert "Problem:" in picker.status.value and "already exists" in picker.status.value
    assert "update_scheduled_audit" in picker.status.value
    picker.name_input.value = "bad name!"
    picker.create_button.click()
    assert "not a valid scheduled audit name" in picker.status.value
    picker.checks.clear_button.click()
    picker.create_button.click()
    assert "No checks are selected" in picker.status.value
    assert capsys.readouterr().out == ""
    with pytest.raises(WorkshopError, match="not an audit frequency"):
        widgets.schedule_picker(frequency="HOURLY")
    monthly = widgets.schedule_picker(frequency="monthly", available=[LOGGING])
    assert monthly.frequency.value == "MONTHLY" and shown(monthly.day_of_month)
    assert widgets.schedule_picker(frequency="bi-weekly", available=[]).frequency.value == "BIWEEKLY"


# -- start audit panel ---------------------------------------------------------------------------------------------
def test_start_audit_panel_runs_an_audit_with_progress(env, capsys):
    panel = widgets.start_audit_panel(poll_interval=0.02)
    finished = []
    panel.on_finished(finished.append)
    assert panel.checks.selected == sorted(CHECKS)
    panel.start_button.click()  # outside a notebook the wait runs inline
    assert finished == [panel.task_id] and panel.result["taskStatus"] == "COMPLETED"
    assert (panel.progress.value, panel.progress.max, panel.progress.bar_style) == (5, 5, "success")
    assert "5/5 checks done" in panel.progress_label.value
    assert "3 non-compliant, 2 compliant, 0 failed" in panel.status.value
    assert "Device certificate shared" in panel.results.value and "#D55E00" in panel.results.value
    assert not panel.start_button.disabled and panel.cancel_button.disabled
    assert capsys.readouterr().out == ""

    panel.checks.clear_button.click()
    panel.start_button.click()
    assert "No checks are selected" in panel.status.value
    panel.checks.select([LOGGING, SHARED])
    sandbox_config(auditDelaySeconds=0)
    env.iot.set_v2_logging_options(roleArn=env.iot.describe_account_audit_configuration()["roleArn"],
                                   defaultLogLevel="ERROR")
    env.iot.update_certificate(certificateId=env.shared, newStatus="INACTIVE")
    panel.start_button.click()
    assert "Every audited check is compliant." in panel.results.value


def test_start_audit_panel_in_the_background_can_cancel(env):
    sandbox_config(auditDelaySeconds=2)
    panel = widgets.start_audit_panel(poll_interval=0.05, background=True)
    panel.start_button.click()
    assert panel.thread is not None and panel.start_button.disabled and not panel.cancel_button.disabled
    panel.cancel_button.click()
    panel.wait(5)
    assert "is CANCELED" in panel.status.value or "CANCELED" in panel.status.value
    assert panel.result["taskStatus"] == "CANCELED" and panel.progress.bar_style == "danger"
    assert not panel.start_button.disabled


def test_start_audit_panel_on_an_unconfigured_account(sandbox):
    panel = widgets.start_audit_panel()
    assert panel.start_button.disabled and "configure_audit()" in panel.status.value


def test_start_audit_panel_shows_unexpected_errors(env, monkeypatch):
    panel = widgets.start_audit_panel(available=[LOGGING], poll_interval=0.02)

    def boom(_):
        raise RuntimeError("network down")

    monkeypatch.setattr(audits, "start_on_demand_audit", boom)
    panel.start_button.click()
    assert "Unexpected error" in panel.status.value and "RuntimeError: network down" in panel.status.value


# -- findings explorer ---------------------------------------------------------------------------------------------
def test_findings_explorer_drills_from_checks_to_certificate_ownership(audited, capsys):
    explorer = widgets.findings_explorer(audited.task_id)
    assert explorer.audit.value == audited.task_id
    assert [v for _, v in explorer.checks.options] == [POLICY, SHARED, LOGGING]
    assert explorer.checks.options[1][0] == "Device certificate shared [CRITICAL] — 1 resource(s)"
    assert "3 non-compliant check(s), 3 finding(s)" in explorer.status.value
    assert explorer.checks.value == POLICY and "DevicePolicy (version 1)" in explorer.detail.value  # opened
    assert "not a device certificate" in explorer.ownership.value

    explorer.checks.value = SHARED
    (label, finding_id), = explorer.findings.options
    assert label == audited.shared and explorer.findings.value == finding_id
    assert explorer.selected_finding["check"] == SHARED and explorer.selected_finding_ids == [finding_id]
    assert "Certificate shared by one or more devices." in explorer.detail.value
    assert "UPDATE_DEVICE_CERTIFICATE" in explorer.detail.value
    assert "audit-chk-device-cert-shared" in explorer.detail.value
    assert "Thing01" in explorer.ownership.value and "Thing02" in explorer.ownership.value
    assert "DevicePolicy" in explorer.ownership.value and "Thing03" not in explorer.ownership.value

    explorer.checks.value = LOGGING
    assert "123456789012" in explorer.detail.value
    assert "not a device certificate" in explorer.ownership.value
    explorer.findings.value = None
    assert explorer.detail.value == "" and explorer.selected_finding is None
    assert capsys.readouterr().out == ""


def test_findings_explorer_follows_new_audits(env):
    explorer = widgets.findings_explorer()
    assert explorer.audit.options == () and "No finished audit" in explorer.status.value
    assert explorer.selected_finding_ids == []
    panel = widgets.start_audit_panel(poll_interval=0.02)
    panel.on_finished(explorer.load)
    panel.start_button.click()
    assert explorer.audit.value == panel.task_id and len(explorer.checks.options) == 3
    explorer.load(panel.task_id)  # loading the same audit again reloads it
    assert len(explorer.checks.options) == 3

    env.iot.set_v2_logging_options(roleArn=env.iot.describe_account_audit_configuration()["roleArn"],
                                   defaultLogLevel="ERROR")
    clean = audits.run_on_demand_audit([LOGGING], **FAST)["taskId"]
    explorer.refresh_button.click()
    assert len(explorer.audit.options) == 2 and explorer.audit.value == panel.task_id  # keeps the current one
    explorer.audit.value = clean
    assert explorer.checks.options == () and "Every audited check is compliant" in explorer.detail.value
    with pytest.raises(WorkshopError, match="There is no audit"):
        widgets.findings_explorer("f" * 32)


def test_error_html_for_any_exception():
    assert "Problem:</b> bad" in widgets.error_html(WorkshopError("bad", "do this"))
    assert "Fix:</b> do this" in widgets.error_html(WorkshopError("bad", "do this"))
    assert "ValueError: x" in widgets.error_html(ValueError("x"))
    assert "#009E73" in widgets.message_html("done", "success")
