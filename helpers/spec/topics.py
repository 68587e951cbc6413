"""MQTT topic names and topic filters (``+`` one level, ``#`` the rest), matched level by level in linear time.

Source: the MQTT 3.1.1 specification §4.7 and AWS IoT Core's "MQTT topics" page
(https://docs.aws.amazon.com/iot/latest/developerguide/topics.html): ``$``-topics are not matched by a filter that
starts with a wildcard.
"""
from __future__ import annotations


def valid_filter(topic_filter: str) -> bool:
    """Return True when ``topic_filter`` is a well-formed MQTT topic filter."""
    if not topic_filter:
        return False
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def valid_topic(topic: str) -> bool:
    """Return True when ``topic`` is a well-formed topic name for PUBLISH (no wildcards)."""
    return bool(topic) and "+" not in topic and "#" not in topic


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Return True when the MQTT ``topic_filter`` matches the topic name ``topic``."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    want, have = topic_filter.split("/"), topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)
