"""The map of the workshop: its notebooks in order, what each covers, and how long it takes."""
from __future__ import annotations

from pathlib import Path

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


def workshop_map() -> list[dict[str, object]]:
    """Return the notebooks in order with section, title, minutes and whether the notebook is in this checkout."""
    return [
        {"notebook": name, "section": section, "title": title, "minutes": minutes,
         "status": "ready" if (NOTEBOOKS_DIR / name).exists() else "in preparation"}
        for name, section, title, minutes in NOTEBOOKS
    ]
