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
