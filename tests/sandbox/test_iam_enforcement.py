"""AWS's permission model at the sandbox's front door (POST /_sandbox/auth): a random account, an administrator for
the event's set-up, and an attendee whose only permission is iam/attendee-policy.json, authorised per action,
resource ARN and condition key."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import boto3
import botocore.exceptions
import pytest

from helpers.sandbox import SandboxServer

POLICY = (Path(__file__).resolve().parents[2] / "iam" / "attendee-policy.json").read_text()
REGION = "eu-west-1"


def control(server: SandboxServer, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{server.endpoint}{path}", data=data, method=method)
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    server = SandboxServer("127.0.0.1", 0, mqtt_port=None).start()
    try:
        setup = control(server, "POST", "/_sandbox/auth", {"enforce": True})
        admin = boto3.Session(aws_access_key_id=setup["admin"]["accessKeyId"],
                              aws_secret_access_key=setup["admin"]["secretAccessKey"], region_name=REGION)
        iam = admin.client("iam", endpoint_url=server.endpoint)
        iam.create_user(UserName="attendee")
        iam.put_user_policy(UserName="attendee", PolicyName="attendee", PolicyDocument=POLICY)
        key = iam.create_access_key(UserName="attendee")["AccessKey"]
        attendee = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                                 region_name=REGION)
        yield {"server": server, "account": setup["account"], "admin": admin, "attendee": attendee}
    finally:
        server.stop()


def client(stack: dict[str, Any], who: str, service: str) -> Any:
    return stack[who].client(service, endpoint_url=stack["server"].endpoint)


def denied(call: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call()
    return str(info.value)


def test_the_account_is_random_and_the_keys_resolve_to_it(stack: dict[str, Any]) -> None:
    assert stack["account"] != "123456789012" and len(stack["account"]) == 12
    ident = client(stack, "attendee", "sts").get_caller_identity()
    assert ident["Account"] == stack["account"] and ident["Arn"].endswith(":user/attendee")
    thing = client(stack, "attendee", "iot").create_thing(thingName="SensorDevice01")
    assert f":{REGION}:{stack['account']}:thing/SensorDevice01" in thing["thingArn"]


def test_an_unknown_key_and_a_wrong_secret_are_refused(stack: dict[str, Any]) -> None:
    stranger = boto3.client("iot", endpoint_url=stack["server"].endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")
    assert "security token included in the request is invalid" in denied(stranger.list_things)
    key = stack["attendee"].get_credentials()
    forged = boto3.client("iot", endpoint_url=stack["server"].endpoint, region_name=REGION,
                          aws_access_key_id=key.access_key, aws_secret_access_key="wrong" + key.secret_key[5:])
    assert "SignatureDoesNotMatch" in denied(forged.list_things)


def test_resource_scoped_statements_allow_only_their_arns(stack: dict[str, Any]) -> None:
    iot = client(stack, "attendee", "iot")
    iot.create_thing(thingName="SensorDevice02")
    message = denied(lambda: iot.create_thing(thingName="SomeoneElsesThing"))
    assert "AccessDeniedException" in message
    assert f"iot:CreateThing on resource: arn:aws:iot:{REGION}:{stack['account']}:thing/SomeoneElsesThing" in message
    record = control(stack["server"], "GET", "/_sandbox/auth")["denied"][-1]
    assert record["action"] == "iot:CreateThing" and record["resource"].endswith("thing/SomeoneElsesThing")


def test_conditions_on_passrole_and_tags_are_evaluated(stack: dict[str, Any]) -> None:
    iam = client(stack, "attendee", "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                "Principal": {"Service": "iot.amazonaws.com"}}]})
    role = iam.create_role(RoleName="IoTDeviceDefenderAuditRole-x", AssumeRolePolicyDocument=trust,
                           Tags=[{"Key": "workshop", "Value": "iot-audit"}])["Role"]
    iot = client(stack, "attendee", "iot")
    assert "iot:TagResource" in denied(lambda: iot.create_thing_group(
        thingGroupName="Quarantine", tags=[{"Key": "owner", "Value": "me"}]))
    iot.create_thing_group(thingGroupName="Quarantine", tags=[{"Key": "workshop", "Value": "iot-audit"}])
    iam.attach_role_policy(RoleName=role["RoleName"],
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSIoTDeviceDefenderAudit")
    assert "iam:AttachRolePolicy" in denied(lambda: iam.attach_role_policy(
        RoleName=role["RoleName"], PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"))
    iot.update_account_audit_configuration(roleArn=role["Arn"],
                                           auditCheckConfigurations={"LOGGING_DISABLED_CHECK": {"enabled": True}})
    admin_role = client(stack, "admin", "iam").create_role(RoleName="SomeAdminRole", AssumeRolePolicyDocument=trust)
    message = denied(lambda: iot.update_account_audit_configuration(roleArn=admin_role["Role"]["Arn"]))
    assert f"iam:PassRole on resource: {admin_role['Role']['Arn']}" in message


def test_the_administrator_may_do_what_the_attendee_may_not(stack: dict[str, Any]) -> None:
    client(stack, "admin", "iot").create_thing(thingName="EventPreparedThing")
    assert "iot:DeleteThing" in denied(lambda: client(stack, "attendee", "iot").delete_thing(
        thingName="EventPreparedThing"))


def test_turning_enforcement_off_lets_any_key_in_again() -> None:
    server = SandboxServer("127.0.0.1", 0, mqtt_port=None).start()
    try:
        control(server, "POST", "/_sandbox/auth", {"enforce": True, "account": "210987654321"})
        iot = boto3.client("iot", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        denied(iot.list_things)
        assert control(server, "POST", "/_sandbox/auth", {"enforce": False})["enforce"] is False
        assert iot.list_things()["things"] == []
    finally:
        server.stop()
