"""ipywidgets UIs for the audit workflow: a check picker, a schedule picker, a "start audit" panel with live progress,
and a findings explorer (non-compliant checks → findings → certificate ownership).

Every UI is made by a factory function that returns a widget (a ``VBox`` subclass) whose parts are attributes —
``picker.checkboxes``, ``panel.start_button``, ``explorer.findings`` — so tests and notebooks can drive it with
``.click()`` and ``.value``. Callbacks never print: they write to widget values (``.status``, ``.detail``, ...), and
any error appears in ``.status`` as the problem and its fix.

Adding a UI (e.g. the mitigation launcher): subclass :class:`Panel`, build the parts, wire callbacks through
:meth:`Panel.guarded` (errors land in ``.status``), reuse :func:`check_picker` or a :class:`FindingsExplorer`'s
``selected_finding`` / ``findings_frame``, and run long waits through :meth:`Panel.run` (a thread in a notebook,
inline in tests). :meth:`AuditPanel.on_finished` shows how one UI hands results to another.
"""
from __future__ import annotations

import html
import threading
from typing import Any, Callable, Iterable

import ipywidgets as widgets
import pandas as pd
from IPython.display import HTML, display

from . import audits, findings, fleet, mitigation, settings
from .checks import CHECK_NAMES, ORIGINAL_14, checks_by_severity, describe_check
from .errors import WorkshopError
from .tables import SEVERITY_COLOURS, frame_to_html

__all__ = ["Panel", "CheckPicker", "SchedulePicker", "AuditPanel", "FindingsExplorer", "check_picker",
           "schedule_picker", "start_audit_panel", "findings_explorer", "error_html", "message_html", "RELOAD_HINT",
           "display_with_reload_hint",
           "MitigationLauncher", "mitigation_launcher"]

_COLOURS = {"info": "#0072B2", "success": "#009E73", "error": "#D55E00", "warning": "#E69F00"}
# Shown under every panel. In JupyterLab the style hides it while the widget lives (an output area holding a live
# widget box is followed by this one); after a page reload whose kernel no longer holds the widget's model (it
# restarted) the widget shows "Loading widget..." or "Error displaying widget: model not found", and the hint shows. Elsewhere (or with the style sanitised away) it simply stays visible.
RELOAD_HINT = ("<style>.jp-OutputArea-child:has(.widget-box) + .jp-OutputArea-child .workshop-reload-hint"
               "{display:none}</style><div class='workshop-reload-hint' style='color:#666;font-size:90%'>"
               "↻ Widget stuck on \"Loading widget…\" or \"model not found\" after a page reload or a kernel "
               "restart? Run this cell again to get it back; nothing in the account changed.</div>")


def message_html(text: str, kind: str = "info") -> str:
    """Return ``text`` as a small coloured notice (kind: info, success, warning, error)."""
    colour = _COLOURS.get(kind, _COLOURS["info"])
    return (f"<div style='border-left:6px solid {colour};padding:0.3em 0.8em;margin:0.3em 0'>"
            f"{html.escape(text)}</div>")


def error_html(exc: BaseException) -> str:
    """Return an exception as a notice: the problem and, for a WorkshopError, its fix."""
    if isinstance(exc, WorkshopError):
        fix = f"<br><b>Fix:</b> {html.escape(exc.fix)}" if exc.fix else ""
        body = f"<b>Problem:</b> {html.escape(exc.problem)}{fix}"
    else:
        body = f"<b>Unexpected error:</b> {html.escape(type(exc).__name__)}: {html.escape(str(exc))}"
    return f"<div style='border-left:6px solid {_COLOURS['error']};padding:0.3em 0.8em;margin:0.3em 0'>{body}</div>"


def display_with_reload_hint(widget: widgets.Widget) -> None:
    """Display ``widget``, then the one-line hint that explains it after a page reload (:data:`RELOAD_HINT`)."""
    display(widget._repr_mimebundle_(), raw=True)
    display(HTML(RELOAD_HINT))


def _chip(severity: str) -> str:
    colour = SEVERITY_COLOURS.get(severity, "#999999")
    return (f"<span style='background:{colour};color:black;padding:0 0.4em;border-radius:3px;font-weight:bold'>"
            f"{html.escape(severity)}</span>")


class Panel(widgets.VBox):
    """A UI with a ``status`` line; callbacks wired through :meth:`guarded` report errors there, not in a traceback."""

    def __init__(self, children: list[widgets.Widget], **kwargs: Any) -> None:
        status = widgets.HTML()
        super().__init__(children=[*children, status], **kwargs)
        self.status = status
        self.thread: threading.Thread | None = None

    def say(self, text: str, kind: str = "info") -> None:
        """Show ``text`` in the status line."""
        self.status.value = message_html(text, kind)

    def _ipython_display_(self) -> None:
        """Display the panel, then the one-line hint that explains it after a page reload (:data:`RELOAD_HINT`)."""
        display_with_reload_hint(self)

    def guarded(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``fn`` wrapped so any exception it raises is shown in ``status`` instead."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - a widget callback must not die silently
                self.status.value = error_html(exc)
                return None

        return wrapper

    def run(self, fn: Callable[[], Any], background: bool | None) -> None:
        """Run ``fn`` in a thread (``background=True``, or None inside a notebook) or right away."""
        if background is None:
            background = audits.in_notebook()
        if background:
            self.thread = threading.Thread(target=self.guarded(fn), daemon=True)
            self.thread.start()
        else:
            self.guarded(fn)()

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the background work started by :meth:`run` (no-op when none is running)."""
        if self.thread is not None:
            self.thread.join(timeout)


# -- check picker --------------------------------------------------------------------------------------------------
class CheckPicker(widgets.VBox):
    """Checkboxes for the audit checks grouped by severity, with All / Original 14 / None buttons."""

    def __init__(self, selected: Iterable[str], available: Iterable[str] | None) -> None:
        self.available = list(CHECK_NAMES) if available is None else [n for n in CHECK_NAMES if n in set(available)]
        self.checkboxes: dict[str, widgets.Checkbox] = {}
        self._callbacks: list[Callable[[list[str]], None]] = []
        chosen = set(selected)
        groups: list[widgets.Widget] = []
        for severity, names in checks_by_severity().items():
            if not names:
                continue
            boxes = []
            for name in names:
                info = describe_check(name)
                usable = name in self.available
                box = widgets.Checkbox(value=usable and name in chosen, indent=False, disabled=not usable,
                                       description=info.title + ("" if usable else " (not enabled)"),
                                       tooltip=f"{name}: {info.description}",
                                       layout=widgets.Layout(width="auto"))
                box.observe(self._changed, names="value")
                self.checkboxes[name] = box
                boxes.append(box)
            groups.append(widgets.HTML(f"<div style='margin-top:0.4em'>{_chip(severity)}</div>"))
            groups.extend(boxes)
        self.select_all_button = widgets.Button(description="All", tooltip="Select every available check")
        self.original_button = widgets.Button(description="Original 14",
                                               tooltip="The 14 checks of the original workshop")
        self.clear_button = widgets.Button(description="None", tooltip="Clear the selection")
        self.select_all_button.on_click(lambda _: self.select(self.available))
        self.original_button.on_click(lambda _: self.select(ORIGINAL_14))
        self.clear_button.on_click(lambda _: self.select([]))
        self.summary = widgets.HTML()
        buttons = widgets.HBox([self.select_all_button, self.original_button, self.clear_button, self.summary])
        super().__init__(children=[buttons, widgets.VBox(groups)])
        self._update_summary()

    def _ipython_display_(self) -> None:
        """Display the picker with the reload hint under it."""
        display_with_reload_hint(self)

    @property
    def selected(self) -> list[str]:
        """Return the selected check names (API names, in catalogue order)."""
        return [n for n in CHECK_NAMES if self.checkboxes[n].value]

    def select(self, names: Iterable[str]) -> None:
        """Select exactly ``names`` (those not available are skipped)."""
        wanted = set(names)
        self._quiet = True
        for name, box in self.checkboxes.items():
            box.value = name in wanted and name in self.available
        self._quiet = False
        self._changed(None)

    def on_change(self, callback: Callable[[list[str]], None]) -> None:
        """Call ``callback(selected_names)`` whenever the selection changes."""
        self._callbacks.append(callback)

    _quiet = False

    def _changed(self, _change: Any) -> None:
        if self._quiet:
            return
        self._update_summary()
        for callback in self._callbacks:
            callback(self.selected)

    def _update_summary(self) -> None:
        self.summary.value = (f"<span style='margin-left:1em'><b>{len(self.selected)}</b> of "
                              f"{len(self.available)} checks selected</span>")


def check_picker(*, selected: Iterable[str] | None = None, available: Iterable[str] | None = None) -> CheckPicker:
    """Return a check picker grouped by severity; ``available`` limits what can be ticked (e.g. enabled checks),
    ``selected`` is the initial selection (default: the original 14 that are available)."""
    return CheckPicker(ORIGINAL_14 if selected is None else selected, available)


# -- schedule picker -----------------------------------------------------------------------------------------------
_DAY_OPTIONS = [("Sunday", "SUN"), ("Monday", "MON"), ("Tuesday", "TUE"), ("Wednesday", "WED"), ("Thursday", "THU"),
                ("Friday", "FRI"), ("Saturday", "SAT")]
_MONTH_DAY_OPTIONS = [(str(d), str(d)) for d in range(1, 32)] + [("last day", "LAST")]


class SchedulePicker(Panel):
    """Name, frequency and only the day field that frequency needs, the checks, and a Create button."""

    def __init__(self, name: str, frequency: str, available: list[str]) -> None:
        self.name_input = widgets.Text(value=name, description="Name")
        self.frequency = widgets.Dropdown(options=list(audits.FREQUENCIES), value=frequency, description="Frequency")
        self.day_of_week = widgets.Dropdown(options=_DAY_OPTIONS, value="MON", description="Day")
        self.day_of_month = widgets.Dropdown(options=_MONTH_DAY_OPTIONS, value="1", description="Day of month")
        self.checks = check_picker(selected=available, available=available)
        self.create_button = widgets.Button(description="Create scheduled audit", button_style="primary",
                                            icon="calendar")
        self.description = widgets.HTML()
        super().__init__([widgets.HBox([self.name_input, self.frequency]),
                          widgets.HBox([self.day_of_week, self.day_of_month]), self.description, self.checks,
                          self.create_button])
        self.frequency.observe(self.guarded(lambda _: self._show_days()), names="value")
        for w in (self.day_of_week, self.day_of_month):
            w.observe(self.guarded(lambda _: self._describe()), names="value")
        self.create_button.on_click(self.guarded(lambda _: self._create()))
        self._show_days()

    @property
    def schedule(self) -> dict[str, str]:
        """Return the keyword arguments of :func:`audits.create_scheduled_audit` for the chosen schedule."""
        out = {"frequency": self.frequency.value}
        if self.frequency.value in ("WEEKLY", "BIWEEKLY"):
            out["day_of_week"] = self.day_of_week.value
        elif self.frequency.value == "MONTHLY":
            out["day_of_month"] = self.day_of_month.value
        return out

    def _show_days(self) -> None:
        weekly = self.frequency.value in ("WEEKLY", "BIWEEKLY")
        self.day_of_week.layout.display = None if weekly else "none"
        self.day_of_month.layout.display = None if self.frequency.value == "MONTHLY" else "none"
        self._describe()

    def _describe(self) -> None:
        s = self.schedule
        when = {"DAILY": "every day",
                "WEEKLY": f"every {self._day_name()}",
                "BIWEEKLY": f"every other {self._day_name()}",
                "MONTHLY": f"on day {self.day_of_month.value} of every month" if self.day_of_month.value != "LAST"
                else "on the last day of every month"}[s["frequency"]]
        self.description.value = f"<i>Runs {html.escape(when)}; AWS picks the time of day.</i>"

    def _day_name(self) -> str:
        return {v: k for k, v in _DAY_OPTIONS}[self.day_of_week.value]

    def _create(self) -> None:
        if not self.checks.selected:
            raise WorkshopError("No checks are selected for the scheduled audit.", "Tick at least one check.")
        arn = audits.create_scheduled_audit(self.name_input.value.strip(), check_names=self.checks.selected,
                                            **self.schedule)
        self.say(f"Created {arn} ({self.frequency.value.lower()}, {len(self.checks.selected)} checks).", "success")


def schedule_picker(*, name: str = "WeeklyAudit", frequency: str = "WEEKLY",
                    available: Iterable[str] | None = None) -> SchedulePicker:
    """Return a schedule picker: name, frequency with just the day field it needs, checks, and a Create button.
    ``available`` defaults to the checks enabled in the account.

    AWS operations:
    [CreateScheduledAudit](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateScheduledAudit.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html).
    """
    freq = audits.resolve_frequency(frequency)  # a clear error for an unknown frequency
    pool = settings.enabled_checks() if available is None else list(available)
    return SchedulePicker(name, freq, pool)


# -- start audit ---------------------------------------------------------------------------------------------------
class AuditPanel(Panel):
    """Pick checks, start an on-demand audit, watch its progress, see the non-compliant checks."""

    def __init__(self, available: list[str], timeout: float, poll_interval: float, background: bool | None) -> None:
        self.checks = check_picker(selected=available, available=available)
        self.start_button = widgets.Button(description="Start audit", button_style="primary", icon="play")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True)
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Progress", bar_style="info")
        self.progress_label = widgets.HTML()
        self.results = widgets.HTML()
        super().__init__([self.checks, widgets.HBox([self.start_button, self.cancel_button]),
                          widgets.HBox([self.progress, self.progress_label]), self.results])
        self.task_id: str | None = None
        self.result: dict[str, Any] | None = None
        self.timeout, self.poll_interval, self.background = timeout, poll_interval, background
        self._finished_callbacks: list[Callable[[str], None]] = []
        self.start_button.on_click(self.guarded(lambda _: self._start()))
        self.cancel_button.on_click(self.guarded(lambda _: self._cancel()))
        if not available:
            self.start_button.disabled = True
            self.say("No checks are enabled: run settings.configure_audit() first.", "warning")

    def on_finished(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(task_id)`` when an audit started here finishes (e.g. ``explorer.load``)."""
        self._finished_callbacks.append(callback)

    def _start(self) -> None:
        if not self.checks.selected:
            raise WorkshopError("No checks are selected.", "Tick at least one check, or click 'All'.")
        self.result = None
        self.results.value = ""
        self.progress.value, self.progress.bar_style = 0, "info"
        self.task_id = audits.start_on_demand_audit(self.checks.selected)
        self.start_button.disabled, self.cancel_button.disabled = True, False
        self.say(f"Audit {self.task_id} started.")
        self.run(self._watch, self.background)

    def _show(self, state: audits.AuditProgress) -> None:
        self.progress.max = max(state.total, 1)
        self.progress.value = state.done
        self.progress_label.value = html.escape(f"{state.status}: {state.done}/{state.total} checks done "
                                                f"({state.elapsed:.0f} s)")
        if state.finished:
            self.progress.bar_style = "success" if state.status == "COMPLETED" else "danger"

    def _watch(self) -> None:
        assert self.task_id is not None
        task_id = self.task_id
        try:
            self.result = audits.wait_for_audit(task_id, timeout=self.timeout, poll_interval=self.poll_interval,
                                                progress=self._show)
        finally:
            self.start_button.disabled, self.cancel_button.disabled = False, True
        stats = self.result.get("taskStatistics", {})
        table = findings.non_compliant_checks(task_id)
        self.results.value = (frame_to_html(table) if not table.empty else
                              message_html("Every audited check is compliant.", "success"))
        self.say(f"Audit {task_id} {self.result['taskStatus']}: {stats.get('nonCompliantChecks', 0)} non-compliant, "
                 f"{stats.get('compliantChecks', 0)} compliant, {stats.get('failedChecks', 0)} failed check(s).",
                 "success" if self.result["taskStatus"] == "COMPLETED" else "warning")
        for callback in self._finished_callbacks:
            callback(task_id)

    def _cancel(self) -> None:
        if self.task_id:
            status = audits.cancel_audit(self.task_id)
            self.say(f"Audit {self.task_id} is {status}.", "warning")


def start_audit_panel(*, available: Iterable[str] | None = None, timeout: float = 900, poll_interval: float = 2.0,
                      background: bool | None = None) -> AuditPanel:
    """Return the "start audit" panel: enabled checks preselected, Start/Cancel, live progress, results.
    ``background`` runs the wait in a thread (default: in a notebook only).

    AWS operations: [CancelAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_CancelAuditTask.html),
    [DescribeAccountAuditConfiguration](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAccountAuditConfiguration.html),
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [StartOnDemandAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_StartOnDemandAuditTask.html).
    """
    pool = settings.enabled_checks() if available is None else list(available)
    return AuditPanel(pool, timeout, poll_interval, background)


# -- findings explorer ---------------------------------------------------------------------------------------------
class FindingsExplorer(Panel):
    """Audit → its non-compliant checks → their findings → the finding's details and certificate ownership."""

    def __init__(self, days: float) -> None:
        self.days = days
        self.audit = widgets.Dropdown(description="Audit", layout=widgets.Layout(width="40em"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.checks = widgets.Select(description="Checks", rows=6, layout=widgets.Layout(width="40em"))
        self.findings = widgets.Select(description="Findings", rows=6, layout=widgets.Layout(width="40em"))
        self.detail = widgets.HTML()
        self.ownership = widgets.HTML()
        super().__init__([widgets.HBox([self.audit, self.refresh_button]), self.checks, self.findings, self.detail,
                          self.ownership])
        self.findings_frame = pd.DataFrame(columns=findings.FINDING_COLUMNS)
        self.audit.observe(self.guarded(lambda _: self._audit_changed()), names="value")
        self.checks.observe(self.guarded(lambda _: self._check_changed()), names="value")
        self.findings.observe(self.guarded(lambda _: self._finding_changed()), names="value")
        self.refresh_button.on_click(self.guarded(lambda _: self.refresh()))

    # data ------------------------------------------------------------------------------------------------------
    @property
    def selected_finding(self) -> dict[str, Any] | None:
        """Return the selected finding's row (a dict of :data:`findings.FINDING_COLUMNS`), or None."""
        if self.findings.value is None:
            return None
        rows = self.findings_frame[self.findings_frame["finding id"] == self.findings.value]
        return rows.iloc[0].to_dict() if not rows.empty else None

    @property
    def selected_finding_ids(self) -> list[str]:
        """Return the finding ids of the selected check (what a mitigation would be applied to)."""
        if self.checks.value is None:
            return []
        rows = self.findings_frame[(self.findings_frame["check"] == self.checks.value)
                                   & ~self.findings_frame["suppressed"].astype(bool)]
        return list(rows["finding id"])

    def refresh(self) -> None:
        """Reload the list of audits (newest first), keeping the current one selected if it is still there."""
        history = audits.audit_history(days=self.days)
        history = history[history["status"] != "IN_PROGRESS"]
        options = [(f"{pd.Timestamp(r['started']):%Y-%m-%d %H:%M} · {r['type']} · {r['status']} · "
                    f"{r['non-compliant checks']} non-compliant check(s) · {r['task id']}", r["task id"])
                   for _, r in history.iterrows()]
        current = self.audit.value
        self.audit.options = options
        if current in [v for _, v in options]:
            self.audit.value = current
        if not options:
            self.say(f"No finished audit in the last {self.days:g} days: start one first.", "warning")

    def load(self, task_id: str) -> None:
        """Show the audit ``task_id`` (added to the list if it is not there yet)."""
        audits.describe_audit(task_id)  # a clear error for an unknown id
        before = self.audit.value
        if task_id not in [v for _, v in self.audit.options]:
            self.audit.options = [(task_id, task_id), *self.audit.options]
        if self.audit.value != task_id:
            self.audit.value = task_id  # fires _audit_changed
        elif before == task_id:
            self._audit_changed()  # same audit again: nothing fired, reload it

    # callbacks -------------------------------------------------------------------------------------------------
    def _audit_changed(self) -> None:
        task_id = self.audit.value
        self.detail.value = self.ownership.value = ""
        if task_id is None:
            self.checks.options = []
            return
        table = findings.non_compliant_checks(task_id)
        self.findings_frame = findings.list_findings(task_id)
        self.checks.options = [(f"{r['title']} [{r['severity']}] — {r['non-compliant resources']} resource(s)",
                                r["check"]) for _, r in table.iterrows()]
        if self.checks.options and self.checks.value is None:
            self.checks.value = self.checks.options[0][1]  # open the most severe check
        self.say(f"Audit {task_id}: {len(table)} non-compliant check(s), {len(self.findings_frame)} finding(s).")
        if table.empty:
            self.findings.options = []
            self.detail.value = message_html("Every audited check is compliant in this audit.", "success")

    def _check_changed(self) -> None:
        check = self.checks.value
        rows = self.findings_frame[self.findings_frame["check"] == check] if check else self.findings_frame.iloc[0:0]
        self.findings.options = [(f"{r['resource id']}{' (suppressed)' if r['suppressed'] else ''}", r["finding id"])
                                 for _, r in rows.iterrows()]
        if self.findings.options and self.findings.value is None:
            self.findings.value = self.findings.options[0][1]  # and its first finding

    def _finding_changed(self) -> None:
        row = self.selected_finding
        if row is None:
            self.detail.value = self.ownership.value = ""
            return
        info = describe_check(row["check"])
        fields = [("check", f"{html.escape(info.title)} ({html.escape(row['check'])})"),
                  ("severity", _chip(str(row["severity"]))),
                  ("resource", f"{html.escape(row['resource type'])}: {html.escape(row['resource id'])}"),
                  ("reason", html.escape(row["reason"])),
                  ("related", html.escape(row["related resources"]) or "—"),
                  ("suppressed", "yes" if row["suppressed"] else "no"),
                  ("finding id", f"<code>{html.escape(row['finding id'])}</code>"),
                  ("mitigation actions", html.escape(", ".join(info.allowed_actions))),
                  ("docs", f"<a href='{info.docs_url}' target='_blank'>{html.escape(info.docs_url)}</a>")]
        self.detail.value = "<table>" + "".join(f"<tr><td style='padding-right:1em'><b>{k}</b></td><td>{v}</td></tr>"
                                                for k, v in fields) + "</table>"
        self._show_ownership(row)

    def _show_ownership(self, row: dict[str, Any]) -> None:
        finding = findings.describe_finding(row["finding id"])
        if not findings.certificate_ids_of(finding) and row["check"] != findings.INTERMEDIATE_CA_CHECK:
            self.ownership.value = message_html(
                f"This finding is about a {row['resource type']} ({row['resource id']}), not a device certificate: "
                "there are no things to trace.")
            return
        things = findings.things_sharing_certificate(row["finding id"])
        certs = findings.certificate_ownership(self.audit.value, certificate_ids=list(things["certificate id"].unique())
                                               or findings.certificate_ids_of(finding))
        self.ownership.value = ("<h4>Things using this certificate</h4>" + frame_to_html(things, severity_column=None)
                                + "<h4>Certificate ownership</h4>" + frame_to_html(certs, severity_column=None))


def findings_explorer(task_id: str | None = None, *, days: float = 30) -> FindingsExplorer:
    """Return the findings explorer, showing ``task_id`` (default: the newest finished audit of the last ``days``).

    AWS operations:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [DescribeAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditFinding.html),
    [ListRelatedResourcesForAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_ListRelatedResourcesForAuditFinding.html),
    among others (``helpers.under_the_hood.show_calls()`` lists every call).
    """
    explorer = FindingsExplorer(days)
    if task_id is not None:
        audits.describe_audit(task_id)  # fail early, with the fix, for an unknown id
    explorer.refresh()
    if task_id is not None:
        explorer.load(task_id)
    return explorer


# -- mitigation launcher -------------------------------------------------------------------------------------------
class MitigationLauncher(Panel):
    """Select findings, choose an allowed action per check, name the task, preview, confirm, watch, verify."""

    def __init__(self, task_id: str, poll_interval: float, background: bool | None) -> None:
        self._mitigation = mitigation
        self.audit_task_id = task_id
        self.poll_interval, self.background = poll_interval, background
        self.findings_frame = findings.list_findings(task_id, suppressed=False)
        options = [(f"{r['title']} [{r['severity']}] · {r['resource id']}", r["finding id"])
                   for _, r in self.findings_frame.iterrows()]
        self.findings = widgets.SelectMultiple(options=options, description="Findings", rows=min(8, max(3, len(options))),
                                               layout=widgets.Layout(width="55em"))
        self.actions_box = widgets.VBox()
        self.action_choosers: dict[str, widgets.Dropdown] = {}
        self.task_name = widgets.Text(value=f"mitigation-{task_id[:8]}", description="Task name")
        self.preview_button = widgets.Button(description="Preview changes", icon="eye")
        self.confirm = widgets.Checkbox(value=False, description="I understand this changes the account",
                                        indent=False, layout=widgets.Layout(width="30em"))
        self.start_button = widgets.Button(description="Confirm and start", button_style="danger", icon="play",
                                           disabled=True, layout=widgets.Layout(width="14em"))
        self.preview = widgets.HTML()
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Progress", bar_style="info")
        self.progress_label = widgets.HTML()
        self.result = widgets.HTML()
        self.history = widgets.HTML()
        self.reactivate_button = widgets.Button(description="Re-activate certificate", button_style="success",
                                                icon="undo", layout=widgets.Layout(width="16em", display="none"),
                                                tooltip="Make the deactivated certificate ACTIVE again (Module 3 "
                                                        "needs it)")
        super().__init__([self.findings, self.actions_box, self.task_name, self.history,
                          widgets.HBox([self.preview_button, self.confirm, self.start_button]), self.preview,
                          widgets.HBox([self.progress, self.progress_label]), self.result, self.reactivate_button])
        self.mitigation_task_id: str | None = None
        self.final: dict[str, Any] | None = None
        self.findings.observe(self.guarded(lambda _: self._selection_changed()), names="value")
        self.confirm.observe(self.guarded(lambda _: self._confirm_changed()), names="value")
        self.preview_button.on_click(self.guarded(lambda _: self.show_preview()))
        self.start_button.on_click(self.guarded(lambda _: self._start()))
        self.reactivate_button.on_click(self.guarded(lambda _: self.reactivate()))
        if not options:
            self.say(f"Audit {task_id} has no unsuppressed findings: nothing to mitigate.", "success")

    # choices ---------------------------------------------------------------------------------------------------
    def select(self, finding_ids: Iterable[str]) -> None:
        """Select these findings (as a click would)."""
        self.findings.value = tuple(finding_ids)

    @property
    def mapping(self) -> dict[str, list[str]]:
        """Return the check -> [action] mapping chosen in the dropdowns."""
        return {check: [d.value] for check, d in self.action_choosers.items() if d.value}

    def _selection_changed(self) -> None:
        checks = sorted(set(self.findings_frame[self.findings_frame["finding id"].isin(self.findings.value)]["check"]))
        actions = self._mitigation.list_mitigation_actions()
        choosers = {}
        for check in checks:
            fits = [a for a, t in zip(actions["action"], actions["type"]) if t in describe_check(check).allowed_actions]
            previous = self.action_choosers.get(check)
            choosers[check] = widgets.Dropdown(options=[("— choose an action —", None), *[(a, a) for a in fits]],
                                               value=previous.value if previous is not None and previous.value in fits
                                               else (fits[0] if len(fits) == 1 else None),
                                               description=describe_check(check).title[:28],
                                               style={"description_width": "16em"}, layout=widgets.Layout(width="40em"))
            if not fits:
                self.say(f"No defined action fits {check}; allowed types: "
                         f"{', '.join(describe_check(check).allowed_actions)} (see 03-define-mitigation-actions).",
                         "warning")
        self.action_choosers = choosers
        self.actions_box.children = list(choosers.values())
        self._reset_confirmation()
        self.history.value = self._history_html()

    # what was already done -------------------------------------------------------------------------------------
    def _selected_certificates(self) -> list[str]:
        """Return the device certificates the selected findings are about."""
        ids = [c for f in self.findings.value for c in findings.certificate_ids_of(findings.describe_finding(f))]
        return list(dict.fromkeys(ids))

    def earlier_state(self) -> list[str]:
        """Return, for each selected finding about a certificate, what was already done and what starting a task
        now means (notebook 04 deactivates it in code and re-activates it at its end)."""
        notes = []
        for finding_id in self.findings.value:
            certificates = findings.certificate_ids_of(findings.describe_finding(finding_id))
            if not certificates:
                continue
            done = self._mitigation.tasks_for_finding(finding_id)
            done = done[done["status"] == "COMPLETED"]
            for certificate in certificates:
                status = self._mitigation.certificate_status(certificate)
                short = f"{certificate[:12]}…"
                if status == "INACTIVE":
                    by = f" (task {done['task'].iloc[0]} deactivated it)" if not done.empty else ""
                    notes.append(f"Certificate {short} is already INACTIVE{by}: a task changes nothing. It stays "
                                 "INACTIVE until you re-activate it (the re-activation cell at the end of the "
                                 "notebook, or the button that appears here after a task) — Module 3 needs it "
                                 "ACTIVE.")
                elif status == "ACTIVE" and not done.empty:
                    notes.append(f"Task {done['task'].iloc[0]} already deactivated certificate {short} for this "
                                 "finding, and it has been re-activated since (the end of the notebook does that for "
                                 "Module 3). Starting a task now deactivates it again: the devices using it are cut "
                                 "off until you re-activate it — with the button that appears here afterwards, or by "
                                 "running the notebook's re-activation cell again.")
        return notes

    def _history_html(self) -> str:
        """Return :meth:`earlier_state` as notices (empty when nothing was done yet)."""
        return "".join(message_html(n, "warning") for n in self.earlier_state())

    def reactivate(self) -> str:
        """Return what was done after making the selected findings' certificates ACTIVE again (as 04's end does)."""
        done = [fleet.reactivate_certificate(certificate_id=c, confirm=True) for c in self._selected_certificates()]
        self.reactivate_button.layout.display = "none"
        self.history.value = self._history_html()
        text = " ".join(done) or "No certificate to re-activate in the selected findings."
        self.say(text, "success")
        return text

    def _reset_confirmation(self) -> None:
        self.confirm.value = False
        self.start_button.disabled = True
        self.preview.value = ""

    def _confirm_changed(self) -> None:
        self.start_button.disabled = not (self.confirm.value and bool(self.preview.value))

    # preview and start ---------------------------------------------------------------------------------------------
    def _chosen(self) -> tuple[list[str], dict[str, list[str]]]:
        ids = list(self.findings.value)
        if not ids:
            raise WorkshopError("No finding is selected.", "Select one or more findings in the list.")
        missing = [check for check, d in self.action_choosers.items() if not d.value]
        if missing:
            raise WorkshopError(f"No action chosen for {', '.join(missing)}.", "Choose an action for each check.")
        return ids, self.mapping

    def show_preview(self) -> pd.DataFrame:
        """Show (and return) what the task will change; confirming is possible only after this."""
        ids, mapping = self._chosen()
        table = self._mitigation.preview_mitigation(mapping, finding_ids=ids)
        self.history.value = self._history_html()  # the account may have changed since the selection
        self.preview.value = (message_html(f"Task {self.task_name.value} will make {len(table)} change(s):", "warning")
                              + frame_to_html(table))
        self._confirm_changed()
        return table

    def _start(self) -> None:
        if not self.confirm.value or not self.preview.value:
            raise WorkshopError("Not confirmed.", "Preview the changes, tick the confirmation box, then start.")
        ids, mapping = self._chosen()
        self.mitigation_task_id = self._mitigation.start_mitigation_task(
            mapping, finding_ids=ids, task_name=self.task_name.value, confirm=True)
        self.start_button.disabled = True
        self.progress.value, self.progress.bar_style = 0, "info"
        self.say(f"Mitigation task {self.mitigation_task_id} started.")
        self.run(self._watch, self.background)

    def _show(self, state: Any) -> None:
        self.progress.max = max(state.total, 1)
        self.progress.value = state.done
        self.progress_label.value = html.escape(f"{state.status}: {state.done}/{state.total} findings done")
        if state.finished:
            self.progress.bar_style = "success" if state.status == "COMPLETED" else "danger"

    def _watch(self) -> None:
        assert self.mitigation_task_id is not None
        task_id = self.mitigation_task_id
        self.final = self._mitigation.wait_for_mitigation_task(task_id, poll_interval=self.poll_interval,
                                                               progress=self._show)
        executions = self._mitigation.mitigation_executions(task_id)
        parts = [frame_to_html(executions)]
        certificates = self._selected_certificates()
        if certificates:
            statuses = self._mitigation.verify_certificates(certificates)
            parts.append(frame_to_html(statuses))
            parts.append(message_html("; ".join(f"certificate {r['certificate'][:12]}… is now {r['status']}"
                                                for _, r in statuses.iterrows()), "success"))
            if (statuses["status"] == "INACTIVE").any():
                parts.append(message_html(
                    "Devices using it are cut off now. Module 3 needs the certificate ACTIVE: when you have seen the "
                    "effect, click Re-activate certificate below (or run the notebook's re-activation cell).",
                    "warning"))
                self.reactivate_button.layout.display = None
        self.result.value = "".join(parts)
        self.say(f"Mitigation task {task_id} {self.final['taskStatus']}.",
                 "success" if self.final["taskStatus"] == "COMPLETED" else "warning")


def mitigation_launcher(task_id: str | None = None, *, poll_interval: float = 1.0,
                        background: bool | None = None) -> MitigationLauncher:
    """Return the mitigation launcher for an audit's findings (default: the latest finished on-demand audit).

    Its buttons call StartAuditMitigationActionsTask, DescribeAuditMitigationActionsTask,
    ListAuditMitigationActionsExecutions, ListAuditMitigationActionsTasks, DescribeCertificate and UpdateCertificate
    (``helpers.under_the_hood.show_calls()`` lists every call).

    AWS operations:
    [DescribeAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditFinding.html),
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [ListAuditTasks](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditTasks.html).
    """
    return MitigationLauncher(task_id or audits.latest_on_demand_audit(), poll_interval, background)
