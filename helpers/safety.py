"""The guard on destructive calls in a real account: in aws mode nothing is replaced or deleted without
``confirm=True``, and the refusal lists what would change, in which account and region. The sandbox needs no
confirmation."""
from __future__ import annotations

import os
import sys
from typing import Iterable

from . import target
from .errors import WorkshopError


def require_confirmation(action: str, changes: Iterable[str], confirm: bool) -> None:
    """Return when the sandbox is active, ``confirm`` is True or a rehearsal confirmed in advance
    (:func:`confirmed_in_advance`); otherwise raise, listing what would change.

    AWS operation:
    [GetCallerIdentity](https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
    """
    if target.is_sandbox() or confirm:
        return
    if confirmed_in_advance():  # make rehearse: an unattended run, as --yes; the log shows where a person confirms
        print(f"confirmed in advance (WORKSHOP_CONFIRM=yes, rehearsal only): {action}", file=sys.stderr)
        return
    listing = "\n".join(f"  - {c}" for c in changes)
    raise WorkshopError(f"{action} would change your real AWS account "
                        f"{target.mask_account(target.caller_identity()['account'])} in {target.get_region()}:\n"
                        f"{listing}",
                        "Review the list, then call again with confirm=True.")


def confirmed_in_advance() -> bool:
    """Return True when an unattended rehearsal (``make rehearse``: the rehearsal target with ``WORKSHOP_CONFIRM=yes``)
    confirmed every destructive step in advance, as ``iot-audit workshop --yes`` does; never in a real account."""
    return target.is_rehearsal() and os.environ.get("WORKSHOP_CONFIRM", "").lower() == "yes"
