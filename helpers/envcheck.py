"""The install check attendees run first: every package the workshop needs, its version, and how to fix a gap."""
from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement

DISTRIBUTION = "iot-audit-workshop"
FIX = "run `make lab` again from the repository (it reinstalls), or `pip install -e .` in this environment"


def requirements(extra: str | None = None) -> list[Requirement]:
    """Return the workshop's runtime requirements (or those of ``extra``) as declared in pyproject.toml."""
    out = []
    for raw in metadata.requires(DISTRIBUTION) or []:
        req = Requirement(raw)
        wanted = req.marker is None if extra is None else (req.marker is not None and req.marker.evaluate({"extra": extra}))
        if wanted:
            out.append(req)
    return out


def check_environment(extra: str | None = None) -> list[dict[str, str]]:
    """Return one row per requirement: package, required, installed, ok (✓/✗) and the fix when not ok."""
    rows = [{"package": "python", "required": ">=3.11", "installed": sys.version.split()[0],
             "ok": "✓" if sys.version_info >= (3, 11) else "✗",
             "fix": "" if sys.version_info >= (3, 11) else "install Python 3.11 or newer"}]
    for req in requirements(extra):
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            rows.append({"package": req.name, "required": str(req.specifier), "installed": "missing", "ok": "✗",
                         "fix": FIX})
            continue
        ok = req.specifier.contains(version, prereleases=True)
        rows.append({"package": req.name, "required": str(req.specifier) or "any", "installed": version,
                     "ok": "✓" if ok else "✗", "fix": "" if ok else FIX})
    return rows


def environment_ok(extra: str | None = None) -> bool:
    """Return True when every requirement is installed at a suitable version."""
    return all(r["ok"] == "✓" for r in check_environment(extra))
