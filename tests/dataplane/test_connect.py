"""Devices connect to the sandbox's data plane as to AWS IoT Core: registered ACTIVE certificates only, deactivation
cuts them off, a duplicate client id knocks the older connection off, a reset disconnects everyone."""
from __future__ import annotations

import json

import paho.mqtt.client as mqtt

from .clients import ACCEPTED, NOT_AUTHORIZED, allow, control, handshake_refused, policy, wait_until

CONNECT_ALL = policy(allow("iot:Connect"))


def test_the_endpoint_contract(plane):
    endpoint = control(plane.endpoint, "GET", "/_sandbox/iot/data-endpoint")
    assert endpoint["host"] == "127.0.0.1" and endpoint["port"] == plane.port
    assert endpoint["rootCaPem"].startswith("-----BEGIN CERTIFICATE-----")
    address = plane.iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
    assert address == ("127.0.0.1" if plane.port == 8883 else f"127.0.0.1:{plane.port}")
    assert "amazonaws.com" in plane.iot.describe_endpoint(endpointType="iot:CredentialProvider")["endpointAddress"]
    broker = control(plane.endpoint, "GET", "/_sandbox/health")["broker"]
    assert broker["running"] is True and broker["port"] == plane.port


def test_an_active_certificate_connects_and_its_session_is_recorded(plane):
    device = plane.registry.create(policy_document=CONNECT_ALL)
    client = plane.client(device, "sensor-1")
    assert client.connect() == ACCEPTED
    live = wait_until(lambda: plane.sessions()["live"], what="the live session")
    assert [(s["clientId"], s["certificateId"], s["sourceIp"]) for s in live] == [("sensor-1", device.certificate_id,
                                                                                  "127.0.0.1")]
    events = control(plane.endpoint, "GET", "/_sandbox/iot/connections")["events"]
    assert [(e["clientId"], e["certificateId"], e["disconnectedAt"]) for e in events] == [
        ("sensor-1", device.certificate_id, None)]
    client.close()
    ended = wait_until(lambda: [e for e in control(plane.endpoint, "GET", "/_sandbox/iot/connections")["events"]
                                if e["disconnectedAt"] is not None], what="the session's end")
    assert ended[0]["disconnectedAt"] >= ended[0]["connectedAt"]
    assert plane.sessions()["disconnects"][-1]["reason"] == "CLIENT_INITIATED_DISCONNECT"


def test_a_certificate_registered_without_a_ca_connects(plane):
    device = plane.registry.register_without_ca(policy_document=CONNECT_ALL)
    assert plane.client(device, "byo-cert").connect() == ACCEPTED


def test_an_unknown_certificate_is_refused(plane):
    assert handshake_refused(plane.client(plane.registry.unregistered(), "stranger"))
    assert plane.sessions()["live"] == []


def test_inactive_and_revoked_certificates_are_refused_with_connack_5(plane):
    inactive = plane.registry.create(policy_document=CONNECT_ALL, active=False)
    assert plane.client(inactive, "dormant").connect() == NOT_AUTHORIZED
    revoked = plane.registry.create(policy_document=CONNECT_ALL)
    plane.iot.update_certificate(certificateId=revoked.certificate_id, newStatus="REVOKED")
    assert plane.client(revoked, "revoked").connect() == NOT_AUTHORIZED
    reasons = [r["reason"] for r in plane.sessions()["refusals"]]
    assert any("INACTIVE" in r for r in reasons) and any("REVOKED" in r for r in reasons)
    assert control(plane.endpoint, "GET", "/_sandbox/iot/connections")["events"] == []


def test_no_policy_allowing_connect_is_refused(plane):
    device = plane.registry.create(policy_document=policy(allow("iot:Publish")))
    assert plane.client(device, "no-connect").connect() == NOT_AUTHORIZED
    assert "iot:Connect" in plane.sessions()["refusals"][-1]["reason"]


def test_deactivating_the_certificate_disconnects_its_devices_and_they_cannot_return(plane):
    device = plane.registry.create(policy_document=CONNECT_ALL)
    first, second = plane.client(device, "shared-1"), plane.client(device, "shared-2")
    assert first.connect() == ACCEPTED and second.connect() == ACCEPTED
    plane.iot.update_certificate(certificateId=device.certificate_id, newStatus="INACTIVE")
    wait_until(lambda: first.disconnected.is_set() and second.disconnected.is_set(), what="both devices cut off")
    assert {d["reason"] for d in plane.sessions()["disconnects"]} == {"AUTH_ERROR"}
    assert plane.client(device, "shared-1").connect() == NOT_AUTHORIZED
    plane.iot.update_certificate(certificateId=device.certificate_id, newStatus="ACTIVE")
    assert plane.client(device, "shared-1").connect() == ACCEPTED


def test_a_second_connection_with_a_live_client_id_knocks_the_first_off(plane):
    device = plane.registry.create(policy_document=CONNECT_ALL)
    older, newer = plane.client(device, "twin"), plane.client(device, "twin")
    assert older.connect() == ACCEPTED
    assert newer.connect() == ACCEPTED
    wait_until(older.disconnected.is_set, what="the older connection knocked off")
    assert not newer.disconnected.is_set()
    assert [s["clientId"] for s in plane.sessions()["live"]] == ["twin"]
    assert plane.sessions()["disconnects"][-1]["reason"] == "DUPLICATE_CLIENTID"
    events = sorted(control(plane.endpoint, "GET", "/_sandbox/iot/connections")["events"],
                    key=lambda e: e["connectedAt"])
    assert len(events) == 2 and events[0]["disconnectedAt"] == events[1]["connectedAt"]  # one ends as the next starts


def test_a_reset_disconnects_everyone(plane):
    device = plane.registry.create(policy_document=CONNECT_ALL)
    client = plane.client(device, "doomed")
    assert client.connect() == ACCEPTED
    control(plane.endpoint, "POST", "/moto-api/reset", {})
    wait_until(client.disconnected.is_set, what="the device disconnected by the reset")
    assert plane.sessions() == {"live": [], "refusals": [], "disconnects": []}


def test_lifecycle_events_reach_a_subscriber_allowed_to_read_them(plane):
    watcher_device = plane.registry.create(policy_document=policy(
        allow("iot:Connect"), allow("iot:Subscribe", "arn:aws:iot:*:*:topicfilter/$aws/events/presence/*"),
        allow("iot:Receive", "arn:aws:iot:*:*:topic/$aws/events/presence/*")))
    watcher = plane.client(watcher_device, "watcher")
    assert watcher.connect() == ACCEPTED
    assert watcher.subscribe("$aws/events/presence/+/sensor-9") == [1]
    device = plane.registry.create(policy_document=CONNECT_ALL)
    sensor = plane.client(device, "sensor-9")
    assert sensor.connect() == ACCEPTED
    topic, payload = watcher.next_message()
    assert topic == "$aws/events/presence/connected/sensor-9"
    assert json.loads(payload)["principalIdentifier"] == device.certificate_id
    sensor.close()
    topic, payload = watcher.next_message()
    assert topic == "$aws/events/presence/disconnected/sensor-9"
    assert json.loads(payload)["disconnectReason"] == "CLIENT_INITIATED_DISCONNECT"



def test_mqtt_5_is_refused_as_an_unsupported_protocol_version(plane):
    """Known gap: amqtt speaks MQTT 3.1.1 only; an MQTT 5 client gets CONNACK 0x01 and no session."""
    device = plane.registry.create(policy_document=CONNECT_ALL)
    assert plane.client(device, "mqtt5", protocol=mqtt.MQTTv5).connect() not in (ACCEPTED, -2)
    assert plane.sessions()["live"] == []
