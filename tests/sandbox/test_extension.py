"""The mechanism that grafts Device Defender onto moto: tripwire, in-process and HTTP round trips, reset."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore import xform_name
from moto import mock_aws
from moto.iot.responses import IoTResponse

from helpers import sandbox as sb
from helpers.sandbox import cognito, grafting, iot_gaps, responses
from helpers.sandbox.exceptions import MotoImplementsOperation
from helpers.spec.checks import CHECK_NAMES
from tests.shapes import assert_valid, iot_model

ROLE = "arn:aws:iam::123456789012:role/IoTAuditRole"


ADDED = [*responses.operation_methods(), *iot_gaps.NEW_OPERATIONS, *iot_gaps.OVERRIDES]


def test_every_added_method_is_a_real_iot_operation():
    operations = {xform_name(op) for op in iot_model().operation_names}
    for name in ADDED:
        assert name in operations, f"{name} is not an operation of the botocore iot model"


def test_cognito_additions_are_real_operations():
    import botocore.session

    model = botocore.session.get_session().get_service_model("cognito-identity")
    assert set(cognito.OPERATIONS) <= {xform_name(op) for op in model.operation_names}


def test_tripwire_moto_does_not_implement_our_operations():
    """Fails the day moto ships one of these operations itself: then review ours against moto's."""
    shipped_iot, shipped_cognito = responses.MOTO_IOT_METHODS, cognito.MOTO_COGNITO_METHODS
    for name in [*responses.operation_methods(), *iot_gaps.NEW_OPERATIONS]:
        assert name not in shipped_iot, f"moto now implements {name}"
    for name in iot_gaps.OVERRIDES:
        assert name in shipped_iot, f"moto no longer has {name}: drop our override"
    for name in cognito.OPERATIONS:
        assert name not in shipped_cognito, f"moto now implements cognito-identity {name}"


def test_install_refuses_to_shadow_a_moto_method(monkeypatch):
    name = next(iter(responses.operation_methods()))
    monkeypatch.setattr(IoTResponse, name, lambda self: None, raising=False)
    with pytest.raises(MotoImplementsOperation, match=name):
        grafting.install_operations()


def test_install_is_idempotent():
    assert sb.install() == sb.install()


def test_never_configured_account_in_process(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # else boto3 would reach the session's server
    sb.install()
    with mock_aws():
        iot = boto3.client("iot", region_name="eu-west-1")
        resp = iot.describe_account_audit_configuration()
    assert_valid("DescribeAccountAuditConfiguration", resp)
    assert "roleArn" not in resp
    assert set(resp["auditCheckConfigurations"]) == set(CHECK_NAMES)
    assert not any(c["enabled"] for c in resp["auditCheckConfigurations"].values())


def test_round_trip_over_http(sandbox):
    sandbox.iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}})
    resp = sandbox.iot.describe_account_audit_configuration()
    assert_valid("DescribeAccountAuditConfiguration", resp)
    assert resp["roleArn"] == ROLE
    assert resp["auditCheckConfigurations"]["LOGGING_DISABLED_CHECK"] == {"enabled": True}


def test_state_is_per_region(sandbox):
    sandbox.iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}})
    other = boto3.client("iot", region_name="eu-west-1", endpoint_url=sandbox.endpoint,
                         aws_access_key_id="testing", aws_secret_access_key="testing")
    assert "roleArn" not in other.describe_account_audit_configuration()


def test_reset_clears_device_defender_state(sandbox):
    sandbox.iot.update_account_audit_configuration(
        roleArn=ROLE, auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}})
    sandbox.iot.create_thing(thingName="SensorDevice01")
    urllib.request.urlopen(urllib.request.Request(f"{sandbox.endpoint}/moto-api/reset", data=b"", method="POST"))
    resp = sandbox.iot.describe_account_audit_configuration()
    assert "roleArn" not in resp
    assert sandbox.iot.list_things()["things"] == []


def test_mock_aws_exit_clears_device_defender_state(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    sb.install()
    with mock_aws():
        iot = boto3.client("iot", region_name="us-east-1")
        iot.update_account_audit_configuration(
            roleArn=ROLE, auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}})
    with mock_aws():
        assert "roleArn" not in boto3.client("iot", region_name="us-east-1").describe_account_audit_configuration()


def test_unexpected_error_becomes_internal_failure_not_a_crash(sandbox, monkeypatch):
    from helpers.sandbox.models import DeviceDefenderBackend

    def boom(self):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(DeviceDefenderBackend, "describe_account_audit_configuration", boom)
    once = boto3.client("iot", endpoint_url=sandbox.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(once.exceptions.InternalFailureException, match="ZeroDivisionError"):
        once.describe_account_audit_configuration()
    monkeypatch.undo()
    assert sandbox.iot.list_things()["things"] == []  # the server is still up


def _control(endpoint: str, method: str, body: object | None = None, path: str = "/_sandbox/iot/connections"):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(endpoint + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_connection_control_round_trip(sandbox):
    cert = sandbox.iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    events = [{"clientId": "SensorDevice01", "certificateId": cert, "connectedAt": 1_700_000_000,
               "disconnectedAt": 1_700_000_010, "sourceIp": "10.0.0.1"},
              {"clientId": "SensorDevice02", "certificateId": cert, "connectedAt": 1_700_000_001,
               "disconnectedAt": None, "sourceIp": "10.0.0.2"}]
    status, body = _control(sandbox.endpoint, "POST", {"events": events})
    assert (status, body) == (200, {"recorded": 2, "total": 2})
    status, body = _control(sandbox.endpoint, "GET")
    assert status == 200 and body["events"] == [{**e, "connectedAt": float(e["connectedAt"]),
                                                 "disconnectedAt": None if e["disconnectedAt"] is None
                                                 else float(e["disconnectedAt"])} for e in events]


@pytest.mark.parametrize("body,needle", [
    (b"{not json", "not valid JSON"),
    ({"evts": []}, '"events"'),
    ({"events": [{"clientId": "c", "certificateId": "nope", "connectedAt": 1, "sourceIp": "1.2.3.4"}]}, "nope"),
    ({"events": "x"}, "must be a list"),
])
def test_connection_control_rejects_bad_input(sandbox, body, needle):
    status, payload = _control(sandbox.endpoint, "POST", body)
    assert status == 400 and needle in payload["error"]
    assert _control(sandbox.endpoint, "GET")[1]["events"] == []  # nothing was stored


def test_unknown_control_lists_the_known_ones(sandbox):
    status, payload = _control(sandbox.endpoint, "GET", path="/_sandbox/nope")
    assert status == 404 and "/_sandbox/iot/connections" in payload["error"]


def test_python_controls_match_http(sandbox):
    cert = sandbox.iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    sb.record_connections([{"clientId": "a", "certificateId": cert, "connectedAt": 5, "disconnectedAt": None,
                            "sourceIp": "::1"}])
    assert _control(sandbox.endpoint, "GET")[1]["events"] == sb.list_connections()
