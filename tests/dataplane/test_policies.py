"""IoT policies decide Connect, Publish, Subscribe and Receive, with policy variables, read fresh at every action."""
from __future__ import annotations

import json

from .clients import ACCEPTED, NOT_AUTHORIZED, SUBACK_FAILURE, allow, deny, policy, wait_until

ARN = "arn:aws:iot:us-east-1:123456789012"
THING = "${iot:Connection.Thing.ThingName}"


def test_publish_subscribe_and_receive_follow_the_policy(plane):
    reader = plane.registry.create(policy_document=policy(
        allow("iot:Connect"), allow("iot:Subscribe", f"{ARN}:topicfilter/fleet/*"),
        allow("iot:Receive", f"{ARN}:topic/fleet/open"), deny("iot:Receive", f"{ARN}:topic/fleet/secret")))
    writer = plane.registry.create(policy_document=policy(
        allow("iot:Connect"), allow("iot:Publish", [f"{ARN}:topic/fleet/open", f"{ARN}:topic/fleet/secret"])))
    sub, pub = plane.client(reader, "reader"), plane.client(writer, "writer")
    assert sub.connect() == ACCEPTED and pub.connect() == ACCEPTED
    assert sub.subscribe("fleet/#") == [1]
    assert sub.subscribe("other/#") == [SUBACK_FAILURE]
    pub.publish("fleet/secret", b"hidden")
    pub.publish("fleet/open", b"hello")
    assert sub.next_message() == ("fleet/open", b"hello")  # the secret one was never delivered before it
    assert not sub.disconnected.is_set()


def test_an_unauthorised_publish_disconnects_the_client(plane):
    device = plane.registry.create(policy_document=policy(allow("iot:Connect"),
                                                          allow("iot:Publish", f"{ARN}:topic/allowed")))
    client = plane.client(device, "publisher")
    assert client.connect() == ACCEPTED
    client.publish("allowed", b"ok")
    client.publish("forbidden", b"no")
    wait_until(client.disconnected.is_set, what="the disconnect after an unauthorised publish")
    assert plane.sessions()["disconnects"][-1]["reason"] == "AUTH_ERROR"


def test_client_id_and_thing_policy_variables(plane):
    """The workshop's policy shape: connect only as an attached thing, publish only under your own name."""
    document = policy(allow("iot:Connect", f"{ARN}:client/{THING}", Bool={"iot:Connection.Thing.IsAttached": "true"}),
                      allow("iot:Publish", f"{ARN}:topic/fleet/${{iot:ClientId}}/telemetry"),
                      allow(["iot:Subscribe"], f"{ARN}:topicfilter/fleet/{THING}/*"),
                      allow(["iot:Receive"], f"{ARN}:topic/fleet/{THING}/*"))
    device = plane.registry.create(policy_document=document)
    plane.iot.create_thing(thingName="sensor-a")
    plane.iot.create_thing(thingName="sensor-b")
    plane.iot.attach_thing_principal(thingName="sensor-a", principal=device.certificate_arn)
    assert plane.client(device, "sensor-b").connect() == NOT_AUTHORIZED  # a thing, but not attached
    assert plane.client(device, "nobody").connect() == NOT_AUTHORIZED  # no such thing
    client = plane.client(device, "sensor-a")
    assert client.connect() == ACCEPTED
    assert client.subscribe("fleet/sensor-a/#") == [1]
    assert client.subscribe("fleet/sensor-b/#") == [SUBACK_FAILURE]
    client.publish("fleet/sensor-a/telemetry", b"21.5")
    assert client.next_message() == ("fleet/sensor-a/telemetry", b"21.5")
    client.publish("fleet/sensor-b/telemetry", b"spoofed")
    wait_until(client.disconnected.is_set, what="the disconnect after publishing as another device")


def test_a_new_default_policy_version_applies_to_the_next_action(plane):
    device = plane.registry.create()
    name = plane.registry.attach(device, policy(allow("iot:Connect"), allow("iot:Publish", f"{ARN}:topic/a/*"),
                                                allow(["iot:Subscribe", "iot:Receive"])))
    client = plane.client(device, "versioned")
    assert client.connect() == ACCEPTED
    assert client.subscribe("a/1") == [1] and client.subscribe("b/1") == [1]
    client.publish("a/1", b"one")
    assert client.next_message() == ("a/1", b"one")
    plane.iot.create_policy_version(policyName=name, setAsDefault=True, policyDocument=policy(
        allow("iot:Connect"), allow("iot:Publish", f"{ARN}:topic/b/*"), allow(["iot:Subscribe", "iot:Receive"])))
    client.publish("b/1", b"now allowed")
    assert client.next_message() == ("b/1", b"now allowed")
    client.publish("a/1", b"no longer allowed")
    wait_until(client.disconnected.is_set, what="the disconnect under the new default version")


def test_a_detached_policy_applies_to_the_next_action(plane):
    device = plane.registry.create()
    name = plane.registry.attach(device, policy(allow(["iot:Connect", "iot:Subscribe"])))
    client = plane.client(device, "detached")
    assert client.connect() == ACCEPTED
    assert client.subscribe("x/1") == [1]
    plane.iot.detach_policy(policyName=name, target=device.certificate_arn)
    assert client.subscribe("x/2") == [SUBACK_FAILURE]


def test_policies_of_the_things_group_apply(plane):
    device = plane.registry.create(policy_document=policy(allow("iot:Connect")))
    plane.iot.create_thing(thingName="grouped")
    plane.iot.attach_thing_principal(thingName="grouped", principal=device.certificate_arn)
    group = plane.iot.create_thing_group(thingGroupName="sensors")
    plane.iot.add_thing_to_thing_group(thingGroupName="sensors", thingName="grouped")
    plane.iot.create_policy(policyName="group-subscribe", policyDocument=policy(allow("iot:Subscribe")))
    client = plane.client(device, "grouped")
    assert client.connect() == ACCEPTED
    assert client.subscribe("g/1") == [SUBACK_FAILURE]
    plane.iot.attach_policy(policyName="group-subscribe", target=group["thingGroupArn"])
    assert client.subscribe("g/1") == [1]


def test_certificate_policy_variables(plane):
    device = plane.registry.register_without_ca(policy_document=policy(
        allow("iot:Connect"), allow("iot:Publish", f"{ARN}:topic/by-cn/${{iot:Certificate.Subject.CommonName}}"),
        allow(["iot:Subscribe", "iot:Receive"])))
    common_name = "device-0"  # Registry.register_without_ca names the first certificate so
    client = plane.client(device, "cn-client")
    assert client.connect() == ACCEPTED
    assert client.subscribe("by-cn/#") == [1]
    client.publish(f"by-cn/{common_name}", json.dumps({"t": 1}).encode())
    assert client.next_message() == (f"by-cn/{common_name}", b'{"t": 1}')
