"""The map of the workshop: its notebooks in order, what each covers and how long it takes; and the headless course
(``iot-audit workshop``): the module's steps end to end, each naming the notebook where an attendee does it, with the
expectation that must hold after it."""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import audit_choice, audits, findings, fleet, mitigation, settings
from .errors import StepFailed, WorkshopError

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"

# (file, module section, title, minutes)
NOTEBOOKS: tuple[tuple[str, str, str, int], ...] = (
    ("00-start-here.ipynb", "—", "Start here: environment check, target, map", 10),
    ("01-audit-settings.ipynb", "§1.1", "Check and configure the audit settings", 15),
    ("02-on-demand-audit.ipynb", "§1.2", "Run an on-demand audit and read the findings", 20),
    ("03-define-mitigation-actions.ipynb", "§2.1", "Define a mitigation action", 10),
    ("04-apply-mitigation-actions.ipynb", "§2.2", "Apply mitigation actions to findings and verify", 15),
    ("05-automate-at-scale.ipynb", "beyond", "Audit and mitigate thousands of devices automatically", 30),
    ("99-cleanup.ipynb", "—", "Clean up everything the workshop created", 5),
)

SHARED_CHECK = "DEVICE_CERTIFICATE_SHARED_CHECK"
DEFAULT_ACTION = "Update-device-certificate"  # the module's mitigation action (notebooks 03 and 04)
DEFAULT_MAPPING = {SHARED_CHECK: [DEFAULT_ACTION]}


def workshop_map() -> list[dict[str, object]]:
    """Return the notebooks in order with section, title, minutes and whether the notebook is in this checkout."""
    return [
        {"notebook": name, "section": section, "title": title, "minutes": minutes,
         "status": "ready" if (NOTEBOOKS_DIR / name).exists() else "in preparation"}
        for name, section, title, minutes in NOTEBOOKS
    ]


# -- the headless course ---------------------------------------------------------------------------------------------
@dataclass
class Step:
    """One step of the headless course, the notebook where an attendee does it, and how it went."""

    name: str
    notebook: str
    run: Callable[[], str]  # returns what it did; raises StepFailed when its expectation does not hold
    ok: bool | None = None  # None: not run
    detail: str = ""


def course(confirm: bool = False, timeout: float = 900) -> list[Step]:
    """Return the module's steps, in order, sharing their results through a dict (``confirm``: aws mode may change
    the account; ``timeout``: seconds to wait for the audit and the mitigation task).

    AWS operations:
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    [StartOnDemandAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartOnDemandAuditTask.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [CreateMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateMitigationAction.html),
    [StartAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartAuditMitigationActionsTask.html),
    [UpdateCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateCertificate.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    ctx: dict[str, Any] = {}

    def environment() -> str:
        env = ctx["env"] = fleet.build_workshop_environment(confirm=confirm)
        table = fleet.verify_workshop_environment(env)
        bad = table[table["ok"] != "✓"]
        if not bad.empty and list(bad["item"]) != ["shared certificate status"]:  # INACTIVE: the last step fixes it
            raise StepFailed("; ".join(f"{r.item}: {r.actual} (fix: {r.fix})" for r in bad.itertuples()))
        return f"{'reused' if env.reused else 'built'} run {env.run_id}: {', '.join(env.things)}"

    def validate() -> str:
        result = settings.validate_audit_settings(sns_alerts=False)
        if not result.ok:
            raise StepFailed("; ".join(f"{r.requirement}: {r.detail} (fix: {r.fix})" for r in result.failures))
        return f"{len(result.requirements)} requirements hold"

    def sns() -> str:
        env = ctx["env"]
        settings.configure_sns_alerts(topic_arn=env.sns_topic_arn, role_arn=env.sns_role_arn, confirm=confirm)
        result = settings.validate_audit_settings()
        if not result.ok:
            raise StepFailed("; ".join(f"{r.requirement}: {r.detail}" for r in result.failures))
        return f"alerts → {env.sns_topic_arn.rsplit(':', 1)[-1]}"

    def audit() -> str:
        result = audits.run_on_demand_audit(settings.enabled_checks(), timeout=timeout, poll_interval=0.5,
                                            progress=None)
        ctx["task_id"] = result["taskId"]
        if result["taskStatus"] != "COMPLETED":
            raise StepFailed(f"audit {result['taskId']} ended {result['taskStatus']}")
        return f"audit {result['taskId']} COMPLETED ({result['taskStatistics'].get('totalChecks', 0)} checks)"

    def expect_three() -> str:
        choice = audit_choice.choose_audit(ctx["env"], ctx["task_id"])  # an earlier audit, if the lag hides it
        if not choice.shows_shared_certificate:
            raise StepFailed(choice.message)
        ctx["task_id"] = choice.task_id
        found = set(findings.non_compliant_checks(ctx["task_id"])["check"])
        expected = set(fleet.MODULE1_NON_COMPLIANT)
        if found != expected:
            raise StepFailed(f"missing {sorted(expected - found) or 'none'}, unexpected "
                             f"{sorted(found - expected) or 'none'} in audit {ctx['task_id']}")
        return ", ".join(sorted(found)) + ("" if choice.source == "new" else f" (earlier audit {choice.task_id})")

    def define_action() -> str:
        action = mitigation.create_mitigation_action(DEFAULT_ACTION, "UPDATE_DEVICE_CERTIFICATE")
        return f"{action['actionName']} ({action['actionType']}, role {action['roleArn'].rsplit('/', 1)[-1]})"

    def mitigate() -> str:
        table = findings.list_findings(ctx["task_id"], check_name=SHARED_CHECK)
        if table.empty:
            raise StepFailed(f"audit {ctx['task_id']} has no {SHARED_CHECK} finding")
        finding_id = table.iloc[0]["finding id"]
        mtask = mitigation.start_mitigation_task(DEFAULT_MAPPING, finding_ids=[finding_id], confirm=confirm)
        final = mitigation.wait_for_mitigation_task(mtask, timeout=timeout, poll_interval=0.5, progress=None)
        statuses = set(mitigation.mitigation_executions(mtask)["status"])
        if final["taskStatus"] != "COMPLETED" or statuses != {"COMPLETED"}:
            raise StepFailed(f"task {mtask} {final['taskStatus']}, executions {sorted(statuses)}")
        return f"task {mtask} COMPLETED"

    def verify_inactive() -> str:
        table = mitigation.verify_certificates([ctx["env"].certificate_id], expected="INACTIVE")
        status = table.iloc[0]["status"]
        if not bool(table.iloc[0]["as expected"]):
            raise StepFailed(f"certificate is {status}, expected INACTIVE")
        return f"certificate {ctx['env'].certificate_id[:12]}… INACTIVE"

    def reactivate() -> str:
        fleet.reactivate_certificate(ctx["env"], confirm=confirm)
        status = mitigation.certificate_status(ctx["env"].certificate_id)
        if status != "ACTIVE":
            raise StepFailed(f"certificate is {status}, expected ACTIVE")
        return "certificate ACTIVE again (ready for Module 3)"

    return [Step("Module 1 environment", "01-audit-settings.ipynb", environment),
            Step("audit settings valid", "01-audit-settings.ipynb", validate),
            Step("SNS alerts enabled", "01-audit-settings.ipynb", sns),
            Step("on-demand audit", "02-on-demand-audit.ipynb", audit),
            Step("three non-compliant checks", "02-on-demand-audit.ipynb", expect_three),
            Step("mitigation action defined", "03-define-mitigation-actions.ipynb", define_action),
            Step("shared certificate mitigated", "04-apply-mitigation-actions.ipynb", mitigate),
            Step("certificate INACTIVE", "04-apply-mitigation-actions.ipynb", verify_inactive),
            Step("certificate reactivated", "04-apply-mitigation-actions.ipynb", reactivate)]


def run_course(steps: list[Step], on_start: Callable[[int, Step], None] | None = None) -> list[Step]:
    """Run ``steps`` in order, each one's printing kept from stdout, until one fails; return them with ``ok`` and
    ``detail`` set (``on_start(i, step)`` is called before step i, counting from 1)."""
    for i, step in enumerate(steps, 1):
        if on_start is not None:
            on_start(i, step)
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured):
                step.detail = step.run()
            step.ok = True
        except KeyboardInterrupt:
            raise
        except StepFailed as exc:
            step.ok, step.detail = False, str(exc)
            break
        except WorkshopError as exc:
            step.ok, step.detail = False, exc.problem + (f" — fix: {exc.fix}" if exc.fix else "")
            break
        except Exception as exc:  # noqa: BLE001 - a step's unexpected failure is reported, not a traceback
            step.ok, step.detail = False, f"{type(exc).__name__}: {exc}"
            break
    return steps


def course_summary(steps: list[Step], where: str) -> str:
    """Return the ✓/✗/– summary of a course run on ``where`` (target and region), one line per step."""
    lines = [f"Workshop check ({where}):"]
    for step in steps:
        mark = {True: "✓", False: "✗", None: "–"}[step.ok]
        lines.append(f"  {mark} {step.name}: {step.detail if step.ok is not None else 'not run'}")
    failed = [s for s in steps if s.ok is False]
    lines.append(f"Stopped at step '{failed[0].name}'." if failed else f"All {len(steps)} steps passed.")
    return "\n".join(lines)
