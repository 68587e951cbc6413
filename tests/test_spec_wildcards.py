"""helpers.spec.wildcards and helpers.spec.topics: the non-backtracking glob agrees with the standard library's
fnmatch on every pattern of ``*``, ``?`` and text, and MQTT filters match level by level."""
from __future__ import annotations

import fnmatch
import re

from hypothesis import given, settings, strategies as st

from helpers.spec.topics import filter_matches, valid_filter
from helpers.spec.wildcards import glob

PATTERNS = st.text(alphabet="ab*?.\n", max_size=12)
TEXTS = st.text(alphabet="ab.\n", max_size=16)


def reference(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """Return what fnmatch's translation (a regular expression, without [ ] classes) says."""
    escaped = pattern.replace("[", "[[]")
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(fnmatch.translate(escaped), text, flags) is not None


@settings(max_examples=400, derandomize=True, deadline=None)
@given(PATTERNS, TEXTS)
def test_glob_agrees_with_fnmatch(pattern: str, text: str) -> None:
    assert glob(pattern).matches(text) is reference(pattern, text)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(PATTERNS, TEXTS)
def test_glob_ignoring_case_agrees_with_fnmatch(pattern: str, text: str) -> None:
    assert glob(pattern.upper(), True).matches(text) is reference(pattern.upper(), text, True)


def test_glob_examples() -> None:
    assert glob("iot:Get*", True).matches("IOT:getThingShadow")
    assert not glob("iot:Get*").matches("iot:getThing")
    assert glob("a*b*c").matches("axxbyyc") and not glob("a*b*c").matches("axxcyyb")
    assert glob("*").matches("") and glob("?").matches("\n") and not glob("?").matches("")
    assert not glob("a*a").matches("a")


def test_mqtt_filters() -> None:
    assert filter_matches("sensors/+/temp", "sensors/d1/temp")
    assert not filter_matches("sensors/+/temp", "sensors/d1/x/temp")
    assert filter_matches("sensors/#", "sensors") and filter_matches("sensors/#", "sensors/a/b")
    assert filter_matches("#", "a/b") and not filter_matches("#", "$aws/things/x")
    assert filter_matches("$aws/events/presence/connected/+", "$aws/events/presence/connected/d1")
    assert valid_filter("a/+/#") and not valid_filter("a/#/b") and not valid_filter("a+/b") and not valid_filter("")
