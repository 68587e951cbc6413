"""Checks on MQTT connection history: a certificate shared by concurrent devices, client ids that collide.

Both read data Device Defender collects (botocore UpdateAccountAuditConfiguration: "Some data collection might start
immediately when certain checks are enabled. When a check is disabled, any data collected so far in relation to the
check is deleted"; the audit-checks guide: results may not be available for some time after enabling). So:

* A session recorded before the check was last disabled is not the check's data (deleted with it).
* The check reports WAITING_FOR_DATA_COLLECTION when it was enabled after the end of the audit's look-back window
  (live collection cannot have seen any of it: AWS reads sessions older than 2 hours) and holds no session in the
  window. Recorded history (the sandbox's connections control: imported or backdated sessions) counts as collected
  data whenever it was recorded, so a fleet seeded before its checks were enabled is audited at once (choice).
"""
from __future__ import annotations

import heapq
from collections import defaultdict
from datetime import datetime, timezone

from ..snapshot import Connection, DataCollection, Snapshot
from .base import CheckResult, Finding

INF = float("inf")
MAX_RELATED = 100  # sessions named per finding


def _ms(seconds: float) -> str:
    return str(int(seconds * 1000))


SHARED_CHECK = "DEVICE_CERTIFICATE_SHARED_CHECK"
CLIENT_IDS_CHECK = "CONFLICTING_CLIENT_IDS_CHECK"


def _in_window(snap: Snapshot, check: str) -> list[Connection]:
    """Return the sessions of ``check``'s collected data that overlap the audit's look-back window."""
    start, end = snap.window_start, snap.window_end
    data_from = snap.data_collection.get(check, DataCollection()).data_from
    return [c for c in snap.connections if c.recorded_at >= data_from
            and c.connected_at <= end and (c.disconnected_at is None or c.disconnected_at >= start)]


def waiting_for_data(snap: Snapshot, check: str, sessions: list[Connection]) -> str | None:
    """Return why ``check`` has nothing to judge yet (enabled after the window ended, no session in it), or None."""
    enabled_at = snap.data_collection.get(check, DataCollection()).enabled_at
    if sessions or enabled_at is None or enabled_at <= snap.window_end:
        return None
    return (f"Data collection for {check} started when it was enabled ({_iso(enabled_at)}), after the end of this "
            f"audit's connection look-back window ({_iso(snap.window_end)}), and no session in the window was "
            "recorded: audits that start more than 2 hours after enabling have data.")


def _iso(seconds: float) -> str:
    """Return epoch seconds as an ISO 8601 UTC time."""
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def _overlapping(sessions: list[Connection], distinct_clients: bool) -> bool:
    """Return True when two sessions overlap in time (of different client ids when ``distinct_clients``)."""
    open_ends: list[tuple[float, str]] = []  # (end, client id) of sessions still open at the current start
    for s in sorted(sessions, key=lambda c: c.connected_at):
        while open_ends and open_ends[0][0] < s.connected_at:
            heapq.heappop(open_ends)
        if any(client != s.client_id for _, client in open_ends) if distinct_clients else open_ends:
            return True
        heapq.heappush(open_ends, (INF if s.disconnected_at is None else s.disconnected_at, s.client_id))
    return False


def _session_info(c: Connection) -> dict[str, str]:
    info = {"CONNECTION_TIME": _ms(c.connected_at)}
    if c.disconnected_at is not None:
        info["DISCONNECTION_TIME"] = _ms(c.disconnected_at)
    return info


def device_certificate_shared(snap: Snapshot) -> CheckResult:
    """Return the audited certificates that several devices (client ids) used concurrently in the window."""
    audited = {c.certificate_id for c in snap.certificates if c.audited}
    sessions_in_window = _in_window(snap, SHARED_CHECK)
    waiting = waiting_for_data(snap, SHARED_CHECK, sessions_in_window)
    if waiting is not None:
        return CheckResult(0, waiting_for_data=waiting)
    by_cert: dict[str, list[Connection]] = defaultdict(list)
    for c in sessions_in_window:
        if c.certificate_id in audited:
            by_cert[c.certificate_id].append(c)
    findings = []
    for cert_id in sorted(by_cert):
        sessions = by_cert[cert_id]
        if len({s.client_id for s in sessions}) < 2 or not _overlapping(sessions, distinct_clients=True):
            continue
        # One CLIENT_ID per session, repeats included, newest first, as in the AWS CLI's list-audit-findings example;
        # the newest MAX_RELATED only (UNCONFIRMED: AWS's own limit is not documented).
        related = [{"resourceType": "CLIENT_ID", "resourceIdentifier": {"clientId": s.client_id},
                    "additionalInfo": _session_info(s)}
                   for s in sorted(sessions, key=lambda s: s.connected_at, reverse=True)[:MAX_RELATED]]
        findings.append(Finding("DEVICE_CERTIFICATE", {"deviceCertificateId": cert_id},
                                "CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES", "Certificate shared by one or more devices.",
                                related_resources=related))
    return CheckResult(len(audited), findings)


def conflicting_client_ids(snap: Snapshot) -> CheckResult:
    """Return the client ids used by overlapping connections (each new one knocks the previous one off)."""
    sessions_in_window = _in_window(snap, CLIENT_IDS_CHECK)
    waiting = waiting_for_data(snap, CLIENT_IDS_CHECK, sessions_in_window)
    if waiting is not None:
        return CheckResult(0, waiting_for_data=waiting)
    by_client: dict[str, list[Connection]] = defaultdict(list)
    for c in sessions_in_window:
        by_client[c.client_id].append(c)
    findings = []
    for client_id in sorted(by_client):
        sessions = by_client[client_id]
        if len(sessions) < 2 or not _overlapping(sessions, distinct_clients=False):
            continue
        # UNCONFIRMED: AWS names the principals and disconnect times; the sandbox lists each session's
        # certificate with its connect/disconnect times, newest first.
        related = [{"resourceType": "DEVICE_CERTIFICATE", "resourceIdentifier": {"deviceCertificateId": s.certificate_id},
                    "additionalInfo": _session_info(s)}
                   for s in sorted(sessions, key=lambda s: s.connected_at, reverse=True)[:MAX_RELATED]]
        findings.append(Finding("CLIENT_ID", {"clientId": client_id}, "DUPLICATE_CLIENT_ID_ACROSS_CONNECTIONS",
                                "Multiple connections used this MQTT client ID at the same time, "
                                "so connected clients were knocked off.", related_resources=related))
    return CheckResult(len(by_client), findings)
