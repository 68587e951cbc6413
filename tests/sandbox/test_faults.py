"""Fault injection and the operation log: requests identified from the botocore model, throttling and 5xx shaped like
AWS's for each protocol, refused requests that change nothing, and the helpers' whole flow under 20% throttling."""
from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable, Iterator

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from helpers import audits, findings, fleet, mitigation, settings
from helpers.sandbox.faults import FaultInjector, FaultSettingError
from helpers.sandbox.operations import ApiRequest, rest_operation


def control(endpoint: str, method: str, path: str, body: dict | None = None) -> dict:
    """Return the JSON answer of a sandbox control."""
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{endpoint}{path}", data=data, method=method)) as resp:
        return json.loads(resp.read())


@pytest.fixture
def faults(sandbox) -> Iterator[Callable[..., dict]]:
    """Set faults with ``faults(throttleRate=..., ...)``; cleared again after the test."""
    yield lambda **settings: control(sandbox.endpoint, "POST", "/_sandbox/faults", settings)
    control(sandbox.endpoint, "DELETE", "/_sandbox/faults")


def raw_client(sandbox, service: str, attempts: int = 1):
    """Return a client for ``service`` with ``attempts`` total attempts (1: no retries, to see the fault itself)."""
    return boto3.client(service, endpoint_url=sandbox.endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}))


# -- request identification -------------------------------------------------------------------------------------------
def _sample_path(uri: str) -> tuple[str, dict[str, list[str]]]:
    path, _, query = uri.partition("?")
    path = re.sub(r"\{[^}]+\}", "x1", path)
    return path, {k.split("=")[0]: ["v"] for k in query.split("&") if k}


def test_every_iot_operation_is_identified_from_its_route():
    """Each IoT operation's own method and URI (labels filled in) is identified as that operation, unless another
    operation has the very same route."""
    model = botocore.session.get_session().get_service_model("iot")
    routes: dict[tuple[str, str], list[str]] = {}
    for name in model.operation_names:
        http = model.operation_model(name).http
        routes.setdefault((http["method"], http["requestUri"]), []).append(name)
    wrong = []
    for (method, uri), names in routes.items():
        path, query = _sample_path(uri)
        found = rest_operation("iot", method, path, query)
        if found not in names:
            wrong.append((method, uri, names, found))
    assert not wrong, wrong[:10]
    assert len(routes) > 250


def test_the_operation_log_names_what_clients_called(sandbox):
    """The log counts each answered call by service and operation, for REST, JSON and query protocols alike."""
    control(sandbox.endpoint, "DELETE", "/_sandbox/operations")
    iot, iam, sns, cognito = (raw_client(sandbox, s) for s in ("iot", "iam", "sns", "cognito-identity"))
    iot.create_thing(thingName="logged")
    iot.describe_thing(thingName="logged")
    iot.list_things()
    iot.list_things()
    cert = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
    iot.list_attached_policies(target=cert)  # the ARN's "/" travels percent-encoded in the path
    iam.list_roles()
    sns.create_topic(Name="logged")
    cognito.list_identity_pools(MaxResults=5)
    ops = {(o["service"], o["operation"]): o["count"] for o in control(sandbox.endpoint, "GET", "/_sandbox/operations")
           ["operations"]}
    assert ops == {("iot", "CreateThing"): 1, ("iot", "DescribeThing"): 1, ("iot", "ListThings"): 2,
                   ("iot", "CreateKeysAndCertificate"): 1, ("iot", "ListAttachedPolicies"): 1,
                   ("iam", "ListRoles"): 1, ("sns", "CreateTopic"): 1, ("cognito-identity", "ListIdentityPools"): 1}


# -- injected faults ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("service,call,code", [
    ("iot", lambda c: c.list_things(), "ThrottlingException"),
    ("iam", lambda c: c.list_roles(), "Throttling"),
    ("sns", lambda c: c.list_topics(), "Throttling"),
    ("cognito-identity", lambda c: c.list_identity_pools(MaxResults=5), "ThrottlingException"),
], ids=["iot-rest-json", "iam-query", "sns-query", "cognito-json"])
def test_throttling_is_shaped_like_aws(sandbox, faults, service, call, code):
    """A throttled call fails with the protocol's throttling code, which botocore's standard mode retries."""
    faults(throttleRate=1.0)
    with pytest.raises(ClientError) as caught:
        call(raw_client(sandbox, service))
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "sandbox fault injection" in caught.value.response["Error"]["Message"]


def test_a_transient_error_is_a_503(sandbox, faults):
    """errorRate answers 503 ServiceUnavailableException, as IoT's model documents it."""
    faults(errorRate=1.0)
    with pytest.raises(ClientError) as caught:
        raw_client(sandbox, "iot").list_things()
    assert caught.value.response["Error"]["Code"] == "ServiceUnavailableException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503


def test_a_refused_request_changes_nothing(sandbox, faults):
    """A throttled CreateThing creates no thing: the fault is decided before the sandbox acts."""
    faults(throttleRate=1.0)
    with pytest.raises(ClientError):
        raw_client(sandbox, "iot").create_thing(thingName="never")
    control(sandbox.endpoint, "DELETE", "/_sandbox/faults")
    assert sandbox.iot.list_things()["things"] == []


def test_faults_can_target_operations_and_count_what_they_did(sandbox, faults):
    """An operations filter confines faults to those operations; the control reports what it injected."""
    faults(throttleRate=1.0, operations=["ListThings"], latencyMs=1)
    iot = raw_client(sandbox, "iot")
    iot.create_thing(thingName="untouched")
    with pytest.raises(ClientError):
        iot.list_things()
    state = control(sandbox.endpoint, "GET", "/_sandbox/faults")
    assert state["injected"] == {"requests": 1, "throttled": 1, "errors": 0, "delayed": 1}
    assert state["operations"] == ["ListThings"]


def test_retries_ride_through_throttling_and_errors(sandbox, faults):
    """With 20% throttling and 10% 5xx, standard retries get every call through; the sequence is seeded."""
    faults(throttleRate=0.2, errorRate=0.1, seed=7)
    iot = raw_client(sandbox, "iot", attempts=10)
    for i in range(20):
        iot.create_thing(thingName=f"t{i}")
    assert len(sandbox.iot.list_things(maxResults=100)["things"]) == 20
    injected = control(sandbox.endpoint, "GET", "/_sandbox/faults")["injected"]
    assert injected["throttled"] > 0 and injected["errors"] > 0


@pytest.mark.parametrize("body,problem", [
    ({"throttleRate": 1.5}, "throttleRate"),
    ({"throttleRate": "lots"}, "throttleRate"),
    ({"errorRate": -0.1}, "errorRate"),
    ({"throttleRate": 0.7, "errorRate": 0.6}, "must not exceed 1"),
    ({"latencyMs": 60_000}, "latencyMs"),
    ({"seed": "abc"}, "seed"),
    ({"operations": "ListThings"}, "operations"),
    ({"burst": True}, "Unknown fault setting"),
])
def test_bad_fault_settings_are_named(body, problem):
    """Each bad setting is refused with a message naming it, and leaves the injector unchanged."""
    injector = FaultInjector()
    injector.configure({"throttleRate": 0.1})
    with pytest.raises(FaultSettingError, match=problem):
        injector.configure(body)
    assert injector.throttle_rate == 0.1


def test_same_seed_same_faults():
    """Two injectors with the same seed make the same decisions (reproducible rehearsals)."""
    request = ApiRequest("iot", "us-east-1", "ListThings", "rest-json")
    runs = []
    for _ in range(2):
        injector = FaultInjector()
        injector.configure({"throttleRate": 0.2, "errorRate": 0.1, "seed": 3})
        runs.append([getattr(injector.decide(request), "code", None) for _ in range(200)])
    assert runs[0] == runs[1] and {None, "ThrottlingException", "ServiceUnavailableException"} == set(runs[0])


# -- the helpers under 20% throttling -----------------------------------------------------------------------------------
def test_the_helpers_flow_completes_under_20_percent_throttling(sandbox, faults, tmp_path, monkeypatch):
    """Module 1 environment, audit, findings, mitigation and verification all complete with one call in five
    throttled (botocore's retries plus the helpers' own waiting)."""
    monkeypatch.setenv("WORKSHOP_STATE_DIR", str(tmp_path / ".workshop"))
    faults(throttleRate=0.2, seed=11)
    env = fleet.build_workshop_environment()
    assert settings.validate_audit_settings(sns_alerts=False).ok
    audit = audits.run_on_demand_audit(settings.enabled_checks(), poll_interval=0.2, progress=None)
    assert audit["taskStatus"] == "COMPLETED"
    table = findings.list_findings(audit["taskId"])
    shared = table[table["check"] == "DEVICE_CERTIFICATE_SHARED_CHECK"]
    assert len(shared) == 1
    mitigation.create_mitigation_action("Update-device-certificate", "UPDATE_DEVICE_CERTIFICATE")
    task = mitigation.start_mitigation_task({"DEVICE_CERTIFICATE_SHARED_CHECK": ["Update-device-certificate"]},
                                            finding_ids=list(shared["finding id"]))
    assert mitigation.wait_for_mitigation_task(task, poll_interval=0.2, progress=None)["taskStatus"] == "COMPLETED"
    assert mitigation.certificate_status(env.certificate_id) == "INACTIVE"
    injected = control(sandbox.endpoint, "GET", "/_sandbox/faults")["injected"]
    assert injected["throttled"] >= 0.1 * injected["requests"] > 0
