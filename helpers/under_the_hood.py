"""Under the hood in a notebook: show the AWS API calls a cell made as a collapsed block after its output.

    from helpers.under_the_hood import show_calls
    with show_calls():
        audits.run_on_demand_audit(...)

or ``%load_ext helpers.under_the_hood`` once, then ``%%calls`` atop one cell, or ``%calls on`` for every cell.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from IPython import get_ipython
from IPython.display import display

from .calls import CallLog, record_calls

__all__ = ["CallLog", "load_ipython_extension", "record_calls", "show", "show_calls", "under_the_hood"]


def show(log: CallLog) -> None:
    """Display ``log``: the collapsed HTML block in a notebook, its text elsewhere."""
    if get_ipython() is not None:
        display(log)
    else:
        print(log)


@contextmanager
def show_calls() -> Iterator[CallLog]:
    """Record the calls made inside the block and display them as "Under the hood" when it ends (even on error)."""
    with record_calls() as log:
        try:
            yield log
        finally:
            if log.calls:
                show(log)


# -- IPython: %%calls and %calls on|off ------------------------------------------------------------------------------
_cell_recording: list[Any] = []  # the open record_calls() of the running cell while ``%calls on``


def _pre_cell(*_: Any) -> None:
    manager = record_calls()
    _cell_recording.append((manager, manager.__enter__()))


def _post_cell(*_: Any) -> None:
    _close_cell_recordings(show_them=True)


def _close_cell_recordings(show_them: bool) -> None:
    while _cell_recording:
        manager, log = _cell_recording.pop()
        manager.__exit__(None, None, None)
        if show_them and log.calls:
            show(log)


def under_the_hood(on: bool = True) -> str:
    """Turn "Under the hood" on or off for every following cell of this notebook; return what it now does."""
    shell = get_ipython()
    if shell is None:
        raise RuntimeError("under_the_hood() works in a notebook or IPython; elsewhere wrap the code in "
                           "`with show_calls():`.")
    for event, callback in (("pre_run_cell", _pre_cell), ("post_run_cell", _post_cell)):
        if callback in shell.events.callbacks[event]:
            shell.events.unregister(event, callback)
        if on:
            shell.events.register(event, callback)
    if not on:  # this very cell's recording was opened by the pre-cell hook just removed: close it
        _close_cell_recordings(show_them=False)
    return "Under the hood: every cell now shows its AWS calls." if on else "Under the hood: off."


def _calls_line_magic(line: str) -> str:
    word = line.strip().lower()
    if word not in ("on", "off"):
        raise ValueError(f"%calls {line!r}: use `%calls on` or `%calls off` (or `%%calls` atop one cell).")
    return under_the_hood(word == "on")


class CellFailed(Exception):
    """The cell under ``%%calls`` raised; its traceback is already shown above."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a second traceback
        return [str(self)]


def _calls_cell_magic(line: str, cell: str) -> None:
    with show_calls():
        result = get_ipython().run_cell(cell)
    error = result.error_before_exec or result.error_in_exec
    if error is not None:  # fail this cell too, so that "run all" and nbval stop here
        # an error that renders itself (needs(): one line) left a message above, not a traceback
        shown = "message" if hasattr(error, "_render_traceback_") else "traceback"
        raise CellFailed(f"The cell raised {type(error).__name__} ({shown} above).")


def load_ipython_extension(shell: Any) -> None:
    """Register ``%%calls`` (one cell) and ``%calls on|off`` (every cell) with IPython (``%load_ext helpers.under_the_hood``)."""
    shell.register_magic_function(_calls_line_magic, "line", "calls")
    shell.register_magic_function(_calls_cell_magic, "cell", "calls")
