"""``iot-audit``: the workshop on the command line, for instructors and automation, on the same helpers as the notebooks.

Subcommands: ``sandbox serve``, ``setup``, ``reset``, ``audit``, ``findings``, ``mitigate``, ``report``, ``cleanup`` and
``workshop`` (the module's steps headless, end to end, with a ✓/✗ summary). Exit codes as AWS tools use them: 0 ok,
1 a step or check failed (a :class:`~helpers.errors.WorkshopError` prints ``error:`` and ``fix:`` lines), 2 usage
error or nothing checked (``workshop`` in aws mode without ``--yes``), 130 interrupted. Machine-readable output
(``--output csv|json``) goes to stdout; progress goes to stderr.

This module parses and dispatches; the work is the helpers'. The report is :mod:`helpers.report`'s, the headless course
(its steps and expectations) :mod:`helpers.workshop`'s, next to the notebook map.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .errors import StepFailed, WorkshopError
from .workshop import DEFAULT_ACTION, DEFAULT_MAPPING, SHARED_CHECK

PROG = "iot-audit"
OUTPUTS = ("table", "csv", "json")


# -- small helpers ---------------------------------------------------------------------------------------------------
def _err(message: str) -> None:
    """Print ``message`` on stderr."""
    print(message, file=sys.stderr, flush=True)


def _progress() -> Callable[[Any], None]:
    """Return a text progress reporter that writes to stderr (stdout stays machine-readable)."""
    from .audits import TextProgress

    return TextProgress(stream=sys.stderr)


def _require_target() -> None:
    """Fail with a fix when the sandbox endpoint is not running (a CLI process must not start a throwaway one)."""
    from . import target

    if target.is_sandbox() and not target.sandbox_reachable():
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/") or target.DEFAULT_ENDPOINT
        raise WorkshopError(f"No sandbox answers at {endpoint}.",
                            f"Start one in another terminal with `{PROG} sandbox serve` (or `make lab`), or set "
                            "AWS_ENDPOINT_URL to where it runs; for a real account set WORKSHOP_TARGET=aws.")


def _frame_text(frame: pd.DataFrame) -> str:
    """Return ``frame`` as a plain-text table sized for the terminal."""
    if frame.empty:
        return "(none)"
    width = shutil.get_terminal_size((160, 24)).columns
    with pd.option_context("display.width", width, "display.max_columns", None, "display.max_colwidth", 70):
        return frame.to_string(index=False, max_colwidth=70)


def _jsonable(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return the rows of ``frame`` as JSON-ready dicts (timestamps as ISO 8601, categories as strings)."""
    return json.loads(frame.to_json(orient="records", date_format="iso", force_ascii=False))


def _emit(frame: pd.DataFrame, output: str, *, meta: dict[str, Any] | None = None, key: str = "rows",
          title: str = "") -> None:
    """Print ``frame`` as a table (with ``title``), CSV, or JSON (``meta`` plus the rows under ``key``)."""
    if output == "csv":
        sys.stdout.write(frame.to_csv(index=False))
    elif output == "json":
        print(json.dumps({**(meta or {}), key: _jsonable(frame)}, indent=2, ensure_ascii=False, default=str))
    else:
        if title:
            print(title)
        print(_frame_text(frame))


def _latest_task(task_id: str | None) -> str:
    """Return ``task_id``, or the most recent completed on-demand audit."""
    from . import audits

    return task_id or audits.latest_on_demand_audit()


def _parse_mapping(pairs: list[str] | None) -> dict[str, list[str]]:
    """Return the check -> actions mapping given as ``CHECK=ACTION[,ACTION]`` pairs (the module's default when none)."""
    if not pairs:
        return {k: list(v) for k, v in DEFAULT_MAPPING.items()}
    mapping: dict[str, list[str]] = {}
    for pair in pairs:
        check, sep, actions = pair.partition("=")
        names = [a.strip() for a in actions.split(",") if a.strip()]
        if not sep or not check.strip() or not names:
            raise WorkshopError(f"--map {pair!r} is not CHECK=ACTION[,ACTION].",
                                f"Write e.g. --map {SHARED_CHECK}={DEFAULT_ACTION}.")
        mapping.setdefault(check.strip(), []).extend(names)
    return mapping


# -- subcommands -----------------------------------------------------------------------------------------------------
def cmd_sandbox_serve(args: argparse.Namespace) -> int:
    """Run the sandbox endpoint in the foreground (delegates to ``python -m helpers.sandbox serve``)."""
    from .sandbox.__main__ import main as sandbox_main

    argv = (["serve", "--host", args.host, "--port", str(args.port), "--mqtt-port", str(args.mqtt_port)]
            + (["--allow-remote"] if args.allow_remote else []))
    return sandbox_main(argv)


def _verify_environment(env: Any, gaps: str, ready: str) -> int:
    """Print the Module 1 verification table, then ``ready``, and return 0; raise StepFailed(``gaps``) on a ✗ row."""
    from . import fleet

    table = fleet.verify_workshop_environment(env)
    print(_frame_text(table[["ok", "item", "actual", "fix"]]))
    if not (table["ok"] == "✓").all():
        raise StepFailed(gaps)
    print(ready)
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    """Build (or reuse) the Module 1 environment, then verify it.

    AWS operations: [CreateThing](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html),
    [RegisterCertificateWithoutCA](https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCertificateWithoutCA.html),
    [CreatePolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html),
    [CreateRole](https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html),
    [CreateTopic](https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html),
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    from . import fleet

    env = fleet.build_workshop_environment(confirm=args.yes, rebuild=args.rebuild)
    if not env.reused:
        print(env)
    return _verify_environment(env, "The Module 1 environment has gaps (✗ above); each row names its fix.",
                               "✓ The Module 1 environment is ready.")


def _forget_sandbox_runs() -> int:
    """Forget the recorded runs of the sandbox (every region) and their key folders; return how many."""
    from . import state

    gone = [r["run_id"] for r in state.runs(here=False) if r.get("target") == "sandbox"]
    for run_id in gone:
        state.forget_run(run_id)
        shutil.rmtree(state.keys_dir(run_id), ignore_errors=True)
    return len(gone)


def cmd_reset(args: argparse.Namespace) -> int:
    """Wipe the sandbox and rebuild the Module 1 environment (sandbox only).

    AWS operations: [DeleteThing](https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteThing.html),
    [DeleteCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DeleteCertificate.html),
    [DeletePolicy](https://docs.aws.amazon.com/iot/latest/apireference/API_DeletePolicy.html),
    [CreateThing](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateThing.html),
    [RegisterCertificateWithoutCA](https://docs.aws.amazon.com/iot/latest/apireference/API_RegisterCertificateWithoutCA.html),
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    from . import fleet, target

    if not target.is_sandbox():
        raise WorkshopError("reset only works on the sandbox: it wipes everything, and a real account has no reset.",
                            f"Use `{PROG} cleanup` (dry run) then `{PROG} cleanup --yes` to remove what the workshop "
                            "created in a real account.")
    target.reset_sandbox()
    forgotten = _forget_sandbox_runs()
    print(f"Sandbox {target.sandbox_endpoint()} wiped ({forgotten} recorded run(s) forgotten).")
    if args.empty:
        return 0
    env = fleet.build_workshop_environment()
    print(env)
    return _verify_environment(env, "The rebuilt environment has gaps (✗ above).", "✓ Ready for the next group.")


def cmd_audit(args: argparse.Namespace) -> int:
    """Run an on-demand audit, wait for it, and print one row per check.

    AWS operations:
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html),
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [StartOnDemandAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartOnDemandAuditTask.html).
    """
    from . import audits
    from .checks import resolve_check_names

    names = resolve_check_names(args.checks) if args.checks else None
    report = None if args.quiet else _progress()
    result = audits.run_on_demand_audit(names, timeout=args.timeout, poll_interval=args.poll_interval,
                                        progress=report)
    task_id, status = result["taskId"], result["taskStatus"]
    frame = audits.audit_results(task_id)
    stats = result.get("taskStatistics", {})
    meta = {"taskId": task_id, "taskStatus": status, "taskStatistics": stats}
    _emit(frame, args.output, meta=meta, key="checks",
          title=f"Audit {task_id}: {status} — {stats.get('nonCompliantChecks', 0)} non-compliant, "
                f"{stats.get('compliantChecks', 0)} compliant, {stats.get('failedChecks', 0)} failed")
    if status != "COMPLETED":
        raise StepFailed(f"Audit {task_id} ended {status}.")
    if args.fail_on_findings and stats.get("nonCompliantChecks", 0):
        _err(f"{stats['nonCompliantChecks']} non-compliant check(s) (--fail-on-findings).")
        return 1
    return 0


def cmd_findings(args: argparse.Namespace) -> int:
    """Print the findings of the latest (or a given) audit.

    AWS operations:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html).
    """
    from . import findings

    task_id = _latest_task(args.task_id)
    frame = findings.list_findings(task_id, check_name=args.check)
    if args.output == "table":
        frame = frame[["check", "severity", "resource type", "resource id", "reason", "finding id"]]
    _emit(frame, args.output, meta={"taskId": task_id}, key="findings",
          title=f"Findings of audit {task_id}: {len(frame)}")
    return 0


def _missing_actions(mapping: dict[str, list[str]]) -> list[str]:
    """Return the mapped mitigation actions that do not exist yet."""
    from . import mitigation

    names = dict.fromkeys(a for actions in mapping.values() for a in actions)
    return [n for n in names if mitigation.describe_mitigation_action(n, missing_ok=True) is None]


def _findings_of_checks(task_id: str, checks: list[str]) -> pd.DataFrame:
    """Return the unsuppressed findings of ``task_id`` for the given checks."""
    from . import findings
    from .checks import resolve_check_name

    wanted = {resolve_check_name(c) for c in checks}
    frame = findings.list_findings(task_id)
    return frame[frame["check"].isin(wanted) & ~frame["suppressed"].astype(bool)]


def cmd_mitigate(args: argparse.Namespace) -> int:
    """Apply mitigation actions to an audit's findings (dry run by default in aws mode).

    AWS operations:
    [StartAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartAuditMitigationActionsTask.html),
    [DescribeAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditMitigationActionsTask.html),
    [ListAuditMitigationActionsExecutions](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditMitigationActionsExecutions.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    from . import mitigation, target

    task_id = _latest_task(args.task_id)
    default = not args.map
    mapping = _parse_mapping(args.map)
    dry_run = args.dry_run or (not target.is_sandbox() and not args.yes)
    missing = _missing_actions(mapping)
    if missing and not default:
        raise WorkshopError(f"Mitigation action(s) {', '.join(missing)} do not exist.",
                            "Create them first (notebook 03, helpers.mitigation.create_mitigation_action), or leave "
                            f"--map out to use the module's default ({DEFAULT_ACTION}, created when missing).")
    if dry_run:
        print(f"Dry run: nothing was changed{'' if target.is_sandbox() else ' in your AWS account'}.")
        if missing:
            print(f"Would create mitigation action {DEFAULT_ACTION} (UPDATE_DEVICE_CERTIFICATE: deactivates the "
                  "device certificate) and its role.")
            frame = _findings_of_checks(task_id, list(mapping))
            frame = frame.assign(action=DEFAULT_ACTION, will="deactivate the certificate of " + frame["resource id"])
            print(_frame_text(frame[["finding id", "check", "action", "will"]]))
        else:
            print(_frame_text(mitigation.preview_mitigation(mapping, audit_task_id=task_id)))
        print(f"Run again with --yes to apply this to audit {task_id}.")
        return 0
    if missing:
        mitigation.create_mitigation_action(DEFAULT_ACTION, "UPDATE_DEVICE_CERTIFICATE")
        print(f"Created mitigation action {DEFAULT_ACTION} (UPDATE_DEVICE_CERTIFICATE).")
    preview = mitigation.preview_mitigation(mapping, audit_task_id=task_id)
    if preview.empty:
        print(f"Audit {task_id} has no findings for {', '.join(mapping)}; nothing to mitigate.")
        return 0
    print(_frame_text(preview))
    mtask = mitigation.start_mitigation_task(mapping, audit_task_id=task_id, confirm=True)
    final = mitigation.wait_for_mitigation_task(mtask, timeout=args.timeout, poll_interval=args.poll_interval,
                                                progress=None if args.quiet else _progress())
    executions = mitigation.mitigation_executions(mtask)
    print(f"Mitigation task {mtask}: {final['taskStatus']}")
    print(_frame_text(executions[["finding", "action", "status", "error", "message"]]))
    failed = executions[executions["status"] != "COMPLETED"]
    if final["taskStatus"] != "COMPLETED" or not failed.empty:
        raise StepFailed(f"Mitigation task {mtask} ended {final['taskStatus']} with {len(failed)} execution(s) not "
                         "COMPLETED (see above).")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write a self-contained HTML or Markdown report of an audit, charts included.

    AWS operations:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html).
    """
    from . import report

    out = Path(args.out)
    fmt = report.report_format(out, args.format)
    data = report.write_report(out, args.task_id, fmt)
    print(f"Wrote the {'Markdown' if fmt == 'md' else 'HTML'} report of audit {data.task_id} to {out} "
          f"({out.stat().st_size // 1024} KiB, {len(data.charts)} charts embedded).")
    return 0


def cmd_cleanup(args: argparse.Namespace) -> int:
    """List (dry run, the default) or delete (--yes) everything the workshop created here."""
    from . import fleet

    report = fleet.cleanup(dry_run=not args.yes, confirm=args.yes, run_id=args.run_id, kind=args.kind)
    if not report.items:
        print(report)
        return 0
    if args.yes:
        print(report)
    else:
        print(f"Dry run: would delete {len(report.items)} resources (runs {', '.join(report.runs) or 'none'}):")
        print(_frame_text(report.table[["kind", "name", "run", "found by"]]))
        print(f"Nothing was deleted. Run `{PROG} cleanup --yes` to delete them.")
    return 0


def cmd_workshop(args: argparse.Namespace) -> int:
    """Run the module's steps headless end to end and print a ✓/✗ summary.

    AWS operations:
    [UpdateAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAccountAuditConfiguration.html),
    [StartOnDemandAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartOnDemandAuditTask.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [CreateMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateMitigationAction.html),
    [StartAuditMitigationActionsTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartAuditMitigationActionsTask.html),
    [UpdateCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateCertificate.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    from . import target, workshop

    steps = workshop.course(args.yes, args.timeout)
    if not target.is_sandbox() and not args.yes:
        print("Dry run: in aws mode these steps change your real account (resources, audit cost, a certificate "
              "deactivated then reactivated), so nothing was run or checked:")
        for i, step in enumerate(steps, 1):
            print(f"  {i}. {step.name}")
        print(f"Run again with --yes to run them: `{PROG} workshop --yes`.")
        return 2  # not a pass: a CI check of an account must not read "nothing checked" as success
    workshop.run_course(steps, on_start=None if args.quiet else
                        lambda i, step: _err(f"[{i}/{len(steps)}] {step.name} …"))
    print(workshop.course_summary(steps, f"{target.get_target()}, {target.get_region()}"))
    return 1 if any(step.ok is False for step in steps) else 0


# -- parser ----------------------------------------------------------------------------------------------------------
def _examples(*lines: str) -> str:
    """Return an epilog listing example command lines."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``iot-audit`` and its subcommands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--target", choices=("sandbox", "aws", "rehearsal"), default=argparse.SUPPRESS,
                        help="sandbox (local, default) or aws (your account); default: $WORKSHOP_TARGET")
    common.add_argument("--region", default=argparse.SUPPRESS, help="AWS region; default: $AWS_DEFAULT_REGION or "
                                                                    "us-east-1")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks of unexpected errors")
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], formatter_class=raw,
        description="AWS IoT Device Defender Audit workshop (Module 2) on the command line: sandbox by default, your "
                    "AWS account with --target aws (or WORKSHOP_TARGET=aws).",
        epilog=_examples(f"{PROG} sandbox serve                 # terminal 1: the local endpoint",
                         f"{PROG} workshop                      # terminal 2: check every step of the module",
                         f"{PROG} audit --output json > audit.json",
                         f"{PROG} --target aws cleanup           # what would be deleted (nothing is)")
        + "\n\nexit codes: 0 ok, 1 a step or check failed, 2 usage error, 130 interrupted")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_: str, *examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".", parents=[common],
                              formatter_class=raw, epilog=_examples(*examples))

    def output(p: argparse.ArgumentParser) -> None:
        p.add_argument("--output", "-o", choices=OUTPUTS, default="table", help="table (default), csv or json")

    p = add("sandbox", "the local sandbox endpoint", f"{PROG} sandbox serve", f"{PROG} sandbox serve --port 5001")
    sandbox_sub = p.add_subparsers(dest="sandbox_command", required=True, metavar="SANDBOX_COMMAND")
    s = sandbox_sub.add_parser("serve", help="serve the sandbox in the foreground until Ctrl-C", formatter_class=raw,
                               description="Serve the sandbox endpoint in the foreground until interrupted.",
                               epilog=_examples(f"{PROG} sandbox serve",
                                                f"AWS_ENDPOINT_URL=http://127.0.0.1:5001 {PROG} sandbox serve --port 5001"))
    from .sandbox.server import DEFAULT_HOST, DEFAULT_MQTT_PORT, DEFAULT_PORT

    s.add_argument("--host", default=DEFAULT_HOST, help=f"address to bind (default {DEFAULT_HOST})")
    s.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    s.add_argument("--mqtt-port", type=int, default=DEFAULT_MQTT_PORT,
                   help=f"MQTT data plane port on 127.0.0.1 (default {DEFAULT_MQTT_PORT}; 0 picks a free one)")
    s.add_argument("--allow-remote", action="store_true", help="needed to bind a non-loopback address")
    s.set_defaults(func=cmd_sandbox_serve, needs_target=False)

    p = add("setup", "build (or reuse) and verify the Module 1 environment", f"{PROG} setup",
            f"{PROG} setup --rebuild", f"{PROG} --target aws setup --yes")
    p.add_argument("--rebuild", action="store_true", help="delete the existing environment first")
    p.add_argument("--yes", "-y", action="store_true", help="aws mode: allow the changes (listed without it)")
    p.set_defaults(func=cmd_setup)

    p = add("reset", "wipe the sandbox and rebuild the Module 1 environment (sandbox only)", f"{PROG} reset",
            f"{PROG} reset --empty              # wipe only")
    p.add_argument("--empty", action="store_true", help="only wipe; do not rebuild the environment")
    p.set_defaults(func=cmd_reset)

    p = add("audit", "run an on-demand audit, wait for it, print one row per check", f"{PROG} audit",
            f"{PROG} audit --checks LOGGING_DISABLED_CHECK DEVICE_CERTIFICATE_SHARED_CHECK",
            f"{PROG} audit --output csv > audit.csv", f"{PROG} audit --fail-on-findings   # exit 1 on findings (CI)")
    p.add_argument("--checks", nargs="+", metavar="CHECK", help="checks to run (default: every enabled check)")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait (default 900)")
    p.add_argument("--poll-interval", type=float, default=2.0, help=argparse.SUPPRESS)
    p.add_argument("--fail-on-findings", action="store_true", help="exit 1 when a check is non-compliant")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    output(p)
    p.set_defaults(func=cmd_audit)

    p = add("findings", "list the findings of the latest (or a given) on-demand audit", f"{PROG} findings",
            f"{PROG} findings --task-id 1f2e... --check LOGGING_DISABLED_CHECK", f"{PROG} findings -o json")
    p.add_argument("--task-id", help="audit task id (default: the latest completed on-demand audit)")
    p.add_argument("--check", help="only this check's findings")
    output(p)
    p.set_defaults(func=cmd_findings)

    p = add("mitigate", "apply mitigation actions to an audit's findings (aws: dry run unless --yes)",
            f"{PROG} mitigate                      # deactivate the shared certificate (module default)",
            f"{PROG} mitigate --map LOGGING_DISABLED_CHECK=EnableLogging",
            f"{PROG} --target aws mitigate           # preview only",
            f"{PROG} --target aws mitigate --yes     # apply")
    p.add_argument("--map", action="append", metavar="CHECK=ACTION[,ACTION]",
                   help=f"check -> existing action(s); repeatable (default: {SHARED_CHECK}={DEFAULT_ACTION}, "
                        "created when missing)")
    p.add_argument("--task-id", help="audit task id (default: the latest completed on-demand audit)")
    p.add_argument("--yes", "-y", action="store_true", help="aws mode: apply (without it: preview only)")
    p.add_argument("--dry-run", action="store_true", help="preview only, also in the sandbox")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for the task (default 600)")
    p.add_argument("--poll-interval", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_mitigate)

    p = add("report", "write a self-contained HTML or Markdown report of an audit, charts embedded",
            f"{PROG} report --out audit.html", f"{PROG} report --out audit.md",
            f"{PROG} report --task-id 1f2e... --format md --out report.txt")
    p.add_argument("--out", required=True, help="file to write (.md/.markdown: Markdown, otherwise HTML)")
    p.add_argument("--format", choices=("html", "md"), help="override the format the suffix implies")
    p.add_argument("--task-id", help="audit task id (default: the latest completed on-demand audit)")
    p.set_defaults(func=cmd_report)

    p = add("cleanup", "list (dry run, default) or delete (--yes) what the workshop created", f"{PROG} cleanup",
            f"{PROG} cleanup --yes", f"{PROG} cleanup --kind module1 --yes")
    p.add_argument("--yes", "-y", action="store_true", help="delete (without it: list only)")
    p.add_argument("--kind", choices=("module1", "fleet"), help="only runs of this kind")
    p.add_argument("--run-id", help="only this run")
    p.set_defaults(func=cmd_cleanup)

    p = add("workshop", "run the module's steps headless end to end and print a ✓/✗ summary",
            f"{PROG} workshop                      # sandbox: check before the group arrives",
            f"{PROG} --target aws workshop --yes     # real account (changes it, costs audits)")
    p.add_argument("--yes", "-y", action="store_true", help="aws mode: allow the changes (listed without it)")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for the audit and the task")
    p.add_argument("--quiet", "-q", action="store_true", help="no step progress on stderr")
    p.set_defaults(func=cmd_workshop)
    return parser


def _apply_globals(args: argparse.Namespace) -> None:
    """Apply --target and --region to the environment the helpers read."""
    from . import target

    changed = False
    if getattr(args, "target", None):
        os.environ["WORKSHOP_TARGET"] = args.target
        changed = True
    if getattr(args, "region", None):
        os.environ["AWS_DEFAULT_REGION"] = args.region
        changed = True
    if changed:
        target.clear_client_cache()


def _cli_fix(fix: str) -> str:
    """Return a helper's fix with the command-line spelling of ``confirm=True`` added."""
    if "confirm=True" in fix:
        return fix + " On the command line: run the same command again with --yes."
    return fix


def main(argv: list[str] | None = None) -> int:
    """Run ``iot-audit`` with ``argv`` (default: sys.argv[1:]) and return the exit code.

    AWS operations: those of the subcommand it runs (the ``cmd_*`` functions), e.g.
    [StartOnDemandAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartOnDemandAuditTask.html)
    for ``iot-audit audit``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    debug = getattr(args, "debug", False)
    try:
        _apply_globals(args)
        if getattr(args, "needs_target", True):
            _require_target()
        return args.func(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except StepFailed as exc:
        _err(f"error: {exc}")
        return 1
    except WorkshopError as exc:
        _err(f"error: {exc.problem}" + (f"\nfix: {_cli_fix(exc.fix)}" if exc.fix else ""))
        return 1
    except SystemExit as exc:  # a delegated parser's usage error
        return exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # noqa: BLE001 - AWS/network errors are user errors, not tracebacks
        if debug:
            raise
        import botocore.exceptions

        if isinstance(exc, botocore.exceptions.ClientError):
            e = exc.response.get("Error", {})
            _err(f"error: AWS refused {exc.operation_name}: {e.get('Code')}: {e.get('Message')}\n"
                 "fix: check the permissions and the region of your credentials; --debug shows the traceback.")
        elif isinstance(exc, botocore.exceptions.BotoCoreError):
            _err(f"error: {exc}\nfix: check your credentials, network and region; --debug shows the traceback.")
        else:
            _err(f"error: unexpected {type(exc).__name__}: {exc}\n"
                 "fix: run again with --debug for the traceback, and report it.")
        return 1


if __name__ == "__main__":
    sys.exit(main())
