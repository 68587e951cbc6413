"""Run by every kernel ``make lab`` starts (its PYTHONSTARTUP): ``needs`` is defined from the start, so a cell run
right after a kernel restart, before the notebook's imports cell, says which cells to run instead of raising
``NameError: name 'needs' is not defined``. Plain Python (a JupyterLab terminal's REPL) is left alone."""
from __future__ import annotations

import sys

if "ipykernel" in sys.modules:
    from helpers.needs import needs  # noqa: F401 - defined in the kernel's namespace for the notebook's cells
