"""The AWS IoT Device SDK v2 for Python connects to the sandbox's data endpoint as to AWS IoT Core: the endpoint from
DescribeEndpoint, the sandbox root CA in place of Amazon Root CA 1, mutual TLS with the device certificate."""
from __future__ import annotations

import threading

import pytest

from .clients import WAIT, allow, policy

mqtt = pytest.importorskip("awscrt.mqtt", reason="awsiotsdk is a test dependency (pip install -e '.[test]')")
from awsiot import mqtt_connection_builder  # noqa: E402


def test_the_device_sdk_connects_publishes_and_receives(plane):
    device = plane.registry.create(policy_document=policy(allow(["iot:Connect", "iot:Publish", "iot:Subscribe",
                                                                "iot:Receive"])))
    address = plane.iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    host, _, port = address.partition(":")
    connection = mqtt_connection_builder.mtls_from_path(
        endpoint=host, port=int(port or 8883), cert_filepath=str(device.cert_file),
        pri_key_filepath=str(device.key_file), ca_filepath=str(plane.ca_file), client_id="sdk-device",
        clean_session=False, keep_alive_secs=30)
    connection.connect().result(WAIT)
    try:
        received = threading.Event()
        payloads: list[bytes] = []

        def on_message(topic: str, payload: bytes, **_: object) -> None:
            payloads.append(payload)
            received.set()

        subscribed, _ = connection.subscribe("sdk/readings", mqtt.QoS.AT_LEAST_ONCE, on_message)
        assert subscribed.result(WAIT)["qos"] == mqtt.QoS.AT_LEAST_ONCE
        published, _ = connection.publish("sdk/readings", b'{"temperature": 21.5}', mqtt.QoS.AT_LEAST_ONCE)
        published.result(WAIT)
        assert received.wait(WAIT) and payloads == [b'{"temperature": 21.5}']
        assert [s["clientId"] for s in plane.sessions()["live"]] == ["sdk-device"]
    finally:
        connection.disconnect().result(WAIT)


def test_the_device_sdk_is_refused_with_an_inactive_certificate(plane):
    device = plane.registry.create(policy_document=policy(allow("iot:Connect")), active=False)
    host, _, port = plane.iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"].partition(":")
    connection = mqtt_connection_builder.mtls_from_path(
        endpoint=host, port=int(port or 8883), cert_filepath=str(device.cert_file),
        pri_key_filepath=str(device.key_file), ca_filepath=str(plane.ca_file), client_id="sdk-refused")
    with pytest.raises(Exception):  # awscrt 0.36 reports a CONNACK 0x05 followed by a close as a protocol error
        connection.connect().result(WAIT)
    assert "INACTIVE" in plane.sessions()["refusals"][-1]["reason"]
