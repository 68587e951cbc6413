"""``iot-audit`` (helpers.cli): every subcommand in-process against the sandbox fixture, plus the installed script."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import cli, target
from helpers.fleet_base import MODULE1_NON_COMPLIANT

SUBCOMMANDS = ["setup", "reset", "audit", "findings", "mitigate", "report", "cleanup", "workshop", "sandbox"]


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """Keep the workshop's local state of these tests in a temporary folder."""
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    return tmp_path / ".workshop"


@pytest.fixture
def audited(sandbox, state_dir, capsys):
    """The Module 1 environment and one completed on-demand audit; returns the audit's task id."""
    assert cli.main(["setup"]) == 0
    capsys.readouterr()
    assert cli.main(["audit", "-q", "--output", "json"]) == 0
    task_id = json.loads(capsys.readouterr().out)["taskId"]
    return task_id


def _shared_certificate(sandbox) -> str:
    """Return the id of the certificate SensorDevice01 uses."""
    arn = sandbox.iot.list_thing_principals(thingName="SensorDevice01")["principals"][0]
    return arn.rsplit("/", 1)[-1]


def test_workshop_runs_every_step_end_to_end(sandbox, state_dir, capsys):
    assert cli.main(["workshop", "--quiet"]) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(steps) == 9 and all(line.startswith("  ✓ ") for line in steps), out
    assert "All 9 steps passed." in out
    cert = _shared_certificate(sandbox)
    assert sandbox.iot.describe_certificate(certificateId=cert)["certificateDescription"]["status"] == "ACTIVE"


def test_workshop_in_aws_mode_without_yes_lists_the_steps_and_exits_2(sandbox, state_dir, capsys, monkeypatch):
    """A dry run checks nothing, so it must not exit 0 (an instructor's CI check would read it as a pass)."""
    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    assert cli.main(["workshop", "-q"]) == 2
    out = capsys.readouterr().out
    assert "nothing was run or checked" in out and "--yes" in out
    assert sandbox.iot.list_things()["things"] == []


def test_workshop_reports_a_failed_step_with_exit_1(sandbox, state_dir, capsys, monkeypatch):
    from helpers import settings

    monkeypatch.setattr(settings, "configure_sns_alerts", lambda **kw: (_ for _ in ()).throw(
        settings.WorkshopError("SNS is down.", "Try later.")))
    assert cli.main(["workshop", "-q"]) == 1
    out = capsys.readouterr().out
    assert "✗ SNS alerts enabled: SNS is down. — fix: Try later." in out
    assert "– on-demand audit: not run" in out


def test_audit_json_parses_and_csv_has_a_row_per_check(audited, capsys):
    assert cli.main(["audit", "-q", "-o", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("check,title,severity,status") and len(lines) == 1 + 14
    assert cli.main(["audit", "--checks", "LOGGING_DISABLED_CHECK", "-o", "json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["taskStatus"] == "COMPLETED"
    assert [c["check"] for c in doc["checks"]] == ["LOGGING_DISABLED_CHECK"]
    assert "COMPLETED" in captured.err  # progress goes to stderr, stdout stays JSON
    assert cli.main(["audit", "-q", "--fail-on-findings"]) == 1


def test_findings_of_the_latest_and_of_a_given_audit(audited, capsys):
    assert cli.main(["findings", "-o", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["taskId"] == audited
    assert {f["check"] for f in doc["findings"]} == set(MODULE1_NON_COMPLIANT)
    assert cli.main(["findings", "--task-id", audited, "--check", "LOGGING_DISABLED_CHECK"]) == 0
    out = capsys.readouterr().out
    assert "Findings of audit" in out and "LOGGING_DISABLED_CHECK" in out and "SHARED" not in out


def test_mitigate_in_the_sandbox_deactivates_the_shared_certificate(audited, sandbox, capsys):
    assert cli.main(["mitigate", "-q"]) == 0
    assert "COMPLETED" in capsys.readouterr().out
    cert = _shared_certificate(sandbox)
    assert sandbox.iot.describe_certificate(certificateId=cert)["certificateDescription"]["status"] == "INACTIVE"


def test_mitigate_in_aws_mode_without_yes_previews_and_changes_nothing(audited, sandbox, capsys, monkeypatch):
    monkeypatch.setattr(target, "is_sandbox", lambda: False)  # aws mode, but the calls still reach the sandbox
    assert cli.main(["mitigate"]) == 0
    out = capsys.readouterr().out
    assert "Dry run: nothing was changed in your AWS account." in out
    assert "DEVICE_CERTIFICATE_SHARED_CHECK" in out and "--yes" in out
    cert = _shared_certificate(sandbox)
    assert sandbox.iot.describe_certificate(certificateId=cert)["certificateDescription"]["status"] == "ACTIVE"
    assert sandbox.iot.list_mitigation_actions()["actionIdentifiers"] == []  # not even the action was created
    tasks = sandbox.iot.list_audit_mitigation_actions_tasks(startTime="2000-01-01", endTime="2100-01-01")["tasks"]
    assert tasks == []


def test_mitigate_with_an_unknown_action_fails_with_a_fix(audited, capsys):
    assert cli.main(["mitigate", "--map", "LOGGING_DISABLED_CHECK=NoSuchAction"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Mitigation action(s) NoSuchAction do not exist.") and "\nfix: " in err
    assert cli.main(["mitigate", "--map", "nonsense"]) == 1
    assert "CHECK=ACTION" in capsys.readouterr().err


@pytest.mark.parametrize("name,marker", [("report.html", "<img alt="), ("report.md", "](data:image/png;base64,")])
def test_report_is_self_contained_with_embedded_charts(audited, tmp_path, capsys, name, marker):
    out = tmp_path / name
    assert cli.main(["report", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "data:image/png;base64," in text and marker in text
    assert audited in text and "DEVICE_CERTIFICATE_SHARED_CHECK" in text
    assert "http://" not in text and "https://" not in text  # nothing to fetch: opens offline
    assert f"to {out}" in capsys.readouterr().out


def test_cleanup_dry_run_lists_and_yes_deletes(sandbox, state_dir, capsys):
    assert cli.main(["setup"]) == 0
    capsys.readouterr()
    assert cli.main(["cleanup"]) == 0
    out = capsys.readouterr().out
    assert "Dry run: would delete" in out and "SensorDevice01" in out and "Nothing was deleted." in out
    assert sandbox.iot.describe_thing(thingName="SensorDevice01")["thingName"] == "SensorDevice01"
    assert cli.main(["cleanup", "--yes"]) == 0
    assert "Deleted" in capsys.readouterr().out
    assert sandbox.iot.list_things()["things"] == []
    assert cli.main(["cleanup"]) == 0
    assert "Nothing the workshop created was found" in capsys.readouterr().out


def test_reset_wipes_the_sandbox_and_rebuilds_the_environment(sandbox, state_dir, capsys):
    assert cli.main(["setup"]) == 0
    old = _shared_certificate(sandbox)
    sandbox.iot.create_thing(thingName="LeftOverFromTheLastGroup")
    assert cli.main(["reset"]) == 0
    assert "Ready for the next group" in capsys.readouterr().out
    names = {t["thingName"] for t in sandbox.iot.list_things()["things"]}
    assert names == {"SensorDevice01", "SensorDevice02"}
    assert _shared_certificate(sandbox) != old


def test_reset_refuses_in_aws_mode(sandbox, state_dir, capsys, monkeypatch):
    sandbox.iot.create_thing(thingName="Keep")
    monkeypatch.setenv("WORKSHOP_TARGET", "aws")
    assert cli.main(["reset"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: reset only works on the sandbox") and "\nfix: " in err
    monkeypatch.setenv("WORKSHOP_TARGET", "sandbox")
    assert sandbox.iot.describe_thing(thingName="Keep")["thingName"] == "Keep"


def test_a_bad_check_name_exits_1_with_a_fix_and_no_traceback(sandbox, state_dir, capsys):
    assert cli.main(["audit", "--checks", "NO_SUCH_CHECK"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 'NO_SUCH_CHECK' is not an audit check") and "\nfix: " in err
    assert "Traceback" not in err


def test_no_sandbox_running_says_how_to_start_one(state_dir, capsys, monkeypatch):
    monkeypatch.setenv("WORKSHOP_TARGET", "sandbox")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setattr(target, "_kernel_server", None)
    assert cli.main(["findings"]) == 1
    assert "iot-audit sandbox serve" in capsys.readouterr().err


def test_usage_errors_exit_2_and_interrupts_130(sandbox, state_dir, capsys, monkeypatch):
    assert cli.main([]) == 2
    assert cli.main(["audit", "--output", "xml"]) == 2
    assert cli.main(["report"]) == 2  # --out is required
    capsys.readouterr()
    monkeypatch.setattr(cli, "cmd_findings", lambda args: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert cli.main(["findings"]) == 130


@pytest.mark.parametrize("argv", [[], *[[c] for c in SUBCOMMANDS], ["sandbox", "serve"]])
def test_every_subcommand_has_help_with_examples(argv, capsys):
    assert cli.main([*argv, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "iot-audit" in out


def test_installed_script_help_exits_0():
    script = shutil.which("iot-audit", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("iot-audit is not installed in this environment (pip install -e .)")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "workshop" in proc.stdout and "exit codes" in proc.stdout
