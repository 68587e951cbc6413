"""Findings as pandas DataFrames: an audit's findings, the non-compliant checks as the console lists them, the
certificate ownership table (certificate → status, things, policies, CA, expiry, findings), and for one finding the
things that share its certificate.

Every listing pages with boto3 paginators, so the same calls work for two devices or two hundred thousand.
"""
from __future__ import annotations

import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import pandas as pd
from botocore.exceptions import ClientError

from . import target
from .audits import check_task_id, describe_audit
from .checks import describe_check, resolve_check_name
from .errors import WorkshopError, aws_error, error_code
from .tables import StyledTable, as_severity, style_table

__all__ = ["FINDING_COLUMNS", "resource_label", "get_findings", "list_findings", "findings_table", "describe_finding",
           "related_resources", "non_compliant_checks", "non_compliant_checks_table", "certificate_ownership",
           "certificate_ownership_table", "things_sharing_certificate", "certificate_ids_of"]

FINDING_COLUMNS = ["check", "title", "severity", "resource type", "resource id", "reason", "related resources",
                   "suppressed", "finding id", "reason code", "task id", "found"]
FINDING_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
CERT_ID_RE = re.compile(r"^(0x)?[a-fA-F0-9]{64}$")
INTERMEDIATE_CA_CHECK = "INTERMEDIATE_CA_REVOKED_FOR_ACTIVE_DEVICE_CERTIFICATES_CHECK"


def _iot() -> Any:
    return target.client("iot")


def _millis(value: str) -> str:
    """Return an epoch-milliseconds string as an ISO time (AWS's additionalInfo format), else the value."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(value)


def resource_label(identifier: dict[str, Any]) -> str:
    """Return a readable id for a ResourceIdentifier (certificate id, 'Policy (version 1)', account, ...)."""
    if not identifier:
        return ""
    if "policyVersionIdentifier" in identifier:
        p = identifier["policyVersionIdentifier"]
        return f"{p.get('policyName')} (version {p.get('policyVersionId')})"
    if "issuerCertificateIdentifier" in identifier:
        i = identifier["issuerCertificateIdentifier"]
        return f"{i.get('issuerCertificateSubject', '?')} (serial {i.get('issuerCertificateSerialNumber', '?')})"
    for key in ("deviceCertificateId", "caCertificateId", "clientId", "account", "cognitoIdentityPoolId",
                "roleAliasArn", "iamRoleArn", "deviceCertificateArn"):
        if key in identifier:
            return str(identifier[key])
    return json.dumps(identifier, sort_keys=True)


def _related_label(related: list[dict[str, Any]]) -> str:
    groups: dict[str, dict[str, None]] = {}  # each resource once: AWS names a client id once per session
    for r in related or []:
        groups.setdefault(r.get("resourceType", "?"), {})[resource_label(r.get("resourceIdentifier", {}))] = None
    return "; ".join(f"{kind}: {', '.join(labels)}" for kind, labels in groups.items())


def _check_finding_id(finding_id: str) -> str:
    if not isinstance(finding_id, str) or not FINDING_ID_RE.match(finding_id):
        raise WorkshopError(f"{finding_id!r} is not a finding id (1 to 128 letters, digits, '_' or '-').",
                            "Copy the 'finding id' column of findings.list_findings(task_id).")
    return finding_id


# -- findings ------------------------------------------------------------------------------------------------------
def get_findings(task_id: str | None = None, *, check_name: str | None = None, start_time: datetime | None = None,
                 end_time: datetime | None = None, suppressed: bool | None = None) -> list[dict[str, Any]]:
    """Return the raw findings (botocore ``AuditFinding`` dicts) of an audit, or of the audits in a time range.

    AWS operation:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    kwargs: dict[str, Any] = {}
    if task_id is not None:
        if start_time is not None or end_time is not None:
            raise WorkshopError("Give either task_id or start_time and end_time, not both.",
                                "Use task_id for one audit, or the time range for every audit in it.")
        kwargs["taskId"] = check_task_id(task_id)
    elif start_time is not None and end_time is not None:
        kwargs.update(startTime=start_time, endTime=end_time)
    else:
        raise WorkshopError("Which audit's findings? Neither task_id nor a full time range was given.",
                            "Pass task_id (e.g. audits.latest_on_demand_audit()), or start_time and end_time.")
    if check_name is not None:
        kwargs["checkName"] = resolve_check_name(check_name)
    if suppressed is not None:
        kwargs["listSuppressedFindings"] = suppressed
    try:
        found = [f for page in _iot().get_paginator("list_audit_findings").paginate(**kwargs) for f in page["findings"]]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise aws_error(exc, f"There is no audit {task_id} in this account and region.",
                            "audits.audit_history() lists the audits of the last 90 days.") from None
        raise aws_error(exc, "Device Defender refused to list the findings.", "Read AWS's message above.") from None
    return found


def _finding_row(f: dict[str, Any]) -> dict[str, Any]:
    info = describe_check(f["checkName"])
    resource = f.get("nonCompliantResource", {})
    return {"check": f["checkName"], "title": info.title, "severity": f.get("severity", info.severity),
            "resource type": resource.get("resourceType", ""),
            "resource id": resource_label(resource.get("resourceIdentifier", {})),
            "reason": f.get("reasonForNonCompliance", ""),
            "related resources": _related_label(f.get("relatedResources")),
            "suppressed": bool(f.get("isSuppressed")), "finding id": f["findingId"],
            "reason code": f.get("reasonForNonComplianceCode", ""), "task id": f.get("taskId", ""),
            "found": pd.Timestamp(f["findingTime"]) if f.get("findingTime") else pd.NaT}


def list_findings(task_id: str | None = None, *, check_name: str | None = None, start_time: datetime | None = None,
                  end_time: datetime | None = None, suppressed: bool | None = None) -> pd.DataFrame:
    """Return the findings as a DataFrame (check, title, severity, resource type, resource id, reason, related
    resources, suppressed, finding id, ...), most severe first.

    AWS operation:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    rows = [_finding_row(f) for f in get_findings(task_id, check_name=check_name, start_time=start_time,
                                                   end_time=end_time, suppressed=suppressed)]
    frame = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    frame["severity"] = as_severity(frame["severity"])
    return frame.sort_values(["severity", "title", "resource id"]).reset_index(drop=True)


def findings_table(task_id: str, **kwargs: Any) -> StyledTable:
    """Return :func:`list_findings` styled by severity (the main columns only).

    AWS operation:
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html).
    """
    frame = list_findings(task_id, **kwargs)[FINDING_COLUMNS[:9]]
    return style_table(frame, caption=f"Findings of audit {task_id}: {len(frame)}")


def describe_finding(finding_id: str) -> dict[str, Any]:
    """Return one finding (botocore ``AuditFinding``), or say clearly that it does not exist.

    AWS operation:
    [DescribeAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditFinding.html).
    """
    _check_finding_id(finding_id)
    try:
        return _iot().describe_audit_finding(findingId=finding_id)["finding"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise aws_error(exc, f"There is no finding {finding_id} in this account and region.",
                            "findings.list_findings(task_id) shows the finding ids of an audit "
                            "(findings are kept 90 days).") from None
        raise


def related_resources(finding_id: str) -> pd.DataFrame:
    """Return every resource related to a finding (all pages, not DescribeAuditFinding's first 10).

    AWS operation:
    [ListRelatedResourcesForAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_ListRelatedResourcesForAuditFinding.html).
    """
    _check_finding_id(finding_id)
    try:
        related = [r for page in _iot().get_paginator("list_related_resources_for_audit_finding").paginate(
            findingId=finding_id) for r in page["relatedResources"]]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise aws_error(exc, f"There is no finding {finding_id} in this account and region.",
                            "findings.list_findings(task_id) shows the finding ids of an audit.") from None
        raise
    rows = [{"resource type": r.get("resourceType", ""), "resource id": resource_label(r.get("resourceIdentifier", {})),
             "details": ", ".join(f"{k.lower().replace('_', ' ')}: {_millis(v) if k.endswith('_TIME') else v}"
                                  for k, v in (r.get("additionalInfo") or {}).items())} for r in related]
    return pd.DataFrame(rows, columns=["resource type", "resource id", "details"])


def non_compliant_checks(task_id: str) -> pd.DataFrame:
    """Return the audit's non-compliant checks as the console lists them: most severe first, with resource counts.

    AWS operation:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    details = describe_audit(task_id).get("auditDetails") or {}
    rows = []
    for name, d in details.items():
        count = d.get("nonCompliantResourcesCount", 0)
        suppressed = d.get("suppressedNonCompliantResourcesCount", 0)
        if d.get("checkRunStatus") != "COMPLETED_NON_COMPLIANT" and count - suppressed <= 0:
            continue
        info = describe_check(name)
        rows.append({"check": name, "title": info.title, "severity": info.severity,
                     "non-compliant resources": count - suppressed, "suppressed": suppressed,
                     "resources checked": d.get("totalResourcesCount", 0), "resource type": info.resource_type})
    frame = pd.DataFrame(rows, columns=["check", "title", "severity", "non-compliant resources", "suppressed",
                                        "resources checked", "resource type"])
    frame["severity"] = as_severity(frame["severity"])
    return frame.sort_values(["severity", "non-compliant resources", "title"],
                             ascending=[True, False, True]).reset_index(drop=True)


def non_compliant_checks_table(task_id: str) -> StyledTable:
    """Return :func:`non_compliant_checks` styled by severity.

    AWS operation:
    [DescribeAuditTask](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditTask.html).
    """
    frame = non_compliant_checks(task_id)
    return style_table(frame, caption=f"Non-compliant checks of audit {task_id}: {len(frame)}")


# -- certificates --------------------------------------------------------------------------------------------------
def certificate_ids_of(finding: dict[str, Any]) -> list[str]:
    """Return the device certificate ids a finding names (its resource, then its related resources)."""
    ids: list[str] = []
    resources = [finding.get("nonCompliantResource", {}), *(finding.get("relatedResources") or [])]
    for r in resources:
        cert = (r.get("resourceIdentifier") or {}).get("deviceCertificateId")
        if cert and cert not in ids:
            ids.append(cert)
    return ids


def _all_pages(operation: str, key: str, **kwargs: Any) -> list[Any]:
    return [x for page in _iot().get_paginator(operation).paginate(**kwargs) for x in page[key]]


def _describe_certificate(cert_id: str) -> dict[str, Any]:
    if not CERT_ID_RE.match(cert_id or ""):
        raise WorkshopError(f"{cert_id!r} is not a certificate id (64 hexadecimal characters).",
                            "Copy it from findings.list_findings(task_id) or certificate_ownership().")
    try:
        return _iot().describe_certificate(certificateId=cert_id)["certificateDescription"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            raise aws_error(exc, f"There is no certificate {cert_id} in this account and region.",
                            "findings.certificate_ownership() lists the registered certificates.") from None
        raise


def _ownership_row(cert_id: str, findings_by_cert: dict[str, list[str]]) -> dict[str, Any]:
    d = _describe_certificate(cert_id)
    arn = d["certificateArn"]
    things = sorted(_all_pages("list_principal_things", "things", principal=arn))
    policies = sorted(p["policyName"] for p in _all_pages("list_attached_policies", "policies", target=arn))
    not_after = (d.get("validity") or {}).get("notAfter")
    return {"certificate id": cert_id, "status": d.get("status", ""), "things": ", ".join(things),
            "thing count": len(things), "policies": ", ".join(policies), "CA": d.get("caCertificateId") or "",
            "expires": pd.Timestamp(not_after) if not_after else pd.NaT,
            "findings": ", ".join(sorted(set(findings_by_cert.get(cert_id, []))))}


OWNERSHIP_COLUMNS = ["certificate id", "status", "things", "thing count", "policies", "CA", "expires", "findings"]


def certificate_ownership(task_id: str | None = None, *, certificate_ids: Iterable[str] | None = None,
                          only_with_findings: bool = False, max_workers: int = 8) -> pd.DataFrame:
    """Return one row per device certificate: status, things and policies attached, CA, expiry, and the titles of
    the findings of audit ``task_id`` against it (shared certificates first).

    AWS operations: [ListCertificates](https://docs.aws.amazon.com/iot/latest/apireference/API_ListCertificates.html),
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html),
    [ListAttachedPolicies](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAttachedPolicies.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [ListPrincipalThings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListPrincipalThings.html).
    """
    findings_by_cert: dict[str, list[str]] = {}
    if task_id is not None:
        for f in get_findings(task_id):
            for cert in certificate_ids_of(f):
                findings_by_cert.setdefault(cert, []).append(describe_check(f["checkName"]).title)
    if certificate_ids is not None:
        ids = list(dict.fromkeys(certificate_ids))
    elif only_with_findings:
        ids = list(findings_by_cert)
    else:
        ids = [c["certificateId"] for c in _all_pages("list_certificates", "certificates")]
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        rows = list(pool.map(lambda c: _ownership_row(c, findings_by_cert), ids))
    frame = pd.DataFrame(rows, columns=OWNERSHIP_COLUMNS)
    frame["thing count"] = frame["thing count"].astype(int)
    return frame.sort_values(["thing count", "findings", "certificate id"],
                             ascending=[False, False, True]).reset_index(drop=True)


def certificate_ownership_table(task_id: str | None = None, **kwargs: Any) -> StyledTable:
    """Return :func:`certificate_ownership` styled (no severity column; reads as plain text).

    AWS operations:
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html),
    [ListAttachedPolicies](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAttachedPolicies.html),
    [ListAuditFindings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListAuditFindings.html),
    [ListCertificates](https://docs.aws.amazon.com/iot/latest/apireference/API_ListCertificates.html),
    [ListPrincipalThings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListPrincipalThings.html).
    """
    frame = certificate_ownership(task_id, **kwargs)
    return style_table(frame, severity_column=None, caption=f"Device certificates: {len(frame)}")


def things_sharing_certificate(finding_id: str) -> pd.DataFrame:
    """Return the things attached to the certificate(s) a finding is about: thing, type, certificate and status,
    and any other certificates each thing has.

    AWS operations:
    [ListRelatedResourcesForAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_ListRelatedResourcesForAuditFinding.html),
    [ListPrincipalThings](https://docs.aws.amazon.com/iot/latest/apireference/API_ListPrincipalThings.html),
    [DescribeThing](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeThing.html),
    [ListThingPrincipals](https://docs.aws.amazon.com/iot/latest/apireference/API_ListThingPrincipals.html),
    [DescribeAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditFinding.html),
    [DescribeCertificate](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeCertificate.html).
    """
    finding = describe_finding(finding_id)
    if finding.get("checkName") == INTERMEDIATE_CA_CHECK or len(finding.get("relatedResources") or []) >= 10:
        # DescribeAuditFinding returns at most 10 related resources (none for this check): page them all.
        related = _all_pages("list_related_resources_for_audit_finding", "relatedResources", findingId=finding_id)
        finding = {**finding, "relatedResources": related}
    cert_ids = certificate_ids_of(finding)
    if not cert_ids:
        resource = finding.get("nonCompliantResource", {})
        raise WorkshopError(
            f"Finding {finding_id} is about a {resource.get('resourceType')} "
            f"({resource_label(resource.get('resourceIdentifier', {}))}), not a device certificate.",
            "Use a finding of a device-certificate check, e.g. DEVICE_CERTIFICATE_SHARED_CHECK.")
    rows = []
    for cert_id in cert_ids:
        d = _describe_certificate(cert_id)
        for thing in sorted(_all_pages("list_principal_things", "things", principal=d["certificateArn"])):
            described = _iot().describe_thing(thingName=thing)
            others = [p.rsplit("/", 1)[-1] for p in _all_pages("list_thing_principals", "principals", thingName=thing)
                      if p != d["certificateArn"]]
            rows.append({"thing": thing, "thing type": described.get("thingTypeName") or "",
                         "attributes": ", ".join(f"{k}={v}" for k, v in sorted((described.get("attributes") or {})
                                                                                  .items())),
                         "certificate id": cert_id, "certificate status": d.get("status", ""),
                         "other certificates": ", ".join(others)})
    return pd.DataFrame(rows, columns=["thing", "thing type", "attributes", "certificate id", "certificate status",
                                       "other certificates"])


def suppress_finding(finding_id: str, *, days: int | None = 30, description: str = "") -> str:
    """Suppress future findings of this finding's check on its resource for ``days`` (None: indefinitely); return
    what was done. Suppressed findings still appear (isSuppressed) but no longer make the check non-compliant.

    AWS operations:
    [CreateAuditSuppression](https://docs.aws.amazon.com/iot/latest/apireference/API_CreateAuditSuppression.html),
    [UpdateAuditSuppression](https://docs.aws.amazon.com/iot/latest/apireference/API_UpdateAuditSuppression.html),
    [DescribeAuditFinding](https://docs.aws.amazon.com/iot/latest/apireference/API_DescribeAuditFinding.html).
    """
    finding = describe_finding(finding_id)
    kwargs: dict[str, Any] = {"checkName": finding["checkName"],
                              "resourceIdentifier": finding["nonCompliantResource"]["resourceIdentifier"],
                              "description": description or f"accepted risk (finding {finding_id})",
                              # one token per call: botocore's retries resend it (idempotent), a new call is a new request
                              "clientRequestToken": uuid.uuid4().hex}
    if days is None:
        kwargs["suppressIndefinitely"] = True
    else:
        if days < 1:
            raise WorkshopError(f"days={days} would end the suppression before it starts.",
                                "Give a number of days >= 1, or days=None to suppress indefinitely.")
        kwargs["expirationDate"] = datetime.now(timezone.utc) + timedelta(days=days)
    try:
        _iot().create_audit_suppression(**kwargs)
    except ClientError as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise
        kwargs.pop("clientRequestToken")
        _iot().update_audit_suppression(**kwargs)
        return f"Updated the suppression of {finding['checkName']} for {resource_label(kwargs['resourceIdentifier'])}."
    until = "indefinitely" if days is None else f"for {days} days"
    return f"Suppressed {finding['checkName']} for {resource_label(kwargs['resourceIdentifier'])} {until}."
