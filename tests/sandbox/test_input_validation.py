"""The front door's parts on their own: bounded JSON, reading parameters per protocol, and validation against the
botocore shape (Java-syntax patterns, text coercion, AWS's wording)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from helpers.sandbox import bounded_json, input_validation
from helpers.sandbox.request_params import ParamsError, RawRequest, Text, read_params, service_model


def problems(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    return input_validation.problems(service_model(service).operation_model(operation).input_shape, params)


@pytest.mark.parametrize(("body", "needle"), [
    ("[" * 1000, "nested too deeply"), ('{"a": NaN}', "NaN"), ('{"a": -Infinity}', "-Infinity"),
    ("1" * 41, "41 digits"), ("1e400", "out of range"), (b"\xc3\x28", "not UTF-8"), ("{", "not valid JSON"),
])
def test_bounded_json_refuses(body: Any, needle: str) -> None:
    with pytest.raises(bounded_json.JsonBodyError, match=needle):
        bounded_json.loads(body)


def test_bounded_json_accepts_what_json_accepts_within_limits() -> None:
    value = {"a": [1, 2.5, "x", None, True, {"b": "1" * 39}], "n": -(10**39)}
    assert bounded_json.loads(json.dumps(value)) == value
    assert bounded_json.loads("[" * 64 + "]" * 64) is not None


@pytest.mark.parametrize(("value", "ok"), [
    ("MyTag", True), ("caf\u00e9 \u00e9t\u00e9:/=+-@", True), ("tab\there", False)])
def test_java_unicode_classes_in_patterns(value: str, ok: bool) -> None:
    """TagKey's pattern uses \\p{L}\\p{Z}\\p{N} (Java syntax), which the re module cannot read."""
    found = problems("iot", "TagResource", {"resourceArn": "arn:aws:iot:us-east-1:123456789012:thing/T",
                                            "tags": [{"Key": value, "Value": "v"}]})
    assert (found == []) == ok, found


@pytest.mark.parametrize(("text", "ok"), [("25", True), ("0", False), ("251", False), ("2.5", False), ("\u0662", False),
                                          ("abc", False), ("9" * 30, False)])
def test_integers_from_the_query_string(text: str, ok: bool) -> None:
    assert (problems("iot", "ListThings", {"maxResults": Text(text)}) == []) == ok


@pytest.mark.parametrize(("value", "ok"), [(0, True), (1.7e9, True), ("2024-01-31T12:00:00Z", True), (1e20, False),
                                           (-1, False), ([], False), (True, False), ("yesterday", False)])
def test_timestamps(value: Any, ok: bool) -> None:
    assert (problems("iot", "ListAuditFindings", {"startTime": value}) == []) == ok


def test_aws_wording_names_each_member() -> None:
    found = problems("iot", "StartAuditMitigationActionsTask", {"taskId": "bad id", "target": {"findingIds": []}})
    message = input_validation.message(found)
    assert message.startswith("4 validation errors detected: ")
    for where in ("taskId", "target.findingIds", "auditCheckToActionsMapping", "clientRequestToken"):
        assert f"at '{where}'" in message


def test_query_protocol_parameters_stay_text() -> None:
    raw = RawRequest("POST", "/", {}, {}, b"Action=CreateRole&RoleName=r&MaxSessionDuration=abc&"
                     b"Tags.member.1.Key=k&Tags.member.1.Value=v", True)
    params = read_params("iam", "query", "CreateRole", raw)
    assert params == {"RoleName": "r", "MaxSessionDuration": "abc", "Tags": [{"Key": "k", "Value": "v"}]}
    assert any("MaxSessionDuration" in p for p in problems("iam", "CreateRole", params))


def test_rest_json_labels_query_and_body() -> None:
    raw = RawRequest("POST", "/audit/mitigationactions/tasks/My%2DTask", {}, {}, b'{"clientRequestToken": "t"}', False)
    params = read_params("iot", "rest-json", "StartAuditMitigationActionsTask", raw)
    assert params == {"taskId": "My-Task", "clientRequestToken": "t"}
    with pytest.raises(ParamsError, match="JSON object"):
        read_params("iot", "rest-json", "StartAuditMitigationActionsTask",
                    RawRequest("POST", "/audit/mitigationactions/tasks/T", {}, {}, b"[1]", False))
