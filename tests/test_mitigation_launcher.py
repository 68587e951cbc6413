"""The mitigation launcher widget, driven through .value and .click() as a person would."""
from __future__ import annotations

import pytest

from helpers import mitigation, widgets
from tests.sandbox.test_mitigation import SHARED
from tests.sandbox.test_mitigation import module  # noqa: F401 - fixture


@pytest.fixture
def launcher(module):  # noqa: F811
    mitigation.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    mitigation.create_mitigation_action("BlankPolicy", "REPLACE_DEFAULT_POLICY_VERSION")
    panel = widgets.mitigation_launcher(module.audit_task, poll_interval=0.05, background=False)
    panel.module = module
    return panel


def test_only_allowed_actions_are_offered(launcher):
    launcher.select([launcher.module.findings[SHARED]["findingId"]])
    (chooser,) = launcher.action_choosers.values()
    assert [v for _, v in chooser.options if v] == ["Update-device-certificate"]  # BlankPolicy does not fit
    assert chooser.value == "Update-device-certificate"


def test_confirmation_needs_a_preview_first(launcher):
    launcher.select([launcher.module.findings[SHARED]["findingId"]])
    launcher.confirm.value = True
    assert launcher.start_button.disabled
    launcher.start_button.click()
    assert "Not confirmed" in launcher.status.value or launcher.mitigation_task_id is None
    launcher.preview_button.click()
    assert "will make 1 change" in launcher.preview.value and "deactivate certificate" in launcher.preview.value
    launcher.confirm.value = False
    launcher.confirm.value = True
    assert not launcher.start_button.disabled


def test_launch_deactivates_and_reports_inactive(launcher):
    env = launcher.module
    launcher.select([env.findings[SHARED]["findingId"]])
    launcher.task_name.value = "FromTheLauncher"
    launcher.preview_button.click()
    launcher.confirm.value = True
    launcher.start_button.click()
    assert launcher.mitigation_task_id == "FromTheLauncher"
    assert launcher.final["taskStatus"] == "COMPLETED"
    assert f"certificate {env.cert[:12]}… is now INACTIVE" in launcher.result.value
    assert mitigation.certificate_status(env.cert) == "INACTIVE"
    assert launcher.progress.value == launcher.progress.max == 1


def test_errors_land_in_the_status_line(launcher):
    launcher.preview_button.click()
    assert "No finding is selected" in launcher.status.value
    launcher.select([launcher.module.findings[SHARED]["findingId"]])
    next(iter(launcher.action_choosers.values())).value = None
    launcher.preview_button.click()
    assert "No action chosen" in launcher.status.value


def deactivate_with_a_task(launcher, name: str = "Earlier") -> str:
    """Mitigate the shared-certificate finding in code (as the notebook's §2 does); return the task id."""
    finding = launcher.module.findings[SHARED]["findingId"]
    task = mitigation.start_mitigation_task({SHARED: ["Update-device-certificate"]}, finding_ids=[finding],
                                            task_name=name)
    mitigation.wait_for_mitigation_task(task, poll_interval=0.05, progress=None)
    return task


def test_a_finding_mitigated_then_reactivated_is_explained_before_starting_again(launcher):
    assert launcher.earlier_state() == []
    deactivate_with_a_task(launcher)
    launcher.module.iot.update_certificate(certificateId=launcher.module.cert, newStatus="ACTIVE")  # §4
    launcher.select([launcher.module.findings[SHARED]["findingId"]])
    said = launcher.history.value
    assert "Task Earlier already deactivated certificate" in said and "re-activated since" in said
    assert "deactivates it again" in said


def test_an_inactive_certificate_is_said_to_be_inactive_already(launcher):
    deactivate_with_a_task(launcher)
    launcher.select([launcher.module.findings[SHARED]["findingId"]])
    assert "is already INACTIVE (task Earlier deactivated it)" in launcher.history.value
    assert launcher.reactivate_button.layout.display == "none"


def test_after_the_launch_the_certificate_can_be_reactivated_from_the_launcher(sandbox, tmp_path, monkeypatch):
    from helpers import audits, fleet

    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    env = fleet.build_workshop_environment()
    mitigation.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    task_id = audits.run_on_demand_audit([SHARED], poll_interval=0.05, progress=None)["taskId"]
    panel = widgets.mitigation_launcher(task_id, poll_interval=0.05, background=False)
    panel.select(list(panel.findings_frame["finding id"]))
    panel.preview_button.click()
    panel.confirm.value = True
    panel.start_button.click()
    assert mitigation.certificate_status(env.certificate_id) == "INACTIVE"
    assert "Module 3 needs the certificate ACTIVE" in panel.result.value
    assert panel.reactivate_button.layout.display is None  # shown
    panel.reactivate_button.click()
    assert mitigation.certificate_status(env.certificate_id) == "ACTIVE"
    assert "is ACTIVE again" in panel.status.value and panel.reactivate_button.layout.display == "none"
    assert "re-activated since" in panel.history.value  # using it again would deactivate it again: it says so


def test_a_panel_displays_a_reload_hint_under_it(monkeypatch):
    shown = []
    monkeypatch.setattr(widgets, "display", lambda obj, **kw: shown.append(obj))
    panel = widgets.Panel([])
    panel._ipython_display_()
    assert "application/vnd.jupyter.widget-view+json" in shown[0]
    assert "Run this cell again" in shown[1].data and "model not found" in shown[1].data


def test_a_check_picker_shown_alone_has_the_hint_too(monkeypatch):
    shown = []
    monkeypatch.setattr(widgets, "display", lambda obj, **kw: shown.append(obj))
    widgets.check_picker()._ipython_display_()
    assert len(shown) == 2 and shown[1].data == widgets.RELOAD_HINT
