"""helpers.audits against the in-process sandbox: on-demand audits with progress and timeouts, scheduled audits with
validated schedules, the history and the latest audit. ``build_module1`` (the Module 1 environment in miniature) is
shared with the findings, plots and widgets tests."""
from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from helpers import audits, settings, target
from helpers.errors import WorkshopError
from helpers.fleet_base import workshop_tags
from helpers.sandbox import record_connections
from tests.builders import PERMISSIVE, register_cert, shared_sessions

SHARED = "DEVICE_CERTIFICATE_SHARED_CHECK"
LOGGING = "LOGGING_DISABLED_CHECK"
POLICY = "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"
CLIENTS = "CONFLICTING_CLIENT_IDS_CHECK"
EXPIRING = "DEVICE_CERTIFICATE_EXPIRING_CHECK"
CHECKS = [SHARED, LOGGING, POLICY, CLIENTS, EXPIRING]
FAST = {"poll_interval": 0.02, "progress": None}
NARROW = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "iot:Connect",
     "Resource": "arn:aws:iot:us-east-1:123456789012:client/${iot:Connection.Thing.ThingName}",
     "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}}]})


def cert_arn(iot, cert_id: str) -> str:
    return iot.describe_certificate(certificateId=cert_id)["certificateDescription"]["certificateArn"]


def build_module1(sandbox, checks=CHECKS, configure: bool = True) -> SimpleNamespace:
    """Module 1 in miniature: one certificate shared by Thing01/Thing02 with an iot:* policy, a well-behaved
    Thing03 with its own certificate, logging off, and the audit configured for ``checks``."""
    iot = sandbox.iot
    if configure:
        settings.configure_audit(check_names=checks, daily_audit=False)
    shared = register_cert(iot, "shared")
    own = register_cert(iot, "thing03")
    iot.create_policy(policyName="DevicePolicy", policyDocument=PERMISSIVE)
    iot.create_policy(policyName="NarrowPolicy", policyDocument=NARROW)
    iot.attach_policy(policyName="DevicePolicy", target=cert_arn(iot, shared))
    iot.attach_policy(policyName="NarrowPolicy", target=cert_arn(iot, own))
    for thing in ("Thing01", "Thing02"):
        iot.create_thing(thingName=thing)
        iot.attach_thing_principal(thingName=thing, principal=cert_arn(iot, shared))
    iot.create_thing(thingName="Thing03", attributePayload={"attributes": {"room": "lab"}})
    iot.attach_thing_principal(thingName="Thing03", principal=cert_arn(iot, own))
    record_connections(shared_sessions(shared, clients=("Thing01", "Thing02")))
    return SimpleNamespace(sandbox=sandbox, iot=iot, shared=shared, own=own, checks=list(checks))


def sandbox_config(**settings_):
    return target.sandbox_control("POST", "/_sandbox/config", settings_)


@pytest.fixture
def env(sandbox):
    return build_module1(sandbox)


@pytest.fixture
def no_retries(monkeypatch):
    """Clients without retries: botocore's standard mode retries LimitExceededException (slowly)."""
    monkeypatch.setenv("WORKSHOP_MAX_ATTEMPTS", "1")
    target.clear_client_cache()
    yield
    target.clear_client_cache()


@pytest.fixture
def real_account(monkeypatch):
    """Pretend the target is a real account for the confirmation guards (clients still reach the sandbox)."""
    monkeypatch.setattr(target, "is_sandbox", lambda: False)


# -- on-demand audits ---------------------------------------------------------------------------------------------
def test_start_defaults_to_every_enabled_check_and_waits_with_progress(env):
    seen = []
    task_id = audits.start_on_demand_audit()
    result = audits.wait_for_audit(task_id, poll_interval=0.02, progress=seen.append)
    assert result["taskId"] == task_id and result["taskStatus"] == "COMPLETED"
    assert sorted(result["auditDetails"]) == sorted(CHECKS)
    final = seen[-1]
    assert final.finished and final.done == final.total == len(CHECKS)
    assert "3 non-compliant" in final.text() and task_id in final.text()


def test_progress_displays(env, capsys):
    sandbox_config(auditDelaySeconds=0.3)
    seen = []
    audits.run_on_demand_audit([LOGGING], poll_interval=0.05, progress=seen.append)  # live: a callback
    assert seen[0].status == "IN_PROGRESS" and seen[0].done == 0 and not seen[0].finished
    assert seen[-1].status == "COMPLETED" and seen[-1].done == 1

    buffer = io.StringIO()  # text: one line per change
    audits.run_on_demand_audit([LOGGING], poll_interval=0.02, progress=audits.TextProgress(buffer))
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("Audit ") and "IN_PROGRESS — 0/1" in lines[0]
    assert "COMPLETED — 1/1 checks done: 1 non-compliant" in lines[-1]
    # one line per change: a poll may also catch the moment the check is done but the task not yet (1/1, finishing)
    assert len(lines) <= 3 and all(a.rsplit(" (", 1)[0] != b.rsplit(" (", 1)[0] for a, b in zip(lines, lines[1:]))
    audits.run_on_demand_audit([LOGGING], poll_interval=0.02, progress="auto")  # no kernel here: text on stdout
    assert "COMPLETED" in capsys.readouterr().out

    sandbox_config(auditDelaySeconds=0)
    bar = audits.WidgetProgress(display=False)  # widget: a bar and a label
    audits.run_on_demand_audit([SHARED, LOGGING], poll_interval=0.02, progress=bar)
    assert (bar.bar.value, bar.bar.max, bar.bar.bar_style) == (2, 2, "success")
    assert "COMPLETED" in bar.label.value
    assert isinstance(audits.progress_reporter("widget"), audits.WidgetProgress)
    assert audits.progress_reporter(None) is None and not audits.in_notebook()
    with pytest.raises(WorkshopError, match="not a progress display"):
        audits.progress_reporter("fancy")


def test_timeout_names_the_audit_and_the_way_out_then_cancel(env):
    sandbox_config(auditDelaySeconds=2)
    task_id = audits.start_on_demand_audit([LOGGING])
    with pytest.raises(WorkshopError) as e:
        audits.wait_for_audit(task_id, timeout=0.2, **FAST)
    assert "still IN_PROGRESS after 0 s" in e.value.problem and task_id in e.value.problem
    assert f"audits.cancel_audit('{task_id}')" in e.value.fix and "timeout=" in e.value.fix
    assert audits.cancel_audit(task_id) == "CANCELED"
    with pytest.raises(WorkshopError, match="only audits IN_PROGRESS") as e:
        audits.cancel_audit(task_id)
    assert e.value.code == "InvalidRequestException"
    with pytest.raises(WorkshopError, match="no audit"):
        audits.cancel_audit("0" * 32)


def test_an_unconfigured_account(sandbox):
    with pytest.raises(WorkshopError, match="No audit checks are enabled") as e:
        audits.start_on_demand_audit()
    assert "configure_audit" in e.value.fix
    with pytest.raises(WorkshopError, match="not configured"):
        audits.start_on_demand_audit([LOGGING])
    with pytest.raises(WorkshopError, match="No audit checks are enabled"):
        audits.create_scheduled_audit("Daily", frequency="DAILY")
    frame = audits.audit_history(days=1)
    assert frame.empty and list(frame.columns) == audits.HISTORY_COLUMNS
    for kwargs, needle in [({"days": 0}, "outside the audit history"), ({"days": 91}, "outside the audit history"),
                           ({"task_type": "hourly"}, "not an audit type"),
                           ({"task_status": "DONE"}, "refused to list")]:
        with pytest.raises(WorkshopError, match=needle):
            audits.audit_history(**kwargs)


def test_at_most_ten_concurrent_audits_is_explained(env, no_retries):
    sandbox_config(auditDelaySeconds=3)
    ids = [audits.start_on_demand_audit([LOGGING]) for _ in range(10)]
    with pytest.raises(WorkshopError, match="at most 10") as e:
        audits.start_on_demand_audit([LOGGING])
    assert e.value.code == "LimitExceededException" and "cancel_audit" in e.value.fix
    for task_id in ids:
        audits.cancel_audit(task_id)


def test_bad_input_is_refused_before_aws(env):
    for names, needle, fix in [
        (["LOGING_DISABLED_CHECK"], "not an audit check", "LOGGING_DISABLED_CHECK"),
        (["DEVICE_CERTIFICATE_AGE_CHECK"], "not enabled", "settings.enable_checks(['DEVICE_CERTIFICATE_AGE_CHECK'])"),
        ([], "No audit checks were given", "ORIGINAL_14"),
    ]:
        with pytest.raises(WorkshopError) as e:
            audits.start_on_demand_audit(names)
        assert needle in e.value.problem and fix in e.value.fix
    with pytest.raises(WorkshopError, match="is not an audit task id"):
        audits.describe_audit("not a task!")
    with pytest.raises(WorkshopError, match="There is no audit") as e:
        audits.describe_audit("f" * 32)
    assert e.value.code == "ResourceNotFoundException" and "audit_history" in e.value.fix


def test_audit_results_one_row_per_check_non_compliant_first(env):
    task_id = audits.run_on_demand_audit(**FAST)["taskId"]
    frame = audits.audit_results(task_id)
    assert list(frame.columns) == ["check", "title", "severity", "status", "compliant", "resources", "non-compliant",
                                   "suppressed", "error"]
    assert len(frame) == len(CHECKS)
    assert list(frame["check"][:3]) == [POLICY, SHARED, LOGGING]  # non-compliant, by severity then title
    assert set(frame["compliant"][:3]) == {"✗"} and set(frame["compliant"][3:]) == {"✓"}
    text = repr(audits.audit_results_table(task_id))
    assert "Device certificate shared" in text and "Styler" not in text


def test_failed_checks_show_their_error(sandbox):
    iam = sandbox.client("iam")
    settings.configure_audit(check_names=[LOGGING, SHARED], daily_audit=False)
    iam.detach_role_policy(RoleName=settings.DEFAULT_AUDIT_ROLE_NAME,
                           PolicyArn=settings.managed_policy_arn(settings.AUDIT_POLICY_NAME))
    iam.put_role_policy(RoleName=settings.DEFAULT_AUDIT_ROLE_NAME, PolicyName="logging-only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
                                                 "Action": ["iot:GetLoggingOptions", "iot:GetV2LoggingOptions"]}]}))
    task_id = audits.run_on_demand_audit(**FAST)["taskId"]
    frame = audits.audit_results(task_id)
    assert list(frame["status"]) == ["COMPLETED_NON_COMPLIANT", "FAILED"]  # what needs attention first
    frame = frame.set_index("check")
    assert frame.loc[SHARED, "status"] == "FAILED"
    assert frame.loc[SHARED, "error"].startswith("INSUFFICIENT_PERMISSIONS") and frame.loc[SHARED, "compliant"] == ""


# -- schedules ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args,expected", [
    (("daily",), {"frequency": "DAILY"}),
    (("WEEKLY", "Monday"), {"frequency": "WEEKLY", "dayOfWeek": "MON"}),
    (("bi-weekly", "sun"), {"frequency": "BIWEEKLY", "dayOfWeek": "SUN"}),
    (("MONTHLY", None, 31), {"frequency": "MONTHLY", "dayOfMonth": "31"}),
    (("MONTHLY", None, "last"), {"frequency": "MONTHLY", "dayOfMonth": "LAST"}),
])
def test_valid_schedules(args, expected):
    assert audits.validate_schedule(*args) == expected


@pytest.mark.parametrize("args,needle,fix", [
    (("HOURLY",), "not an audit frequency", "DAILY, WEEKLY"),
    (("DAYLY",), "not an audit frequency", "Did you mean 'DAILY'"),
    (("DAILY", "MON"), "runs every day", "Leave both out"),
    (("DAILY", None, 1), "runs every day", "Leave both out"),
    (("WEEKLY",), "needs day_of_week", "SUN, MON"),
    (("WEEKLY", "Funday"), "not a day of the week", "SUN, MON"),
    (("BIWEEKLY", None, 3), "not a day of the month", "day_of_week"),
    (("MONTHLY",), "needs day_of_month", "LAST"),
    (("MONTHLY", None, 32), "not a day of the month", "1 to 31"),
    (("MONTHLY", None, 0), "not a day of the month", "1 to 31"),
    (("MONTHLY", "MON"), "not a day of the week", "day_of_month"),
])
def test_bad_schedules_name_the_problem_and_fix(args, needle, fix):
    with pytest.raises(WorkshopError) as e:
        audits.validate_schedule(*args)
    assert needle in e.value.problem and fix in e.value.fix


def test_scheduled_audit_lifecycle(env):
    arn = audits.create_scheduled_audit("WeeklyCerts", frequency="weekly", day_of_week="tue",
                                        check_names=[SHARED, EXPIRING], tags={"team": "iot"})
    assert arn.endswith(":scheduledaudit/WeeklyCerts")
    tags = {t["Key"]: t["Value"] for t in env.iot.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"team": "iot", **{t["Key"]: t["Value"] for t in workshop_tags()}}
    assert tags["workshop"] == "iot-audit-module2"
    audits.create_scheduled_audit("Everything", frequency="DAILY")  # default: every enabled check
    frame = audits.list_scheduled_audits().set_index("name")
    assert frame.loc["WeeklyCerts", "day of week"] == "TUE" and frame.loc["WeeklyCerts", "checks"] == 2
    assert frame.loc["Everything", "checks"] == len(CHECKS) and frame.loc["Everything", "day of week"] == ""

    audits.update_scheduled_audit("WeeklyCerts", frequency="MONTHLY", day_of_month="LAST")
    d = audits.describe_scheduled_audit("WeeklyCerts")
    assert (d["frequency"], d.get("dayOfMonth"), d.get("dayOfWeek")) == ("MONTHLY", "LAST", None)
    audits.update_scheduled_audit("WeeklyCerts", check_names=[LOGGING])  # the schedule stays
    d = audits.describe_scheduled_audit("WeeklyCerts")
    assert (d["frequency"], d["dayOfMonth"], d["targetCheckNames"]) == ("MONTHLY", "LAST", [LOGGING])
    audits.update_scheduled_audit("WeeklyCerts", frequency="BIWEEKLY", day_of_week="FRI")
    assert audits.describe_scheduled_audit("WeeklyCerts")["dayOfWeek"] == "FRI"
    with pytest.raises(WorkshopError, match="not a day of the week"):
        audits.update_scheduled_audit("WeeklyCerts", day_of_week="Caturday")
    assert audits.delete_scheduled_audit("WeeklyCerts") == "Deleted the scheduled audit WeeklyCerts."
    assert list(audits.list_scheduled_audits()["name"]) == ["Everything"]


def test_scheduled_audit_mistakes_are_explained(env):
    audits.create_scheduled_audit("Nightly", frequency="DAILY", check_names=[LOGGING])
    with pytest.raises(WorkshopError, match="already exists") as e:
        audits.create_scheduled_audit("Nightly", frequency="DAILY", check_names=[LOGGING])
    assert "update_scheduled_audit('Nightly'" in e.value.fix and e.value.code == "ResourceAlreadyExistsException"
    with pytest.raises(WorkshopError, match="not a valid scheduled audit name"):
        audits.create_scheduled_audit("bad name!", frequency="DAILY")
    with pytest.raises(WorkshopError, match="not enabled"):
        audits.create_scheduled_audit("Age", frequency="DAILY", check_names=["DEVICE_CERTIFICATE_AGE_CHECK"])
    with pytest.raises(WorkshopError, match="no scheduled audit 'Nigthly'") as e:
        audits.update_scheduled_audit("Nigthly", frequency="WEEKLY", day_of_week="MON")
    assert "Did you mean 'Nightly'" in e.value.fix
    with pytest.raises(WorkshopError, match="no scheduled audit"):
        audits.delete_scheduled_audit("Gone")
    with pytest.raises(WorkshopError, match="runs on a day of the month, not a day of the week"):
        audits.create_scheduled_audit("M", frequency="MONTHLY", day_of_month=1, day_of_week="MON")


def test_deleting_a_schedule_in_a_real_account_needs_confirm(env, real_account):
    audits.create_scheduled_audit("Keep", frequency="DAILY", check_names=[LOGGING])
    with pytest.raises(WorkshopError, match="real AWS account") as e:
        audits.delete_scheduled_audit("Keep")
    assert "confirm=True" in e.value.fix
    assert list(audits.list_scheduled_audits()["name"]) == ["Keep"]
    audits.delete_scheduled_audit("Keep", confirm=True)
    assert audits.list_scheduled_audits().empty


def test_five_scheduled_audits_at_most(env, no_retries):
    for i in range(5):
        audits.create_scheduled_audit(f"S{i}", frequency="DAILY", check_names=[LOGGING])
    with pytest.raises(WorkshopError, match="5 scheduled audits") as e:
        audits.create_scheduled_audit("S5", frequency="DAILY", check_names=[LOGGING])
    assert "delete_scheduled_audit" in e.value.fix


def test_a_scheduled_audit_runs_now_in_the_sandbox_only(env, monkeypatch):
    audits.create_scheduled_audit("Nightly", frequency="DAILY", check_names=[LOGGING])
    audits.create_scheduled_audit("Weekly", frequency="WEEKLY", day_of_week="MON", check_names=[SHARED])
    final = audits.wait_for_audit(audits.run_scheduled_audit_now("Weekly"), **FAST)
    assert (final["taskType"], final["scheduledAuditName"], final["taskStatus"]) == (
        "SCHEDULED_AUDIT_TASK", "Weekly", "COMPLETED")
    assert list(final["auditDetails"]) == [SHARED]
    with pytest.raises(WorkshopError, match="no scheduled audit 'Weekyl'") as e:
        audits.run_scheduled_audit_now("Weekyl")
    assert "Did you mean 'Weekly'" in e.value.fix
    monkeypatch.setattr(target, "is_sandbox", lambda: False)
    with pytest.raises(WorkshopError, match="sandbox control") as e:
        audits.run_scheduled_audit_now("Weekly")
    assert "run_on_demand_audit" in e.value.fix


# -- history ------------------------------------------------------------------------------------------------------
def test_history_and_the_latest_on_demand_audit(env):
    with pytest.raises(WorkshopError, match="No completed on-demand audit") as e:
        audits.latest_on_demand_audit()
    assert "run_on_demand_audit" in e.value.fix
    first = audits.run_on_demand_audit(**FAST)["taskId"]
    second = audits.run_on_demand_audit([LOGGING], **FAST)["taskId"]
    audits.create_scheduled_audit("Daily", frequency="DAILY", check_names=[SHARED, LOGGING])
    (scheduled,) = target.sandbox_control("POST", "/_sandbox/clock", {"advanceSeconds": 86400 + 60})["startedTaskIds"]
    audits.wait_for_audit(scheduled, **FAST)

    later = datetime.now(timezone.utc) + timedelta(days=2)  # the sandbox clock moved a day ahead of the wall clock
    history = audits.audit_history(end_time=later)
    assert list(history.columns) == audits.HISTORY_COLUMNS
    assert list(history["task id"]) == [scheduled, second, first]  # newest first
    row = history.set_index("task id").loc[first]
    assert (row["type"], row["status"], row["checks"], row["non-compliant checks"]) == ("on-demand", "COMPLETED", 5, 3)
    assert (row["CRITICAL"], row["LOW"], row["non-compliant resources"]) == (2, 1, 3)
    sched = history.set_index("task id").loc[scheduled]
    assert (sched["type"], sched["scheduled audit"]) == ("scheduled", "Daily")
    assert list(audits.audit_history(task_type="scheduled", end_time=later)["task id"]) == [scheduled]
    assert len(audits.audit_history(task_type="ON_DEMAND_AUDIT_TASK", task_status="COMPLETED")) == 2
    assert audits.latest_on_demand_audit() == second


def test_progress_estimates_the_time_left_from_the_pace_of_the_checks():
    def progress(done: int, total: int, elapsed: float, status: str = "IN_PROGRESS") -> audits.AuditProgress:
        return audits.AuditProgress("t1", status, done, total, elapsed, {"taskStatistics": {}})

    assert progress(0, 4, 3).remaining() is None and "estimating the time left" in progress(0, 4, 3).text()
    assert progress(1, 4, 10).remaining() == 30 and "about 30 s left" in progress(1, 4, 10).text()
    assert progress(3, 4, 30).remaining() == 10
    assert progress(4, 4, 40).remaining() is None and "finishing" in progress(4, 4, 40).text()
    assert progress(4, 4, 40, "COMPLETED").remaining() is None and "left" not in progress(4, 4, 40, "COMPLETED").text()
