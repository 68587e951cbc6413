"""Regression tests for what a shape-aware fuzzer found (issue 18): each request once answered HTTP 500, an HTML
page, malformed XML, or was refused yet changed state. Now each is refused with an AWS-shaped 4xx naming the
problem, and leaves the state exactly as it was."""
from __future__ import annotations

import base64
import json
import time
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from tests.builders import PERMISSIVE, make_cert_pem, make_role
from tests.raw_http import Reply, control, send, signed
from tests.test_bad_input import fingerprint

LOGGING_CHECK = "LOGGING_DISABLED_CHECK"
POLICY_CHECK = "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"


@pytest.fixture
def sb(sandbox: SimpleNamespace) -> Iterator[SimpleNamespace]:
    """A reset sandbox with a role, an enabled audit configuration and a certificate."""
    iot = sandbox.iot
    assert control(sandbox.endpoint, "POST", "/_sandbox/config", {"synchronousAudits": True}).status == 200
    role = make_role(sandbox.client("iam"), "AuditRole")
    iot.update_account_audit_configuration(roleArn=role, auditCheckConfigurations={
        c: {"enabled": True} for c in (LOGGING_CHECK, POLICY_CHECK)})
    sandbox.certificate_id = iot.register_certificate_without_ca(certificatePem=make_cert_pem("dev")[0],
                                                                 status="ACTIVE")["certificateId"]
    sandbox.role = role
    yield sandbox


def refused(reply: Reply, status: int = 400, code: str | None = "InvalidRequestException",
            needle: str = "") -> None:
    """Assert an AWS-shaped refusal: the status, JSON or well-formed XML (never HTML), the code, the needle."""
    assert reply.status == status, reply.body[:500]
    assert not reply.is_html, reply.body[:500]
    assert reply.json is not None or reply.xml is not None, reply.body[:500]
    if code is not None:
        assert reply.aws_code == code, reply.body[:500]
    assert needle in reply.body.decode("utf-8", "replace"), reply.body[:500]


def unchanged(sb: SimpleNamespace, send_request: Any) -> Reply:
    """Send the request ``send_request()`` and assert it changed no state; return its reply."""
    before = fingerprint(sb)
    reply = send_request()
    assert fingerprint(sb) == before, "a refused request changed the state"
    return reply


# -- validate, then mutate -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("tags", [[{"Key": "aws:owner", "Value": "x"}],
                                  [{"Key": f"k{i}", "Value": "v"} for i in range(51)]], ids=["aws-key", "51-tags"])
@pytest.mark.parametrize("create", ["policy", "thing-group", "role-alias", "thing-type"])
def test_creates_with_refused_tags_create_nothing(sb: SimpleNamespace, create: str, tags: list[dict]) -> None:
    """Tags are validated before moto creates the resource, so a refusal leaves nothing behind."""
    calls = {
        "policy": lambda: sb.iot.create_policy(policyName="Tagged", policyDocument=PERMISSIVE, tags=tags),
        "thing-group": lambda: sb.iot.create_thing_group(thingGroupName="Tagged", tags=tags),
        "role-alias": lambda: sb.iot.create_role_alias(roleAlias="Tagged", roleArn=sb.role, tags=tags),
        "thing-type": lambda: sb.iot.create_thing_type(thingTypeName="Tagged", tags=tags),
    }

    def attempt() -> None:
        with pytest.raises(ClientError) as raised:
            calls[create]()
        assert raised.value.response["Error"]["Code"] == "InvalidRequestException"

    unchanged(sb, attempt)


def test_clock_refuses_an_advance_past_representable_dates(sb: SimpleNamespace) -> None:
    """advanceSeconds 3e11 once answered 500 yet kept the offset, so the region answered 500 until a reset."""
    reply = unchanged(sb, lambda: control(sb.endpoint, "POST", "/_sandbox/clock", {"advanceSeconds": 3e11}))
    assert reply.status == 400 and "100 years" in reply.json["error"], reply.body
    assert control(sb.endpoint, "GET", "/_sandbox/clock").json["offsetSeconds"] == 0
    now = time.time()
    sb.iot.list_audit_tasks(startTime=now - 60, endTime=now + 60)
    assert control(sb.endpoint, "POST", "/_sandbox/clock", {"advanceSeconds": 86400}).status == 200


def test_bulk_register_refuses_a_pem_with_garbage_inside(sb: SimpleNamespace) -> None:
    """A PEM whose BEGIN/END lines frame garbage was stored as a certificate."""
    garbled = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    reply = unchanged(sb, lambda: control(sb.endpoint, "POST", "/_sandbox/iot/bulk-register", {
        "devices": [{"thingName": "Garbled", "certificatePem": garbled}]}))
    assert reply.status == 400 and "does not parse" in reply.json["error"], reply.body


@pytest.mark.parametrize("events", [
    "junk", [{"eventType": 5}], [{"eventType": "THING", "logLevel": "LOUD"}], [{"eventType": "THING", "x": 1}]])
def test_v2_logging_refuses_junk_event_configurations(sb: SimpleNamespace, events: Any) -> None:
    """SetV2LoggingOptions stored whatever eventConfigurations held; the API and the backend both refuse it."""
    from helpers.sandbox.exceptions import InvalidRequestException
    from helpers.sandbox.models import devicedefender_backends

    body = {"roleArn": sb.role, "eventConfigurations": events}
    refused(unchanged(sb, lambda: signed(sb.endpoint, "iot", "POST", "/v2LoggingOptions", body)),
            needle="eventConfigurations")
    backend = devicedefender_backends[sb.account]["us-east-1"]
    with pytest.raises(InvalidRequestException):
        backend.set_v2_logging_options(sb.role, None, None, events)
    assert backend.logging_v2 is None


@pytest.mark.parametrize("value", ["\u00b2", "\u0663\u0660", "1\u00b2"], ids=["superscript", "arabic-indic", "mixed"])
def test_thresholds_take_ascii_digits_only(sb: SimpleNamespace, value: str) -> None:
    """"²" passed isdigit() and failed int(); Arabic-Indic digits were stored as they were."""
    body = {"auditCheckConfigurations": {"DEVICE_CERTIFICATE_EXPIRING_CHECK": {
        "enabled": True, "configuration": {"CERT_EXPIRATION_THRESHOLD_IN_DAYS": value}}}}
    refused(unchanged(sb, lambda: signed(sb.endpoint, "iot", "PATCH", "/audit/configuration", body)),
            needle="CERT_EXPIRATION_THRESHOLD_IN_DAYS")


# -- 500s that are 400s now ------------------------------------------------------------------------------------------
def test_list_things_by_thing_type(sb: SimpleNamespace) -> None:
    """ListThings(thingTypeName=...) always failed: moto's FakeThing has no thing_type_name."""
    sb.iot.create_thing_type(thingTypeName="Sensor")
    sb.iot.create_thing(thingName="Typed", thingTypeName="Sensor")
    sb.iot.create_thing(thingName="Untyped")
    assert [t["thingName"] for t in sb.iot.list_things(thingTypeName="Sensor")["things"]] == ["Typed"]


@pytest.mark.parametrize("region", ["aws-global", "mars-1", "x<&y"])
def test_regions_without_a_backend_are_refused(sb: SimpleNamespace, region: str) -> None:
    """aws-global reached a missing backend (KeyError); an unknown region's error is well-formed XML too."""
    refused(signed(sb.endpoint, "iot", "GET", "/audit/configuration", region=region), needle="Unknown region")
    reply = signed(sb.endpoint, "iam", "POST", "/", "Action=ListRoles&Version=2010-05-08", region=region)
    refused(reply, needle="Unknown region")
    assert reply.xml is not None and region in reply.xml.find(".//Message").text


@pytest.mark.parametrize(("path", "body", "member"), [
    ("/audit/tasks", {"targetCheckNames": [["x"]]}, "targetCheckNames.1"),
    ("/audit/findings", {"checkName": {}}, "checkName"),
    ("/audit/findings", {"nextToken": 5}, "nextToken"),
    ("/audit/findings", {"startTime": []}, "startTime"),
    ("/audit/findings", {"startTime": 1e20}, "startTime"),
    ("/audit/mitigationactions/tasks/T1", {"target": {"findingIds": [[1]]}, "auditCheckToActionsMapping": {},
                                           "clientRequestToken": "t"}, "target.findingIds.1"),
], ids=["list-in-list", "object-for-string", "number-for-token", "list-for-timestamp", "year-3e12",
        "list-for-finding-id"])
def test_wrong_types_name_the_member(sb: SimpleNamespace, path: str, body: Any, member: str) -> None:
    """A list or object where a string belongs gave TypeError: unhashable type; now the member is named."""
    refused(unchanged(sb, lambda: signed(sb.endpoint, "iot", "POST", path, body)), needle=f"'{member}'")


@pytest.mark.parametrize("raw", [
    '{"maxResults": 1e999}', '{"maxResults": NaN}', '{"maxResults": Infinity}', '{"maxResults": ' + "9" * 5000 + "}",
    '{"a":' * 100_000 + "1" + "}" * 100_000, "[" * 100_000], ids=["1e999", "nan", "infinity", "5000-digits",
                                                                 "nested-object-100k", "nested-list-100k"])
def test_bounded_json_bodies(sb: SimpleNamespace, raw: str) -> None:
    """Deep nesting (RecursionError), huge integers (ValueError) and non-finite numbers are refused as 400s."""
    refused(unchanged(sb, lambda: signed(sb.endpoint, "iot", "POST", "/audit/findings", raw)))


def test_a_next_token_decoding_to_a_huge_number(sb: SimpleNamespace) -> None:
    """A nextToken whose offset is 1e999 (inf) raised OverflowError."""
    token = base64.urlsafe_b64encode(b'{"o": 1e999, "f": ""}').decode()
    refused(signed(sb.endpoint, "iot", "GET", f"/mitigationactions/actions?nextToken={token}"), needle="nextToken")


@pytest.mark.parametrize(("path", "body"), [
    ("/_sandbox/iot/role-alias-usage", {"roleAliasArn": "arn:aws:iot:us-east-1:123456789012:rolealias/A",
                                        "services": ["s3"], "usedAt": 1e20}),
    ("/_sandbox/cognito/pool-activity", {"identityPoolId": "us-east-1:abc", "connectedAt": float("nan")}),
    ("/_sandbox/cognito/pool-activity", {"identityPoolId": "us-east-1:abc", "connectedAt": float("inf")}),
    ("/_sandbox/iot/connections", "EVENT"),
    ("/_sandbox/iot/crls", {"crl": "r\u00e9vocation \u2603"}),
    ("/_sandbox/config", '{"maxPageSize": ' + "9" * 5000 + "}"),
    ("/_sandbox/config", "[" * 100_000),
], ids=["1e20", "nan", "infinity", "nan-connection", "non-ascii-crl", "5000-digits", "nested-100k"])
def test_controls_refuse_non_finite_and_unbounded_input(sb: SimpleNamespace, path: str, body: Any) -> None:
    """NaN, Infinity and 1e20 in control timestamps failed; NaN in connections was stored and returned as invalid
    JSON; non-ASCII text as a CRL failed."""
    if body == "EVENT":
        body = json.dumps({"events": [{"clientId": "c", "certificateId": sb.certificate_id,
                                       "connectedAt": float("nan"), "disconnectedAt": None, "sourceIp": "192.0.2.1"}]})
    reply = unchanged(sb, lambda: control(sb.endpoint, "POST", path, body))
    assert reply.status == 400 and isinstance(reply.json, dict) and reply.json.get("error"), reply.body[:300]
    connections = control(sb.endpoint, "GET", "/_sandbox/iot/connections")
    assert connections.status == 200 and connections.json is not None


def test_far_future_connection_times_are_refused(sb: SimpleNamespace) -> None:
    """A connection at epoch 1e20 is beyond any date: refused, not stored."""
    event = {"clientId": "c", "certificateId": sb.certificate_id, "connectedAt": 1e20, "disconnectedAt": None,
             "sourceIp": "192.0.2.1"}
    reply = unchanged(sb, lambda: control(sb.endpoint, "POST", "/_sandbox/iot/connections", {"events": [event]}))
    assert reply.status == 400 and "connectedAt" in reply.json["error"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/audit/tasks/T1"), ("PATCH", "/audit/scheduledaudits/S1"),
                                              ("POST", "/audit/findings")])
def test_a_body_that_is_not_utf8(sb: SimpleNamespace, method: str, path: str) -> None:
    """A body that is not UTF-8 on GET/PATCH operations gave an HTML 500."""
    refused(unchanged(sb, lambda: signed(sb.endpoint, "iot", method, path, b"\xff\xfe\x00garbage")),
            needle="UTF-8")


@pytest.mark.parametrize(("method", "path"), [("GET", "/things"), ("POST", "/audit/tasks"), ("GET", "/favicon.ico"),
                                              ("GET", "/")])
def test_unsigned_requests_are_told_to_sign(sb: SimpleNamespace, method: str, path: str) -> None:
    """Unsigned requests were routed to moto's S3 (XML NoSuchBucket, or an HTML 500)."""
    reply = unchanged(sb, lambda: send(sb.endpoint, method, path, b"{}" if method == "POST" else b""))
    refused(reply, 403, "MissingAuthenticationTokenException", "not signed")


def test_moto_api_stays_reachable_unsigned(sb: SimpleNamespace) -> None:
    """The reset endpoint (moto's own, unsigned) still answers."""
    assert send(sb.endpoint, "POST", "/moto-api/reset").status == 200


@pytest.mark.parametrize("service", ["iam", "iot"])
def test_content_length_that_is_no_number(sb: SimpleNamespace, service: str) -> None:
    """Content-Length: abc on a query-protocol request failed with a 500."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=sb.endpoint + "/", data=b"Action=ListRoles&Version=2010-05-08",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials("testing", "testing"), service, "us-east-1").add_auth(request)
    headers = {**dict(request.headers.items()), "Content-Length": "abc"}
    refused(send(sb.endpoint, "POST", "/", b"", headers), code=None, needle="Content-Length")


@pytest.mark.parametrize(("method", "path", "status", "code"), [
    ("GET", "/audit/tasks/%2F", 400, "InvalidRequestException"),
    ("DELETE", "/things/", 404, "UnknownOperationException"),
    ("GET", "/policies/%2F/version/1", 400, "InvalidRequestException"),
    ("GET", "/no/such/route", 404, "UnknownOperationException"),
])
def test_empty_and_slash_path_labels(sb: SimpleNamespace, method: str, path: str, status: int, code: str) -> None:
    """Empty or %2F path labels gave HTML 404s and 500s."""
    refused(unchanged(sb, lambda: signed(sb.endpoint, "iot", method, path)), status, code)


@pytest.mark.parametrize("query", ["account=\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662",
                                   "account=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96%EF%BC%97%EF%BC%98"
                                   "%EF%BC%99%EF%BC%90%EF%BC%91%EF%BC%92", "region=us-east-%D9%A1"],
                         ids=["arabic-indic-account", "fullwidth-account", "arabic-indic-region"])
def test_control_scope_takes_ascii_only(sb: SimpleNamespace, query: str) -> None:
    """?account= took Unicode digits."""
    if "\u0661" in query:
        query = "account=" + "".join(f"%{b:02X}" for b in query.split("=", 1)[1].encode())
    reply = unchanged(sb, lambda: control(sb.endpoint, "POST", "/_sandbox/config", {"synchronousAudits": False},
                                          query=query))
    assert reply.status == 400 and ("ASCII" in reply.json["error"] or "Unknown region" in reply.json["error"])


# -- every served service validates against its model ---------------------------------------------------------------
@pytest.mark.parametrize(("service", "path", "body", "code", "member"), [
    ("iam", "/", "Action=CreateRole&Version=2010-05-08&RoleName=bad%20name!&AssumeRolePolicyDocument=%7B%7D",
     "ValidationError", "roleName"),
    ("iam", "/", "Action=GetRole&Version=2010-05-08", "ValidationError", "roleName"),
    ("sns", "/", "Action=CreateTopic&Version=2010-03-31", "ValidationError", "name"),
    ("sts", "/", "Action=AssumeRole&Version=2011-06-15&RoleArn=arn&RoleSessionName=s&DurationSeconds=5",
     "ValidationError", "durationSeconds"),
])
def test_query_services_answer_validation_error_in_xml(sb: SimpleNamespace, service: str, path: str, body: str,
                                                       code: str, member: str) -> None:
    """Query-protocol services (IAM, STS, SNS) refuse invalid input with the protocol's ValidationError in XML."""
    reply = unchanged(sb, lambda: signed(sb.endpoint, service, "POST", path, body))
    refused(reply, 400, code)
    assert member.lower() in reply.xml.find(".//Message").text.lower()


def test_json_services_answer_their_declared_error(sb: SimpleNamespace) -> None:
    """cognito-identity declares InvalidParameterException; an identity pool name with a newline is refused."""
    reply = unchanged(sb, lambda: signed(sb.endpoint, "cognito-identity", "POST", "/", {
        "IdentityPoolName": "bad\nname", "AllowUnauthenticatedIdentities": "yes"},
        headers={"X-Amz-Target": "AWSCognitoIdentityService.CreateIdentityPool"}))
    refused(reply, 400, "InvalidParameterException", "AllowUnauthenticatedIdentities")


def test_thing_group_with_a_parent_that_does_not_exist(sb: SimpleNamespace) -> None:
    """moto failed with UnboundLocalError (an HTML 500) for a parent group that does not exist (found by a soak)."""
    reply = unchanged(sb, lambda: signed(sb.endpoint, "iot", "POST", "/thing-groups/Child",
                                         {"parentGroupName": "NoSuchParent"}))
    refused(reply, needle="NoSuchParent")
    sb.iot.create_thing_group(thingGroupName="Parent")
    assert sb.iot.create_thing_group(thingGroupName="Child", parentGroupName="Parent")["thingGroupName"] == "Child"


def test_an_exception_inside_moto_is_an_aws_shaped_error(sb: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever fails inside moto, the client gets AWS's JSON error shape, never werkzeug's HTML page."""
    from moto.iot.responses import IoTResponse

    def broken(self: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(IoTResponse, "list_thing_types", broken)
    reply = signed(sb.endpoint, "iot", "GET", "/thing-types")
    refused(reply, 500, "InternalFailureException", "ListThingTypes")


def test_a_region_where_the_service_has_no_backend(sb: SimpleNamespace) -> None:
    """cognito-identity has no backend in cn-northwest-1 (botocore lists no such endpoint): refused, not a KeyError."""
    reply = signed(sb.endpoint, "cognito-identity", "POST", "/", {"MaxResults": 5}, region="cn-northwest-1",
                   headers={"X-Amz-Target": "AWSCognitoIdentityService.ListIdentityPools"})
    refused(reply, needle="cn-northwest-1")
    ok = signed(sb.endpoint, "cognito-identity", "POST", "/", {"MaxResults": 5}, region="eu-west-1",
                headers={"X-Amz-Target": "AWSCognitoIdentityService.ListIdentityPools"})
    assert ok.status == 200, ok.body


def test_operations_aws_answers_unsigned_stay_open(sb: SimpleNamespace) -> None:
    """Cognito's GetId is unsigned in AWS (authtype none): answered; ListIdentityPools unsigned is told to sign."""
    cognito = sb.client("cognito-identity")
    pool = cognito.create_identity_pool(IdentityPoolName="open", AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSCognitoIdentityService.GetId"}
    reply = send(sb.endpoint, "POST", "/", json.dumps({"IdentityPoolId": pool}).encode(), headers)
    assert reply.status == 200 and reply.json["IdentityId"], reply.body
    refused(send(sb.endpoint, "POST", "/", json.dumps({"IdentityPoolId": "bad pool"}).encode(), headers),
            code="InvalidParameterException", needle="IdentityPoolId")
    listing = {**headers, "X-Amz-Target": "AWSCognitoIdentityService.ListIdentityPools"}
    refused(send(sb.endpoint, "POST", "/", b'{"MaxResults": 5}', listing), 403, "MissingAuthenticationTokenException")
