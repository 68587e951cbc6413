"""In a real browser: JupyterLab runs 04-apply-mitigation-actions, then the mitigation launcher is used with clicks
and the page reports the certificate INACTIVE. Screenshots are kept in test-artifacts/browser/."""
from __future__ import annotations

import os
import re
import urllib.request

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = pytest.mark.browser
NOTEBOOK = "notebooks/04-apply-mitigation-actions.ipynb"


def test_mitigation_launcher_in_jupyterlab(lab, browser):
    urllib.request.urlopen(urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/reset", data=b"",
                                                  method="POST")).close()
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{lab['base']}/lab/tree/{NOTEBOOK}?token={lab['token']}")
        page.locator(".jp-Notebook").first.wait_for()
        # the kernel must be up before "Run All Cells", or the request is lost
        expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first).to_be_visible(timeout=90_000)
        news = page.get_by_role("button", name="No", exact=True)
        if news.count():
            news.first.click()  # JupyterLab's "get notified about news?" toast would cover the screenshots
        page.locator(".jp-Cell").first.click()
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # the last cell asserts the certificate is ACTIVE again: wait until every cell has run
        last = page.locator(".jp-CodeCell").last
        expect(last.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]"), timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "04-run-all.png"), full_page=False)
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", has_text="Error")
        assert errors.count() == 0, errors.first.inner_text()

        launcher = page.locator(".widget-vbox", has=page.get_by_role("button", name="Confirm and start")).last
        launcher.scroll_into_view_if_needed()
        select = launcher.locator("select[multiple]").first
        option = select.locator("option", has_text="Device certificate shared").first
        select.select_option(value=option.get_attribute("value"))
        expect(launcher.locator("select").nth(1)).to_have_value(re.compile(".+"))  # the action chooser appears
        launcher.locator(".widget-text input").first.fill("FromTheBrowser")
        launcher.get_by_role("button", name="Preview changes").click()
        expect(launcher).to_contain_text("will make 1 change")
        launcher.get_by_role("checkbox").check()
        launcher.get_by_role("button", name="Confirm and start").click()
        expect(launcher).to_contain_text("is now INACTIVE", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "04-launcher-inactive.png"), full_page=False)
        launcher.screenshot(path=str(ARTIFACTS / "04-launcher.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "04-failure.png"), full_page=True)
        raise
    finally:
        page.close()
