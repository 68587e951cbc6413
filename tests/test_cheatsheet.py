"""docs/cheatsheet.md is what a fresh run of the module's steps calls: regenerate it and compare."""
from __future__ import annotations

import difflib
import os

from tools import cheatsheet


def test_committed_cheatsheet_matches_a_fresh_run():
    keys = ("WORKSHOP_TARGET", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "WORKSHOP_STATE_DIR")
    before = {k: os.environ.get(k) for k in keys}
    fresh = cheatsheet.generate()
    assert {k: os.environ.get(k) for k in keys} == before  # the run's settings do not leak into other tests
    committed = cheatsheet.OUT.read_text() if cheatsheet.OUT.exists() else ""
    diff = "".join(list(difflib.unified_diff(committed.splitlines(True), fresh.splitlines(True), "committed",
                                             "fresh run"))[:60])
    assert committed == fresh, f"docs/cheatsheet.md is out of date: run `make cheatsheet` and commit it.\n{diff}"


def test_cheatsheet_covers_every_step_with_cli_and_boto3():
    text = cheatsheet.OUT.read_text()
    for operation in ("StartOnDemandAuditTask", "ListAuditFindings", "CreateMitigationAction",
                      "StartAuditMitigationActionsTask", "UpdateCertificate"):
        assert f"[{operation}](https://docs.aws.amazon.com/iot/latest/apireference/API_{operation}.html)" in text
    assert text.count("```sh\naws ") == text.count("```python\n") > 20
    assert "--endpoint-url" not in text.split("## 1.")[1] and "PRIVATE KEY" not in text
