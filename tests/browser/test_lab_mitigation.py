"""In a real browser, how attendees really click through 04-apply-mitigation-actions (issue 15): Run All, then the
mitigation launcher; a page reload; cells run out of order after a kernel restart. Each test asserts what the
attendee sees (no traceback, a clear message) and that the account matches the text. The tests share one page and
run in this order; screenshots are kept in test-artifacts/browser/."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import mitigation, target
from tests.browser import jlab

pytestmark = pytest.mark.browser
NOTEBOOK = "notebooks/04-apply-mitigation-actions.ipynb"
LAST_CHECK = "ready for Module 3"


def shared_certificate() -> str:
    """Return the id of the certificate the Module 1 devices share (the only one attached to SensorDevice01)."""
    (arn,) = target.client("iot").list_thing_principals(thingName="SensorDevice01")["principals"]
    return arn.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def page(lab, browser) -> Iterator[Any]:
    """04 opened in JupyterLab after Run All on a freshly reset sandbox."""
    jlab.reset_sandbox()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        jlab.open_notebook(page, lab, NOTEBOOK)
        jlab.run_all(page)
        yield page
    except Exception:
        jlab.shot(page, "04-failure", full_page=True)
        raise
    finally:
        page.close()


@pytest.fixture
def failing_shot(request, page) -> Iterator[None]:
    """Keep a full-page screenshot named after the test when it fails."""
    yield
    if getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed:
        jlab.shot(page, f"failed-{request.node.name}", full_page=True)


def test_run_all_ends_with_the_certificate_active_as_the_text_says(page, failing_shot):
    from playwright.sync_api import expect

    jlab.shot(page, "04-run-all")
    assert jlab.tracebacks(page) == []
    last = jlab.code_cell(page, "ready for Module 3")
    expect(last.locator(".jp-OutputArea")).to_contain_text("is ACTIVE and SensorDevice01 connected with it again")
    verify = jlab.code_cell(page, "device_watch.wait_cut_off()")
    expect(verify.locator(".jp-OutputArea")).to_contain_text("SensorDevice01 was cut off by the broker")
    expect(verify.locator(".jp-OutputArea")).to_contain_text("was refused")
    assert mitigation.certificate_status(shared_certificate()) == "ACTIVE"


def test_the_launcher_after_run_all_says_what_it_means_and_restores_the_certificate(page, failing_shot):
    from playwright.sync_api import expect

    launcher = page.locator(".widget-vbox", has=page.get_by_role("button", name="Confirm and start")).last
    launcher.scroll_into_view_if_needed()
    select = launcher.locator("select[multiple]").first
    option = select.locator("option", has_text="Device certificate shared").first
    select.select_option(value=option.get_attribute("value"))
    chooser = launcher.locator("select").nth(1)  # the action chooser appears: §5 defined a second action that fits
    expect(chooser.locator("option", has_text="Update-device-certificate")).to_be_attached()
    chooser.select_option(value="Update-device-certificate")
    expect(chooser).to_have_value("Update-device-certificate")
    # Run All deactivated the certificate (§3) and re-activated it (§6): the launcher says so before anything starts
    expect(launcher).to_contain_text("already deactivated certificate")
    expect(launcher).to_contain_text("re-activated since")
    expect(launcher).to_contain_text("deactivates it again")
    launcher.locator(".widget-text input").first.fill("FromTheBrowser")
    launcher.get_by_role("button", name="Preview changes").click()
    expect(launcher).to_contain_text("will make 1 change")
    launcher.get_by_role("checkbox").check()
    launcher.get_by_role("button", name="Confirm and start").click()
    expect(launcher).to_contain_text("is now INACTIVE", timeout=60_000)
    expect(launcher).to_contain_text("Module 3 needs the certificate ACTIVE")
    assert mitigation.certificate_status(shared_certificate()) == "INACTIVE"  # what the launcher says
    launcher.screenshot(path=str(jlab.ARTIFACTS / "04-launcher-inactive.png"))
    launcher.get_by_role("button", name="Re-activate certificate").click()
    expect(launcher).to_contain_text("is ACTIVE again")
    expect(launcher.get_by_role("button", name="Re-activate certificate")).to_be_hidden()
    assert mitigation.certificate_status(shared_certificate()) == "ACTIVE"  # the notebook's last words hold again
    launcher.screenshot(path=str(jlab.ARTIFACTS / "04-launcher-reactivated.png"))
    assert jlab.tracebacks(page) == []


def test_after_a_reload_the_widget_cell_says_to_run_it_again(page, failing_shot):
    from playwright.sync_api import expect

    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Control+s")  # what autosave does: the outputs are in the file when the page comes back
    expect(page.locator(".jp-mod-dirty")).to_have_count(0)
    page.reload()
    page.locator(".jp-Notebook").first.wait_for()
    jlab.wait_idle(page)
    cell = jlab.code_cell(page, "widgets.mitigation_launcher(task_id)")
    cell.scroll_into_view_if_needed()
    hint = cell.locator(".workshop-reload-hint")
    expect(hint).to_have_count(1)
    outputs = cell.locator(".jp-OutputArea")
    if cell.locator(".widget-box").count():  # JupyterLab restored the live widget from the kernel: no hint needed
        expect(hint).to_be_hidden()
    else:
        expect(outputs.locator(".jp-OutputArea-output").first).to_contain_text(
            re.compile("Loading widget|model not found"))
        expect(hint).to_be_visible()
        expect(hint).to_contain_text("Run this cell again")
    jlab.shot(page, "04-after-reload")
    assert jlab.tracebacks(page) == []


def test_out_of_order_after_a_restart_gives_one_line_with_the_fix(page, failing_shot):
    from playwright.sync_api import expect

    jlab.restart_kernel(page)
    cell = jlab.code_cell(page, "mitigation_task = mitigation.start_mitigation_task(")
    cell.scroll_into_view_if_needed()
    status = mitigation.certificate_status(shared_certificate())
    jlab.run_cell(page, cell)
    outputs = cell.locator(".jp-OutputArea")
    expect(outputs).to_contain_text("This cell needs earlier cells", timeout=60_000)
    jlab.wait_idle(page)
    said = outputs.inner_text()
    assert "Fix:" in said and "Run All Above Selected Cell" in said, said
    assert "NameError" not in said and "Traceback" not in said, said
    errors = jlab.error_texts(cell)  # the one-line message, then %%calls' own line pointing at it
    assert errors[0].startswith("NeedsEarlierCells: This cell needs earlier cells"), errors
    assert not any("traceback" in e.lower() for e in errors), errors
    # the stale outputs of the task's executions are gone from that cell, and nothing changed in the account
    expect(outputs).not_to_contain_text("COMPLETED")
    assert mitigation.certificate_status(shared_certificate()) == status
    jlab.shot(page, "04-out-of-order")


def test_a_reload_after_the_restart_shows_the_hint_where_the_widget_was(page, failing_shot):
    from playwright.sync_api import expect

    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Control+s")
    expect(page.locator(".jp-mod-dirty")).to_have_count(0)
    page.reload()  # the kernel that held the launcher's model restarted: the widget cannot come back by itself
    page.locator(".jp-Notebook").first.wait_for()
    jlab.wait_idle(page)
    cell = jlab.code_cell(page, "widgets.mitigation_launcher(task_id)")
    cell.scroll_into_view_if_needed()
    widget_output = cell.locator(".jp-OutputArea-output").first
    expect(widget_output).to_contain_text(re.compile("Loading widget|model not found"))
    expect(cell.locator(".widget-box")).to_have_count(0)
    hint = cell.locator(".workshop-reload-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Run this cell again")
    cell.screenshot(path=str(jlab.ARTIFACTS / "04-reload-hint.png"))
    assert jlab.tracebacks(page) == []
