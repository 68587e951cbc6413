"""One place for how tables look: severity order, colour-blind-safe severity colours, a Styler that still reads
as plain text (``print(table)``, nbval, a terminal) while it shows colours in a notebook, and pandas' display options
in a notebook: every column and the full text of every cell, never cut with "…" (JupyterLab scrolls a wide table
inside its output area). Importing this module in a Jupyter kernel sets those options (every helper imports it)."""
from __future__ import annotations

import html
import sys
from typing import Any, Iterable

import pandas as pd
from pandas.io.formats.style import Styler

from .spec.checks import SEVERITIES

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
# Warm to cool as severity falls; black text is readable on all four.
SEVERITY_COLOURS: dict[str, str] = {
    "CRITICAL": "#D55E00",  # vermillion
    "HIGH": "#E69F00",  # orange
    "MEDIUM": "#F0E442",  # yellow
    "LOW": "#56B4E9",  # sky blue
}
OK_COLOUR = "#009E73"  # bluish green: compliant / passed
NEUTRAL_COLOUR = "#999999"  # grey: not run, not applicable
SEVERITY_ORDER: tuple[str, ...] = SEVERITIES
SEVERITY_TYPE = pd.CategoricalDtype(list(SEVERITIES), ordered=True)
# pandas' defaults cut cells at 50 characters and hide the middle columns of tables wider than 20 columns, both with
# "…": the workshop's tables hold ARNs, check names, reasons and fixes, which must be read whole.
NOTEBOOK_DISPLAY: dict[str, Any] = {
    "display.max_colwidth": None,
    "display.max_columns": None,
}


def use_notebook_display() -> None:
    """Set pandas' display options for notebooks (:data:`NOTEBOOK_DISPLAY`): full cells, every column."""
    for option, value in NOTEBOOK_DISPLAY.items():
        pd.set_option(option, value)


def in_kernel() -> bool:
    """Return True inside a Jupyter kernel (ipykernel is loaded), where tables are read in a notebook."""
    return "ipykernel" in sys.modules


def severity_rank(severity: str) -> int:
    """Return 0 for CRITICAL … 3 for LOW (4 for anything else), for sorting."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def as_severity(values: Iterable[str]) -> pd.Categorical:
    """Return the severities as an ordered categorical (CRITICAL < HIGH < MEDIUM < LOW) so tables sort by it."""
    return pd.Categorical(list(values), dtype=SEVERITY_TYPE)


class StyledTable(Styler):
    """A pandas Styler whose plain-text form is the table itself, not ``<Styler object at 0x…>``."""

    def __repr__(self) -> str:
        if self.data.empty:
            return f"(no rows) columns: {', '.join(map(str, self.data.columns))}"
        return self.data.to_string(index=False)

    __str__ = __repr__

    @property
    def frame(self) -> pd.DataFrame:
        """Return the underlying DataFrame."""
        return self.data


def _severity_css(value: Any) -> str:
    colour = SEVERITY_COLOURS.get(str(value))
    return f"background-color: {colour}; color: black; font-weight: bold" if colour else ""


def _mark_css(value: Any) -> str:
    if value in ("✓", True):
        return f"color: {OK_COLOUR}; font-weight: bold"
    if value in ("✗", False):
        return f"color: {SEVERITY_COLOURS['CRITICAL']}; font-weight: bold"
    return ""


def style_table(frame: pd.DataFrame, *, severity_column: str | None = "severity",
                mark_columns: Iterable[str] = (), caption: str | None = None) -> StyledTable:
    """Return ``frame`` styled: severity cells in Okabe-Ito colours, ✓/✗ columns green/vermillion, no index."""
    styler = StyledTable(frame)
    if severity_column and severity_column in frame.columns and not frame.empty:
        styler = styler.map(_severity_css, subset=[severity_column])
    marks = [c for c in mark_columns if c in frame.columns]
    if marks and not frame.empty:
        styler = styler.map(_mark_css, subset=marks)
    styler = styler.hide(axis="index").set_table_styles(
        [{"selector": "th", "props": "text-align: left; font-size: 1.05em"},
         {"selector": "td", "props": "text-align: left; padding: 0.2em 0.8em"}])
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler


def severity_legend_html() -> str:
    """Return a small HTML legend of the severity colours (for widgets)."""
    chips = "".join(
        f"<span style='background:{c};color:black;padding:0.1em 0.5em;margin-right:0.4em;border-radius:3px'>"
        f"{s}</span>" for s, c in SEVERITY_COLOURS.items())
    return f"<div>{chips}</div>"


def frame_to_html(frame: pd.DataFrame, *, severity_column: str | None = "severity", max_rows: int = 50) -> str:
    """Return ``frame`` as a styled HTML table (for widgets' HTML values)."""
    shown = frame.head(max_rows)
    out = style_table(shown, severity_column=severity_column).to_html()
    if len(frame) > max_rows:
        out += f"<div><i>… {len(frame) - max_rows} more rows</i></div>"
    return out


if in_kernel():
    use_notebook_display()
