"""Cells that need earlier cells: one call at the top of a cell checks what the cell depends on and, when something is
missing, stops with one line naming what to run first, instead of a ``NameError`` further down.

    from helpers.needs import needs
    needs("environment", "audit", after="the set-up cell in §1")

It checks two things. The names the calling cell reads but nothing defined in this kernel (read from the cell's own
source, as IPython keeps it), such as ``is_sandbox`` after a kernel restart. And the state the cell depends on in the
target (sandbox or account), by requirement name (:data:`REQUIREMENTS`): the Module 1 environment ``env`` still
exists, the audit ``task_id`` completed, the mitigation action is defined, the audit settings are set.
"""
from __future__ import annotations

import ast
import builtins
import inspect
import linecache
from types import FrameType
from typing import Any, Callable, Mapping

from botocore.exceptions import ClientError

from . import audits, calls, mitigation, settings, target
from .errors import WorkshopError, error_code
from .workshop import DEFAULT_ACTION as ACTION_NAME

RUN_ALL_ABOVE = "Run ▸ Run All Above Selected Cell"
SETUP_CELL = f"the set-up cell at the top (`env = {target.REBUILD}`)"

Problem = tuple[str, str]  # (what is missing, how to fix it)


class NeedsEarlierCells(WorkshopError):
    """A cell ran before the cells it depends on; IPython shows the one-line message, not a traceback."""

    def one_line(self) -> str:
        """Return the message on one line: the problem, then the fix."""
        return f"{self.problem} Fix: {self.fix}" if self.fix else self.problem

    def _render_traceback_(self) -> list[str]:
        """Return what IPython shows instead of the traceback (its documented hook for custom exceptions)."""
        return [f"\x1b[1;31m{type(self).__name__}\x1b[0m: {self.one_line()}"]


def _gone(exc: ClientError) -> bool:
    """Return True when AWS (or the sandbox) says the resource does not exist."""
    return error_code(exc) in ("ResourceNotFoundException", "NotFoundException", "NoSuchEntity")


def _check_environment(ns: Mapping[str, Any]) -> Problem | None:
    """Return the problem when ``env`` is undefined or names a Module 1 environment that no longer exists."""
    env = ns.get("env")
    if env is None or not hasattr(env, "certificate_id"):
        return "`env` (the Module 1 environment) is not defined in this kernel", f"run {SETUP_CELL}"
    try:
        target.client("iot").describe_certificate(certificateId=env.certificate_id)
    except ClientError as exc:
        if not _gone(exc):
            raise
        return (f"the Module 1 environment `env` names (run {env.run_id}) is gone from the {target.get_target()} "
                "(restarted, reset or cleaned up)", f"run {SETUP_CELL}: it builds it again")
    return None


def _check_audit(ns: Mapping[str, Any]) -> Problem | None:
    """Return the problem when ``task_id`` is undefined or names an audit that is gone or did not complete."""
    task_id = ns.get("task_id")
    cell = "the cell that runs the audit (`audit = audits.run_on_demand_audit(...)`)"
    if not isinstance(task_id, str):
        return "`task_id` (the audit this cell reads) is not defined in this kernel", f"run {cell}"
    try:
        status = audits.describe_audit(task_id)["taskStatus"]
    except WorkshopError:
        return f"the audit {task_id} is gone from the {target.get_target()}", f"run {cell} again"
    if status != "COMPLETED":
        return f"the audit {task_id} is {status}, not COMPLETED", f"run {cell} again and let it finish"
    return None


def _check_action(ns: Mapping[str, Any]) -> Problem | None:
    """Return the problem when the module's mitigation action is not defined in the target."""
    if mitigation.describe_mitigation_action(ACTION_NAME, missing_ok=True) is None:
        return (f"the mitigation action {ACTION_NAME} is not defined",
                f"run the cell that creates it (`mitigation.create_mitigation_action({ACTION_NAME!r}, ...)`, in 03 "
                "or at the top of 04)")
    return None


def _check_audit_settings(ns: Mapping[str, Any]) -> Problem | None:
    """Return the problem when no audit role is set or no check is enabled."""
    current = settings.describe_audit_settings()
    if not current.role_arn or not current.enabled_checks:
        return ("the audit settings have no audit role or no enabled check",
                f"run {SETUP_CELL} (it sets the role and enables the 14 checks)")
    return None


# the state a cell can depend on, by name: each check returns (what is missing, the fix) or None
REQUIREMENTS: dict[str, Callable[[Mapping[str, Any]], Problem | None]] = {
    "environment": _check_environment,  # `env`, and its certificate still exists in the target
    "audit_settings": _check_audit_settings,  # an audit role and enabled checks
    "mitigation_action": _check_action,  # Update-device-certificate exists
    "audit": _check_audit,  # `task_id`, and that audit COMPLETED in the target
}
# the notebook name a requirement's check reports itself (not listed again among the undefined names)
NAMES_CHECKED = {"environment": "env", "audit": "task_id"}


def free_names(source: str) -> list[str]:
    """Return the names ``source`` reads without defining them itself (imports, assignments, arguments), sorted."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    read: set[str] = set()
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            defined.add(node.name)
    return sorted(read - defined)


def cell_source(frame: FrameType) -> str | None:
    """Return the source of the notebook cell ``frame`` runs at its top level (IPython registers it in linecache),
    or None when the caller is not a cell's top level."""
    code = frame.f_code
    if code.co_name != "<module>":
        return None
    lines = linecache.getlines(code.co_filename, frame.f_globals)
    return "".join(lines) or None


def undefined_names(source: str, namespace: Mapping[str, Any]) -> list[str]:
    """Return the names ``source`` reads that neither ``namespace`` nor the builtins define (none for a cell with
    IPython magics, which may define names inside their strings: ``%time x = 1``)."""
    if "get_ipython().run_" in source:
        return []
    return [n for n in free_names(source) if n not in namespace and not hasattr(builtins, n)]


def missing(requirements: tuple[str, ...], namespace: Mapping[str, Any], source: str | None) -> list[Problem]:
    """Return the problems of a cell: its undefined names, then each requirement that does not hold.

    AWS operations:
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html),
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [DescribeMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeMitigationAction.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    unknown = [r for r in requirements if r not in REQUIREMENTS]
    if unknown:
        raise ValueError(f"needs() knows no requirement {', '.join(map(repr, unknown))}; "
                         f"use one of {', '.join(REQUIREMENTS)}")
    problems: list[Problem] = []
    checked = {NAMES_CHECKED.get(r) for r in requirements}
    names = [n for n in undefined_names(source, namespace) if n not in checked] if source else []
    if names:
        listed = ", ".join(f"`{n}`" for n in names)
        problems.append((f"{listed} {'is' if len(names) == 1 else 'are'} not defined in this kernel (it restarted, "
                         "or the cells that define them have not run)", ""))
    for name in requirements:
        try:
            problem = REQUIREMENTS[name](namespace)
        except WorkshopError as exc:  # e.g. the sandbox stopped: its own fix comes first
            problem = (exc.problem.rstrip("."), exc.fix.rstrip("."))
        if problem:
            problems.append(problem)
    return problems


def needs(*requirements: str, after: str | None = None, namespace: Mapping[str, Any] | None = None,
          source: str | None = None) -> None:
    """Return when the calling cell can run; otherwise raise :class:`NeedsEarlierCells`, one line naming what is
    missing and the cells to run first (``after``; default: the cells above, whose fixes are listed too).

    AWS operations:
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html),
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [DescribeMitigationAction](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeMitigationAction.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    here = inspect.currentframe()
    caller = here.f_back if here is not None else None
    if caller is None:
        raise RuntimeError("needs() could not see its caller (a Python without frames)")
    ns = caller.f_globals if namespace is None else namespace
    with calls.paused():  # its look-ups are not the calls the cell's "Under the hood" shows
        problems = missing(requirements, ns, source if source is not None else cell_source(caller))
    if not problems:
        return
    what = "; ".join(p for p, _ in problems)
    fixes = list(dict.fromkeys(f for _, f in problems if f))
    first = f"run {after} first" if after else "; ".join(fixes) if fixes else "run the cells above this one first"
    raise NeedsEarlierCells(f"This cell needs earlier cells: {what}.",
                            f"{first} (or {RUN_ALL_ABOVE}), then run this cell again.")
