"""helpers.findings against the in-process sandbox: findings, the non-compliant checks summary, certificate ownership,
the things sharing a certificate — and proof that every listing helper pages (the sandbox serving 1 item a page)."""
from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from helpers import audits, findings, settings, target
from helpers.errors import WorkshopError
from tests.builders import configure_audit, register_cert, shared_sessions, wait_audit
from tests.test_audits import FAST, LOGGING, POLICY, SHARED, build_module1, cert_arn, sandbox_config


@pytest.fixture
def audited(sandbox):
    """Module 1 in miniature, audited once."""
    env = build_module1(sandbox)
    env.task_id = audits.run_on_demand_audit(**FAST)["taskId"]
    return env


def finding_id(env, check: str) -> str:
    frame = findings.list_findings(env.task_id)
    return frame[frame["check"] == check]["finding id"].iloc[0]


def test_findings_table_reads_like_the_console(audited):
    frame = findings.list_findings(audited.task_id)
    assert list(frame.columns) == findings.FINDING_COLUMNS
    assert list(frame["check"]) == [POLICY, SHARED, LOGGING]  # CRITICAL first, then by title
    assert [str(s) for s in frame["severity"]] == ["CRITICAL", "CRITICAL", "LOW"]
    by_check = frame.set_index("check")
    assert by_check.loc[POLICY, "resource id"] == "DevicePolicy (version 1)"
    assert by_check.loc[SHARED, "resource id"] == audited.shared
    assert by_check.loc[SHARED, "related resources"] == "CLIENT_ID: Thing02, Thing01"
    assert by_check.loc[LOGGING, "resource id"] == "123456789012"
    assert by_check.loc[SHARED, "reason code"] == "CERTIFICATE_SHARED_BY_MULTIPLE_DEVICES"
    assert not frame["suppressed"].any() and set(frame["task id"]) == {audited.task_id}
    assert list(findings.list_findings(audited.task_id, check_name="device certificate shared")["check"]) == [SHARED]
    text = repr(findings.findings_table(audited.task_id))
    assert "DevicePolicy (version 1)" in text and "Styler" not in text and "task id" not in text

    now = datetime.now(timezone.utc)
    by_time = findings.list_findings(start_time=now - timedelta(hours=1), end_time=now + timedelta(minutes=5))
    assert set(by_time["finding id"]) == set(frame["finding id"])


def test_suppressed_findings_are_marked_and_can_be_filtered(audited):
    audited.iot.create_audit_suppression(checkName=SHARED, resourceIdentifier={"deviceCertificateId": audited.shared},
                                         suppressIndefinitely=True, clientRequestToken="t")
    task_id = audits.run_on_demand_audit(**FAST)["taskId"]
    frame = findings.list_findings(task_id)
    assert frame.set_index("check").loc[SHARED, "suppressed"]
    assert SHARED not in set(findings.list_findings(task_id, suppressed=False)["check"])
    assert list(findings.list_findings(task_id, suppressed=True)["check"]) == [SHARED]
    summary = findings.non_compliant_checks(task_id)
    assert SHARED not in set(summary["check"])  # suppressed: compliant, like the console


def test_bad_finding_queries_are_explained(audited):
    for kwargs, needle in [({}, "Neither task_id nor a full time range"),
                           ({"task_id": audited.task_id, "start_time": datetime.now(timezone.utc)}, "not both"),
                           ({"task_id": "f" * 32}, "There is no audit"),
                           ({"task_id": audited.task_id, "check_name": "SHARED_CERTS"}, "not an audit check")]:
        with pytest.raises(WorkshopError, match=needle):
            findings.list_findings(**kwargs)
    with pytest.raises(WorkshopError, match="is not a finding id"):
        findings.describe_finding("no such id!")
    with pytest.raises(WorkshopError, match="There is no finding") as e:
        findings.describe_finding("0" * 32)
    assert "list_findings(task_id)" in e.value.fix and e.value.code == "ResourceNotFoundException"
    with pytest.raises(WorkshopError, match="There is no finding"):
        findings.related_resources("0" * 32)
    with pytest.raises(WorkshopError, match="There is no finding"):
        findings.things_sharing_certificate("0" * 32)


def test_non_compliant_checks_as_the_console_lists_them(audited):
    frame = findings.non_compliant_checks(audited.task_id)
    assert list(frame.columns) == ["check", "title", "severity", "non-compliant resources", "suppressed",
                                   "resources checked", "resource type"]
    assert list(frame["title"]) == ["AWS IoT policies overly permissive", "Device certificate shared",
                                    "Logging disabled"]
    assert list(frame["non-compliant resources"]) == [1, 1, 1]
    assert frame.set_index("check").loc[SHARED, "resources checked"] == 2
    assert "Logging disabled" in repr(findings.non_compliant_checks_table(audited.task_id))


def test_describe_and_related_resources(audited):
    shared = finding_id(audited, SHARED)
    assert findings.describe_finding(shared)["checkName"] == SHARED
    related = findings.related_resources(shared)
    assert list(related.columns) == ["resource type", "resource id", "details"]
    assert list(dict.fromkeys(related["resource id"])) == ["Thing02", "Thing01"]  # a row per session, newest first
    assert "connection time: 20" in related["details"].iloc[0] and " UTC" in related["details"].iloc[0]


def test_certificate_ownership(audited):
    frame = findings.certificate_ownership(audited.task_id)
    assert list(frame.columns) == findings.OWNERSHIP_COLUMNS
    assert list(frame["certificate id"]) == [audited.shared, audited.own]  # the shared one first
    shared, own = frame.iloc[0], frame.iloc[1]
    assert (shared["things"], shared["thing count"], shared["policies"]) == ("Thing01, Thing02", 2, "DevicePolicy")
    assert shared["findings"] == "Device certificate shared" and shared["status"] == "ACTIVE"
    assert (own["things"], own["policies"], own["findings"]) == ("Thing03", "NarrowPolicy", "")
    assert shared["expires"] > datetime.now(timezone.utc) + timedelta(days=300)
    only = findings.certificate_ownership(audited.task_id, only_with_findings=True)
    assert list(only["certificate id"]) == [audited.shared]
    without_audit = findings.certificate_ownership(certificate_ids=[audited.own])
    assert list(without_audit["things"]) == ["Thing03"] and list(without_audit["findings"]) == [""]
    assert "Thing01, Thing02" in repr(findings.certificate_ownership_table(audited.task_id))
    with pytest.raises(WorkshopError, match="not a certificate id"):
        findings.certificate_ownership(certificate_ids=["abc"])
    with pytest.raises(WorkshopError, match="There is no certificate"):
        findings.certificate_ownership(certificate_ids=["a" * 64])


def test_things_sharing_the_certificate_of_a_finding(audited):
    iot = audited.iot
    # Thing01 also got a certificate of its own: shown as its other certificate
    extra = iot.create_keys_and_certificate(setAsActive=True)
    iot.attach_thing_principal(thingName="Thing01", principal=extra["certificateArn"])
    frame = findings.things_sharing_certificate(finding_id(audited, SHARED))
    assert list(frame.columns) == ["thing", "thing type", "attributes", "certificate id", "certificate status",
                                   "other certificates"]
    assert list(frame["thing"]) == ["Thing01", "Thing02"]
    assert set(frame["certificate id"]) == {audited.shared} and set(frame["certificate status"]) == {"ACTIVE"}
    assert list(frame["other certificates"]) == [extra["certificateId"], ""]
    with pytest.raises(WorkshopError, match="is about a ACCOUNT_SETTINGS .*not a device certificate") as e:
        findings.things_sharing_certificate(finding_id(audited, LOGGING))
    assert "DEVICE_CERTIFICATE_SHARED_CHECK" in e.value.fix


@pytest.mark.parametrize("identifier,label", [
    ({"issuerCertificateIdentifier": {"issuerCertificateSubject": "CN=Intermediate", "issuerId": "ab",
                                      "issuerCertificateSerialNumber": "0a:1b"}}, "CN=Intermediate (serial 0a:1b)"),
    ({"roleAliasArn": "arn:aws:iot:us-east-1:1:rolealias/a"}, "arn:aws:iot:us-east-1:1:rolealias/a"),
    ({"cognitoIdentityPoolId": "us-east-1:abc"}, "us-east-1:abc"),
    ({}, ""),
    ({"somethingNew": "x"}, '{"somethingNew": "x"}'),
])
def test_resource_labels(identifier, label):
    assert findings.resource_label(identifier) == label


def test_every_listing_helper_pages_through_one_item_pages(sandbox):
    """With the sandbox returning one item per page, every helper still returns everything."""
    env = build_module1(sandbox)
    iot, iam = env.iot, sandbox.client("iam")
    iam.attach_role_policy(RoleName=settings.DEFAULT_AUDIT_ROLE_NAME,
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSIoTLogging")
    iot.create_thing(thingName="Thing04")  # a third thing and a second policy on the shared certificate
    iot.attach_thing_principal(thingName="Thing04", principal=cert_arn(iot, env.shared))
    iot.attach_policy(policyName="NarrowPolicy", target=cert_arn(iot, env.shared))
    started = datetime.now(timezone.utc).timestamp() - 3 * 3600
    target.sandbox_control("POST", "/_sandbox/iot/connections", {"events": [
        {"clientId": f"client-{i}", "certificateId": env.shared, "connectedAt": started, "disconnectedAt": None,
         "sourceIp": "192.0.2.9"} for i in range(3)]})  # 5 clients on the shared certificate in all
    first = audits.run_on_demand_audit(**FAST)["taskId"]
    second = audits.run_on_demand_audit(**FAST)["taskId"]

    sandbox_config(maxPageSize=1)
    assert iot.list_certificates()["nextMarker"]  # really one per page now
    assert len(audits.audit_history()) == 2
    assert audits.latest_on_demand_audit() == second
    frame = findings.list_findings(first)
    assert len(frame) == 3
    shared_finding = frame.set_index("check").loc[SHARED, "finding id"]
    assert set(findings.related_resources(shared_finding)["resource id"]) == {"Thing01", "Thing02", "client-0",
                                                                               "client-1", "client-2"}
    ownership = findings.certificate_ownership(first).set_index("certificate id")
    assert len(ownership) == 2
    assert ownership.loc[env.shared, "things"] == "Thing01, Thing02, Thing04"
    assert ownership.loc[env.shared, "policies"] == "DevicePolicy, NarrowPolicy"
    assert list(findings.things_sharing_certificate(shared_finding)["thing"]) == ["Thing01", "Thing02", "Thing04"]
    assert settings.inspect_role(settings.describe_audit_settings().role_arn).managed_policies == [
        "AWSIoTDeviceDefenderAudit", "AWSIoTLogging"]
    assert settings.validate_audit_settings(check_names=env.checks, sns_alerts=False).ok


def test_scheduled_audit_listings_page_through_one_item_pages(sandbox):
    settings.configure_audit(check_names=[LOGGING], daily_audit=False)
    for name in ("A", "B", "C"):
        audits.create_scheduled_audit(name, frequency="DAILY", check_names=[LOGGING])
    sandbox_config(maxPageSize=1)
    assert list(audits.list_scheduled_audits()["name"]) == ["A", "B", "C"]
    with pytest.raises(WorkshopError, match="Scheduled audits still run"):  # finds the schedules on pages 1 to 3
        settings.disable_checks([LOGGING])


def test_suppress_finding_with_expiry_then_indefinitely(sandbox):
    from tests.builders import configure_audit, register_cert, shared_sessions, wait_audit
    from helpers import sandbox as sb

    configure_audit(sandbox.iot, sandbox.client("iam"), ["DEVICE_CERTIFICATE_SHARED_CHECK"])
    cert = register_cert(sandbox.iot)
    sb.record_connections(shared_sessions(cert))
    task = sandbox.iot.start_on_demand_audit_task(targetCheckNames=["DEVICE_CERTIFICATE_SHARED_CHECK"])["taskId"]
    wait_audit(sandbox.iot, task)
    (finding,) = sandbox.iot.list_audit_findings(taskId=task)["findings"]
    assert "for 30 days" in findings.suppress_finding(finding["findingId"], days=30)
    assert "Updated" in findings.suppress_finding(finding["findingId"], days=None)
    (row,) = sandbox.iot.list_audit_suppressions()["suppressions"]
    assert row["suppressIndefinitely"] is True
    with pytest.raises(WorkshopError, match="days=0"):
        findings.suppress_finding(finding["findingId"], days=0)


def test_a_finding_can_be_suppressed_again_after_its_suppression_was_deleted(sandbox):
    """Attendees re-run cells: suppress, delete the suppression, suppress again must work each time."""
    cert = register_cert(sandbox.iot, "shared")
    body = json.dumps({"events": shared_sessions(cert)}).encode()
    urllib.request.urlopen(urllib.request.Request(f"{sandbox.endpoint}/_sandbox/iot/connections", data=body)).close()
    configure_audit(sandbox.iot, sandbox.client("iam"), ["DEVICE_CERTIFICATE_SHARED_CHECK"])
    task = sandbox.iot.start_on_demand_audit_task(targetCheckNames=["DEVICE_CERTIFICATE_SHARED_CHECK"])["taskId"]
    wait_audit(sandbox.iot, task)
    finding = sandbox.iot.list_audit_findings(taskId=task)["findings"][0]
    ident = finding["nonCompliantResource"]["resourceIdentifier"]
    for _ in range(2):
        assert findings.suppress_finding(finding["findingId"], days=7).startswith("Suppressed")
        sandbox.iot.delete_audit_suppression(checkName=finding["checkName"], resourceIdentifier=ident)
