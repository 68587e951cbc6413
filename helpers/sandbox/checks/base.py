"""What an audit check returns: the resources it evaluated and one finding per non-compliant resource."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..snapshot import Snapshot


@dataclass
class Finding:
    """A non-compliant resource, in the terms of the botocore ``AuditFinding`` shape (severity and check name are
    added by the audit engine from the catalog)."""

    resource_type: str
    resource_identifier: dict[str, Any]  # members of botocore's ResourceIdentifier
    reason_code: str
    reason: str
    additional_info: dict[str, str] = field(default_factory=dict)
    related_resources: list[dict[str, Any]] = field(default_factory=list)  # botocore RelatedResource shapes


@dataclass
class CheckResult:
    """The outcome of one check over a snapshot."""

    total_resources: int
    findings: list[Finding] = field(default_factory=list)
    waiting_for_data: str | None = None  # why the check has no data to judge yet (WAITING_FOR_DATA_COLLECTION)


CheckFunction = Callable[[Snapshot], CheckResult]
