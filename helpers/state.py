"""The local record of what the workshop created: ``.workshop/state.json`` (git-ignored), one entry per run.

IoT things cannot be tagged, so this file (plus the ``workshop`` thing attribute) is how cleanup finds them. It holds
ids and names only, never key material; keys live in ``.workshop/keys/<run id>/`` with mode 0600. Resources are listed
per kind under the names :mod:`helpers.cleanup` reads ("things", "certificates", "policies", "roles", "topics",
"mitigation_actions", "scheduled_audits", "thing_groups", "suppressions" as ``{"checkName", "resourceIdentifier"}``,
...).
``WORKSHOP_STATE_DIR`` moves the folder (tests use a temporary one).
"""
from __future__ import annotations

import json
import os
import secrets
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import target
from .errors import WorkshopError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_VERSION = 1
_lock = threading.RLock()


def state_dir() -> Path:
    """Return the folder of the local state (``WORKSHOP_STATE_DIR`` or ``<project>/.workshop``)."""
    return Path(os.environ.get("WORKSHOP_STATE_DIR") or PROJECT_ROOT / ".workshop")


def state_file() -> Path:
    """Return the path of the state file."""
    return state_dir() / "state.json"


def keys_dir(run_id: str) -> Path:
    """Return the folder for the private keys of run ``run_id``."""
    return state_dir() / "keys" / run_id


def new_run_id() -> str:
    """Return a fresh run id: ``m2`` and 8 hex digits (valid in thing, policy, role and topic names)."""
    return f"m2{secrets.token_hex(4)}"


def load_state() -> dict[str, Any]:
    """Return the state (an empty one when the file does not exist yet)."""
    path = state_file()
    if not path.exists():
        return {"version": STATE_VERSION, "runs": {}}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WorkshopError(f"The workshop state file {path} cannot be read: {exc}",
                            "Move it aside (resources it lists can still be found by their workshop tags and the "
                            "'workshop' thing attribute), then run again.") from None
    if not isinstance(data, dict) or not isinstance(data.get("runs"), dict):
        raise WorkshopError(f"The workshop state file {path} is not in the expected format.",
                            "Move it aside and run again.")
    return data


def save_state(state: dict[str, Any]) -> None:
    """Write the state atomically (a crash never leaves half a file)."""
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=1, sort_keys=True, default=str)
    os.replace(tmp, path)


def _scope() -> dict[str, str]:
    """Return the target and region the helpers work in now."""
    return {"target": target.get_target(), "region": target.get_region()}


def start_run(kind: str, run_id: str, account: str, **details: Any) -> dict[str, Any]:
    """Record a new run of ``kind`` ("module1", "fleet") in the current target and region; return its entry."""
    with _lock:
        state = load_state()
        if run_id in state["runs"]:
            raise WorkshopError(f"Run {run_id} is already recorded in {state_file()}.",
                                "Use a new run id (leave run_id unset to get one).")
        entry = {"run_id": run_id, "kind": kind, "account": account, **_scope(),
                 "created": datetime.now(timezone.utc).isoformat(), "resources": {}, **details}
        instance = target.sandbox_instance()
        if instance:  # resources of a sandbox live as long as its instance: a restart makes this record stale
            entry["sandbox_instance"] = instance
        state["runs"][run_id] = entry
        save_state(state)
        return entry


def add_resources(run_id: str, kind: str, ids: list[Any]) -> None:
    """Append ``ids`` of resource ``kind`` (e.g. "things", "policies") to run ``run_id``."""
    if not ids:
        return
    with _lock:
        state = load_state()
        run = state["runs"].get(run_id)
        if run is None:
            raise WorkshopError(f"Run {run_id} is not recorded in {state_file()}.", "Start it with start_run().")
        bucket = run["resources"].setdefault(kind, [])
        seen = {json.dumps(x, sort_keys=True) for x in bucket}
        bucket.extend(x for x in ids if json.dumps(x, sort_keys=True) not in seen)
        save_state(state)


def update_run(run_id: str, **details: Any) -> None:
    """Set fields of run ``run_id``."""
    with _lock:
        state = load_state()
        if run_id not in state["runs"]:
            raise WorkshopError(f"Run {run_id} is not recorded in {state_file()}.", "Check the run id.")
        state["runs"][run_id].update(details)
        save_state(state)


def get_run(run_id: str) -> dict[str, Any] | None:
    """Return the entry of run ``run_id``, or None."""
    return load_state()["runs"].get(run_id)


def runs(kind: str | None = None, *, here: bool = True) -> list[dict[str, Any]]:
    """Return the recorded runs (of ``kind``; only those of the current target and region when ``here``), oldest
    first."""
    scope = _scope() if here else None
    out = [r for r in load_state()["runs"].values()
           if (kind is None or r.get("kind") == kind)
           and (scope is None or all(r.get(k) == v for k, v in scope.items()))]
    return sorted(out, key=lambda r: r.get("created", ""))


def forget_run(run_id: str) -> None:
    """Remove run ``run_id`` from the state (after its resources were deleted)."""
    with _lock:
        state = load_state()
        state["runs"].pop(run_id, None)
        save_state(state)
