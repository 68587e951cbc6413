"""helpers.needs: a cell run before the cells it depends on stops with one line naming them, not a NameError."""
from __future__ import annotations

import linecache
from types import SimpleNamespace

import pytest
from IPython.core.interactiveshell import InteractiveShell

from helpers import mitigation
from helpers.needs import NeedsEarlierCells, free_names, missing, needs
from tests.builders import configure_audit, register_cert, wait_audit

LAUNCHER_CELL = ("from helpers.needs import needs\n"
                 "needs()\n"
                 "launcher = widgets.mitigation_launcher(task_id)\n"
                 "[row for row in launcher.rows if is_sandbox()]\n")


def run_as_cell(source: str, namespace: dict, name: str = "<cell-7>") -> None:
    """Execute ``source`` the way IPython runs a cell: its source registered in linecache under the code's name."""
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    try:
        exec(compile(source, name, "exec"), namespace)  # noqa: S102 - the test's own cell
    finally:
        linecache.cache.pop(name, None)


def test_free_names_are_what_the_cell_reads_without_defining():
    assert free_names(LAUNCHER_CELL) == ["is_sandbox", "task_id", "widgets"]
    assert free_names("def f(x):\n    return x + y\nimport os\nos.sep") == ["y"]
    assert free_names("this is not python(") == []


def test_a_cell_after_a_kernel_restart_names_its_missing_names_and_the_fix():
    with pytest.raises(NeedsEarlierCells) as caught:
        run_as_cell(LAUNCHER_CELL, {})
    message = caught.value.one_line()
    assert "`is_sandbox`, `task_id`, `widgets` are not defined in this kernel" in message
    assert "Run ▸ Run All Above Selected Cell" in message
    assert "\n" not in message


def test_a_cell_whose_names_are_defined_runs():
    rows = SimpleNamespace(rows=[1, 2])
    namespace = {"widgets": SimpleNamespace(mitigation_launcher=lambda task: rows), "task_id": "t",
                 "is_sandbox": lambda: True}
    run_as_cell(LAUNCHER_CELL, namespace)
    assert namespace["launcher"] is rows


def test_a_cell_with_magics_is_not_second_guessed():
    shell = InteractiveShell.instance()
    try:
        result = shell.run_cell("from helpers.needs import needs\nneeds()\n%time x = 1\nprint(x)")
        assert result.success, result.error_in_exec
    finally:
        InteractiveShell.clear_instance()


def test_after_names_the_cells_to_run():
    with pytest.raises(NeedsEarlierCells, match=r"Fix: run §1 Set up and §3 Preview first \(or Run ▸"):
        needs(after="§1 Set up and §3 Preview", namespace={}, source="mapping")


def test_an_unknown_requirement_is_the_author_s_mistake():
    with pytest.raises(ValueError, match="use one of environment, audit_settings, mitigation_action, audit"):
        needs("enviroment", namespace={}, source="")


def test_ipython_shows_one_line_and_no_traceback(capsys):
    shell = InteractiveShell.instance()
    try:
        shell.run_cell("from helpers.needs import needs\nneeds()\nprint(undefined_in_this_kernel)")
        out = capsys.readouterr()
        shown = (out.out + out.err).strip()
        assert "`undefined_in_this_kernel` is not defined in this kernel" in shown
        assert "Traceback" not in shown and "NameError" not in shown
        assert len(shown.splitlines()) == 1, shown
    finally:
        InteractiveShell.clear_instance()


def test_environment_requirement_reads_the_target(sandbox):
    assert "`env` (the Module 1 environment) is not defined" in missing(("environment",), {}, None)[0][0]
    cert = register_cert(sandbox.iot)
    env = SimpleNamespace(certificate_id=cert, run_id="m2test")
    assert missing(("environment",), {"env": env}, None) == []
    sandbox.iot.update_certificate(certificateId=cert, newStatus="INACTIVE")
    sandbox.iot.delete_certificate(certificateId=cert)
    (problem, fix), = missing(("environment",), {"env": env}, None)
    assert "is gone from the sandbox" in problem and "build_workshop_environment" in fix


def test_audit_requirement_needs_a_completed_audit_in_the_target(sandbox):
    assert "`task_id`" in missing(("audit",), {}, None)[0][0]
    assert "is gone" in missing(("audit",), {"task_id": "0" * 32}, None)[0][0]
    configure_audit(sandbox.iot, sandbox.client("iam"), ["LOGGING_DISABLED_CHECK"])
    task_id = sandbox.iot.start_on_demand_audit_task(targetCheckNames=["LOGGING_DISABLED_CHECK"])["taskId"]
    wait_audit(sandbox.iot, task_id)
    assert missing(("audit", "audit_settings"), {"task_id": task_id}, None) == []


def test_audit_settings_and_mitigation_action_requirements(sandbox):
    problems = [p for p, _ in missing(("audit_settings", "mitigation_action"), {}, None)]
    assert problems == ["the audit settings have no audit role or no enabled check",
                        "the mitigation action Update-device-certificate is not defined"]
    mitigation.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    assert missing(("mitigation_action",), {}, None) == []


def test_one_error_lists_every_problem_with_each_fix_once(sandbox):
    with pytest.raises(NeedsEarlierCells) as caught:
        needs("environment", "audit", namespace={}, source="print(env, task_id, shared)")
    text = caught.value.one_line()
    assert text.startswith("This cell needs earlier cells: `shared` is not defined in this kernel")
    assert "`env` (the Module 1 environment)" in text and "`task_id`" in text
    assert text.count("build_workshop_environment") == 1 and text.count("`task_id`") == 1
