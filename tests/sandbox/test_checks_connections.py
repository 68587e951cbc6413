"""Connection checks against the rules of the reference (§1.4): concurrent use of a certificate, client id clashes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from helpers.sandbox.checks.account_settings import logging_disabled
from helpers.sandbox.checks.connections import conflicting_client_ids, device_certificate_shared
from helpers.sandbox.snapshot import CertificateInfo, Connection, LoggingState, Snapshot

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
T = NOW.timestamp() - 5 * 3600  # inside the on-demand window (31 days back, not the last 2 hours)
A, B = "a" * 64, "b" * 64


def snap(connections, statuses=None) -> Snapshot:
    statuses = statuses or {A: "ACTIVE", B: "ACTIVE"}
    certs = [CertificateInfo(cid, f"arn:aws:iot:us-east-1:123456789012:cert/{cid}", st, "", NOW)
             for cid, st in statuses.items()]
    start, end = Snapshot.on_demand_window(NOW)
    return Snapshot("123456789012", "us-east-1", NOW, certificates=certs, connections=connections,
                    window_start=start, window_end=end)


def c(client, cert, start, end=None, ip="192.0.2.1"):
    return Connection(client, cert, T + start, None if end is None else T + end, ip)


@pytest.mark.parametrize("connections,statuses,shared", [
    ([c("d1", A, 0, 5), c("d2", A, 1, 6)], None, {A}),                          # overlapping, two devices
    ([c("d1", A, 0, 5), c("d2", A, 10, 15)], None, set()),                      # one after the other
    ([c("d1", A, 0, 5), c("d1", A, 1, 6)], None, set()),                        # same client id: not sharing
    ([c("d1", A, 0), c("d2", A, 100, 110)], None, {A}),                         # first still connected
    ([c("d1", A, 0, 5), c("d2", B, 1, 6)], None, set()),                        # different certificates
    ([c("d1", A, 0, 5), c("d2", A, 1, 6)], {A: "INACTIVE", B: "ACTIVE"}, set()),  # inactive: not audited
    ([c("d1", A, 0, 5), c("d2", A, 1, 6)], {A: "PENDING_TRANSFER", B: "ACTIVE"}, {A}),
    ([c("d1", A, 0, 5), c("d2", A, 5, 6)], None, {A}),                          # touching end == start counts
])
def test_device_certificate_shared(connections, statuses, shared):
    result = device_certificate_shared(snap(connections, statuses))
    assert {f.resource_identifier["deviceCertificateId"] for f in result.findings} == shared
    assert result.total_resources == sum(1 for s in (statuses or {A: "ACTIVE", B: "ACTIVE"}).values()
                                         if s in ("ACTIVE", "PENDING_TRANSFER"))


def test_window_edges_for_on_demand_audits():
    recent = NOW.timestamp() - 3600  # within the last 2 hours: ignored
    old = NOW.timestamp() - 32 * 86400  # older than 31 days: ignored
    for base in (recent, old):
        conns = [Connection("d1", A, base, base + 5, "192.0.2.1"), Connection("d2", A, base + 1, base + 6, "192.0.2.2")]
        assert device_certificate_shared(snap(conns)).findings == []


def test_shared_finding_lists_sessions_newest_first_with_times():
    (finding,) = device_certificate_shared(snap([c("d1", A, 0, 5), c("d2", A, 1, 6), c("d1", A, 20, 25)])).findings
    assert finding.reason_code == "CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES"
    assert finding.reason == "Certificate shared by one or more devices."
    # one CLIENT_ID per session, repeats included (the AWS CLI's list-audit-findings example)
    assert [r["resourceIdentifier"]["clientId"] for r in finding.related_resources] == ["d1", "d2", "d1"]
    first = finding.related_resources[0]
    assert first["additionalInfo"] == {"CONNECTION_TIME": str(int((T + 20) * 1000)),
                                       "DISCONNECTION_TIME": str(int((T + 25) * 1000))}


@pytest.mark.parametrize("connections,conflicting", [
    ([c("d1", A, 0, 5), c("d1", B, 1, 6)], {"d1"}),         # second connection knocks the first off
    ([c("d1", A, 0, 5), c("d1", A, 1, 6)], {"d1"}),         # even with the same certificate
    ([c("d1", A, 0, 5), c("d1", A, 10, 15)], set()),        # reconnecting later is fine
    ([c("d1", A, 0, 5), c("d2", A, 1, 6)], set()),          # different ids
    ([c("d1", A, 0), c("d1", B, 50, 60)], {"d1"}),          # still connected when the other arrived
])
def test_conflicting_client_ids(connections, conflicting):
    result = conflicting_client_ids(snap(connections))
    assert {f.resource_identifier["clientId"] for f in result.findings} == conflicting
    assert result.total_resources == len({x.client_id for x in connections})


@pytest.mark.parametrize("v1,v2,compliant", [
    (None, None, False),
    (None, {"roleArn": "r", "defaultLogLevel": "ERROR", "disableAllLogs": False}, True),
    (None, {"roleArn": "r", "defaultLogLevel": "ERROR", "disableAllLogs": True}, False),
    (None, {"roleArn": "r", "defaultLogLevel": "DISABLED", "disableAllLogs": False}, False),
    ({"roleArn": "r", "logLevel": "INFO"}, None, True),
    ({"roleArn": "r", "logLevel": "DISABLED"}, None, False),
    ({"roleArn": "r", "logLevel": "DISABLED"}, {"roleArn": "r", "defaultLogLevel": "WARN", "disableAllLogs": False}, True),
])
def test_logging_disabled(v1, v2, compliant):
    s = snap([])
    s.logging = LoggingState(v1=v1, v2=v2)
    result = logging_disabled(s)
    assert result.total_resources == 1
    assert (result.findings == []) == compliant
    if not compliant:
        assert result.findings[0].resource_identifier == {"account": "123456789012"}
