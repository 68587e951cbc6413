"""moto IoT list operations the sandbox overrides (to page them): filters and not-found errors as AWS answers them.
Regressions found by running moto's own IoT tests against the sandbox (tests/moto_conformance)."""
from __future__ import annotations

import pytest

POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}]}'


@pytest.fixture
def typed_things(sandbox):
    """Things of two types and none, some with the attribute colour=red; return the IoT client."""
    iot = sandbox.iot
    for thing_type in ("sensor", "gateway"):
        iot.create_thing_type(thingTypeName=thing_type)
    iot.create_thing(thingName="s1", thingTypeName="sensor", attributePayload={"attributes": {"colour": "red"}})
    iot.create_thing(thingName="s2", thingTypeName="sensor")
    iot.create_thing(thingName="g1", thingTypeName="gateway", attributePayload={"attributes": {"colour": "red"}})
    iot.create_thing(thingName="plain")
    return iot


def _names(page: dict) -> list[str]:
    """Return the thing names of a ListThings page, in order."""
    return [t["thingName"] for t in page["things"]]


def test_list_things_filters_by_thing_type(typed_things):
    page = typed_things.list_things(thingTypeName="sensor")
    assert _names(page) == ["s1", "s2"]
    assert {t["thingTypeName"] for t in page["things"]} == {"sensor"}


def test_list_things_filters_by_thing_type_and_attribute(typed_things):
    assert _names(typed_things.list_things(thingTypeName="sensor", attributeName="colour",
                                           attributeValue="red")) == ["s1"]


def test_list_things_by_thing_type_pages(typed_things, sandbox):
    first = typed_things.list_things(thingTypeName="sensor", maxResults=1)
    second = typed_things.list_things(thingTypeName="sensor", maxResults=1, nextToken=first["nextToken"])
    assert _names(first) + _names(second) == ["s1", "s2"]
    assert "nextToken" not in second


def test_list_things_attribute_filter_skips_things_without_the_attribute(typed_things):
    assert _names(typed_things.list_things(attributeName="colour", attributeValue="red")) == ["g1", "s1"]


def test_list_thing_principals_of_unknown_thing_uses_aws_wording(sandbox):
    with pytest.raises(sandbox.iot.exceptions.ResourceNotFoundException) as err:
        sandbox.iot.list_thing_principals(thingName="xxx")
    # the AWS CLI's answer, quoted in moto's issue #2910 and in moto
    assert err.value.response["Error"]["Message"] == (
        "Failed to list principals for thing xxx because the thing does not exist in your account")


def test_list_thing_principals_still_lists_and_pages(sandbox):
    iot = sandbox.iot
    iot.create_thing(thingName="t1")
    arns = sorted(iot.create_keys_and_certificate(setAsActive=True)["certificateArn"] for _ in range(2))
    for arn in arns:
        iot.attach_thing_principal(thingName="t1", principal=arn)
    first = iot.list_thing_principals(thingName="t1", maxResults=1)
    second = iot.list_thing_principals(thingName="t1", maxResults=1, nextToken=first["nextToken"])
    assert first["principals"] + second["principals"] == arns


def test_list_targets_for_unknown_policy_uses_aws_wording(sandbox):
    with pytest.raises(sandbox.iot.exceptions.ResourceNotFoundException) as err:
        sandbox.iot.list_targets_for_policy(policyName="NoSuchPolicy")
    # the AWS CLI's answer, quoted in moto's pull request #5309 and in moto
    assert err.value.response["Error"]["Message"] == "Policy not found"


def test_list_targets_for_policy_still_lists(sandbox):
    iot = sandbox.iot
    iot.create_policy(policyName="P", policyDocument=POLICY)
    arn = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
    iot.attach_policy(policyName="P", target=arn)
    assert iot.list_targets_for_policy(policyName="P")["targets"] == [arn]
