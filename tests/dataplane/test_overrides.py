"""Regression tests for the stock amqtt 0.12.1 behaviours the broker overrides (helpers/sandbox/dataplane/broker.py).
Each test fails against the stock behaviour it names."""
from __future__ import annotations

from .clients import ACCEPTED, NOT_AUTHORIZED, allow, policy, wait_until

EVERYTHING = policy(allow(["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"]))


def test_1_a_resumed_session_is_judged_by_the_new_connections_certificate(plane):
    """Stock: with clean_session=False the auth hook saw the previous connection's TLS object."""
    good = plane.registry.create(policy_document=EVERYTHING)
    first = plane.client(good, "persistent", clean_session=False)
    assert first.connect() == ACCEPTED
    assert first.subscribe("keep/#") == [1]
    first.close()
    wait_until(lambda: not plane.sessions()["live"], what="the first connection gone")
    inactive = plane.registry.create(policy_document=EVERYTHING, active=False)
    assert plane.client(inactive, "persistent", clean_session=False).connect() == NOT_AUTHORIZED
    again = plane.client(good, "persistent", clean_session=False)
    assert again.connect() == ACCEPTED  # the persistent session (and its subscription) survived the refusal
    publisher = plane.client(good, "publisher")
    assert publisher.connect() == ACCEPTED
    publisher.publish("keep/1", b"still subscribed")
    assert again.next_message() == ("keep/1", b"still subscribed")


def test_2_a_refused_connect_leaves_the_live_client_and_its_subscriptions_alone(plane):
    """Stock: the session with that client id was deleted before authenticating, subscriptions included."""
    owner = plane.registry.create(policy_document=EVERYTHING)
    victim = plane.client(owner, "victim")
    assert victim.connect() == ACCEPTED
    assert victim.subscribe("inbox/#") == [1]
    attacker = plane.registry.create(policy_document=EVERYTHING, active=False)
    assert plane.client(attacker, "victim").connect() == NOT_AUTHORIZED
    assert not victim.disconnected.is_set()
    assert [s["clientId"] for s in plane.sessions()["live"]] == ["victim"]
    sender = plane.client(owner, "sender")
    assert sender.connect() == ACCEPTED
    sender.publish("inbox/1", b"for the victim")
    assert victim.next_message() == ("inbox/1", b"for the victim")


def test_3_a_duplicate_client_id_knocks_the_older_connection_off(plane):
    """Stock: both connections stayed open."""
    device = plane.registry.create(policy_document=EVERYTHING)
    older, newer = plane.client(device, "dup"), plane.client(device, "dup")
    assert older.connect() == ACCEPTED and newer.connect() == ACCEPTED
    wait_until(older.disconnected.is_set, what="the older connection closed")
    assert newer.subscribe("dup/#") == [1]  # the newer one is served


def test_4_publishing_to_a_reserved_topic_is_authorised_not_a_silent_hang(plane):
    """Stock: a PUBLISH to any $ topic stopped the client's message loop and left it connected but dead."""
    device = plane.registry.create(policy_document=EVERYTHING)
    client = plane.client(device, "shadowy")
    assert client.connect() == ACCEPTED
    assert client.subscribe("$aws/things/shadowy/shadow/update") == [1]
    client.publish("$aws/things/shadowy/shadow/update", b'{"state": {}}')
    assert client.next_message() == ("$aws/things/shadowy/shadow/update", b'{"state": {}}')
    client.publish("$SYS/broker", b"not a topic for clients")
    wait_until(client.disconnected.is_set, what="the connection closed, not left hanging")


def test_5_retained_messages_respect_subscription_and_receive_permission(plane):
    """Stock: a reconnecting client got the retained messages of every filter anyone had subscribed to."""
    writer = plane.registry.create(policy_document=EVERYTHING)
    publisher = plane.client(writer, "retainer")
    assert publisher.connect() == ACCEPTED
    assert publisher.subscribe("private/#") == [1]
    publisher.publish("private/config", b"secret", retain=True)
    assert publisher.next_message() == ("private/config", b"secret")
    reader = plane.registry.create(policy_document=policy(
        allow(["iot:Connect", "iot:Subscribe"]), allow("iot:Receive", "arn:aws:iot:*:*:topic/public/*")))
    snoop = plane.client(reader, "snoop", clean_session=False)
    assert snoop.connect() == ACCEPTED
    assert snoop.subscribe("private/#") == [1]  # subscribing is allowed, receiving is not
    assert snoop.subscribe("public/#") == [1]
    publisher.publish("public/news", b"hello", retain=True)
    assert snoop.next_message() == ("public/news", b"hello")  # the retained secret never came first


def test_3b_a_persistent_session_taken_over_keeps_its_subscriptions_for_the_newer_connection(plane):
    """The AWS IoT Device SDK's default (clean_session=False) with a duplicate client id: the older connection is
    knocked off and the newer one resumes the session, subscriptions included."""
    device = plane.registry.create(policy_document=EVERYTHING)
    older = plane.client(device, "resumer", clean_session=False)
    assert older.connect() == ACCEPTED
    assert older.subscribe("resume/#") == [1]
    newer = plane.client(device, "resumer", clean_session=False)
    assert newer.connect() == ACCEPTED
    wait_until(older.disconnected.is_set, what="the older connection knocked off")
    sender = plane.client(device, "sender")
    assert sender.connect() == ACCEPTED
    sender.publish("resume/1", b"to the session")
    assert newer.next_message() == ("resume/1", b"to the session")
    assert not newer.disconnected.is_set()
