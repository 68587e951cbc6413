"""What the browser tests do in JupyterLab as an attendee would: open a notebook, Run All, run one cell, restart the
kernel, reload the page; and what they read back: error outputs, a cell's output text, screenshots."""
from __future__ import annotations

import os
import re
import urllib.request
from typing import Any

from tests.browser.conftest import ARTIFACTS

ERROR_OUTPUTS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


def reset_sandbox() -> None:
    """Reset the session's sandbox (everything the notebooks built goes)."""
    urllib.request.urlopen(urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/reset", data=b"",
                                                  method="POST")).close()


def shot(page: Any, name: str, full_page: bool = False) -> None:
    """Save a screenshot as test-artifacts/browser/<name>.png."""
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def wait_idle(page: Any, timeout: float = 90_000) -> None:
    """Wait until the kernel status in the status bar reads Idle."""
    from playwright.sync_api import expect

    expect(page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first).to_be_visible(timeout=timeout)


def open_notebook(page: Any, lab: dict[str, str], path: str) -> None:
    """Open ``path`` (relative to the served folder) alone, in a workspace of its own, and wait for its kernel."""
    workspace = re.sub(r"\W+", "-", path)  # tabs left open by another test would hold hidden copies of the cells
    page.goto(f"{lab['base']}/lab/workspaces/{workspace}/tree/{path}?reset&token={lab['token']}")
    page.locator(".jp-Notebook").first.wait_for()
    wait_idle(page)  # the kernel must be up before "Run All Cells", or the request is lost
    news = page.get_by_role("button", name="No", exact=True)
    if news.count():
        news.first.click()  # JupyterLab's "get notified about news?" toast would cover the screenshots


def menu(page: Any, top: str, item: str | re.Pattern[str]) -> None:
    """Click ``top`` ▸ ``item`` (a name, or a pattern for names that end in "…") in JupyterLab's menu bar."""
    page.get_by_role("menuitem", name=top, exact=True).click()
    page.get_by_role("menuitem", name=item, exact=isinstance(item, str)).first.click()


def run_all(page: Any, timeout: float = 240_000) -> None:
    """Run ▸ Run All Cells, and wait until no cell is queued or running (an error stops the run: the tests then
    find it among the outputs)."""
    from playwright.sync_api import expect

    last = page.locator(".jp-CodeCell").last.locator(".jp-InputPrompt")
    before = last.inner_text().strip()
    page.locator(".jp-Cell").first.click()
    menu(page, "Run", "Run All Cells")
    expect(last).not_to_have_text(before, timeout=timeout)  # queued: [*]
    expect(page.locator(".jp-InputPrompt", has_text="[*]")).to_have_count(0, timeout=timeout)
    wait_idle(page, timeout)


def restart_kernel(page: Any) -> None:
    """Kernel ▸ Restart Kernel…, confirm, and wait for the new kernel (the outputs stay, as they do for attendees)."""
    page.locator(".jp-Cell").first.click()
    menu(page, "Kernel", re.compile(r"^Restart Kernel…"))  # its accessible name ends with the shortcut
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()  # "Restart"
    wait_idle(page)


def code_cell(page: Any, containing: str) -> Any:
    """Return the code cell whose source contains ``containing``."""
    return page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text=containing)).first


def run_cell(page: Any, cell: Any) -> None:
    """Run one cell as an attendee does: click into it and press Shift+Enter."""
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def error_texts(scope: Any) -> list[str]:
    """Return the texts of the error (stderr) outputs under ``scope`` (a page or a cell)."""
    errors = scope.locator(ERROR_OUTPUTS)
    return [errors.nth(i).inner_text() for i in range(errors.count())]


def tracebacks(scope: Any) -> list[str]:
    """Return the outputs under ``scope`` that show a Python traceback or an exception's name."""
    return [t for t in error_texts(scope) if re.search(r"Traceback|\w+Error\b|Exception\b", t)]
