"""helpers.checks (the catalogue of the 17 audit checks) and helpers.tables (severity styling that reads as text)."""
from __future__ import annotations

import pandas as pd
import pytest

from helpers import checks, tables
from helpers.errors import WorkshopError
from helpers.spec.checks import CHECKS


def test_catalogue_has_every_check_most_severe_first():
    frame = checks.list_checks()
    assert list(frame.columns) == ["check", "title", "severity", "resource type", "what it detects",
                                   "allowed actions", "original 14", "docs"]
    assert len(frame) == 17 and set(frame["check"]) == set(CHECKS)
    assert list(frame["severity"].cat.codes) == sorted(frame["severity"].cat.codes)  # CRITICAL first … LOW last
    assert [str(s) for s in frame["severity"].cat.categories] == ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    assert (frame["original 14"] == "✓").sum() == 14
    assert len(checks.list_checks(original_only=True)) == 14
    assert frame["title"].is_unique and frame["docs"].is_unique


def test_catalogue_builds_on_the_sandbox_data():
    for name, spec in CHECKS.items():
        info = checks.describe_check(name)
        assert (info.severity, info.resource_type, info.identifier) == (spec.severity, spec.resource_type,
                                                                        spec.identifier)
        assert info.allowed_actions == spec.allowed_actions and info.original == spec.original
        assert info.allowed_actions[0] == "PUBLISH_FINDING_TO_SNS"
        assert info.docs_url.startswith("https://docs.aws.amazon.com/iot-device-defender/latest/devguide/")
        assert info.description.endswith(".") and info.description.count(". ") == 0  # one sentence
    assert checks.ORIGINAL_14 == tuple(sorted(n for n, s in CHECKS.items() if s.original))


def test_lookups():
    name = "DEVICE_CERTIFICATE_SHARED_CHECK"
    assert checks.title(name) == "Device certificate shared"
    assert checks.severity(name) == "CRITICAL"
    assert checks.allowed_actions(name) == ("PUBLISH_FINDING_TO_SNS", "UPDATE_DEVICE_CERTIFICATE",
                                            "ADD_THINGS_TO_THING_GROUP")
    assert checks.allowed_actions("LOGGING_DISABLED_CHECK") == ("PUBLISH_FINDING_TO_SNS", "ENABLE_IOT_LOGGING")
    assert checks.docs_url(name).endswith("/audit-chk-device-cert-shared.html")
    text = str(checks.describe_check(name))
    assert text.startswith("Device certificate shared (DEVICE_CERTIFICATE_SHARED_CHECK) — CRITICAL")
    groups = checks.checks_by_severity()
    assert list(groups) == ["CRITICAL", "HIGH", "MEDIUM", "LOW"] and groups["HIGH"] == ["CONFLICTING_CLIENT_IDS_CHECK"]
    assert sum(len(v) for v in groups.values()) == 17
    assert checks.checks_by_severity(["LOGGING_DISABLED_CHECK"]) == {
        "CRITICAL": [], "HIGH": [], "MEDIUM": [], "LOW": ["LOGGING_DISABLED_CHECK"]}


@pytest.mark.parametrize("given,expected", [
    ("LOGGING_DISABLED_CHECK", "LOGGING_DISABLED_CHECK"),
    ("logging_disabled_check", "LOGGING_DISABLED_CHECK"),
    ("LOGGING_DISABLED", "LOGGING_DISABLED_CHECK"),
    ("Logging disabled", "LOGGING_DISABLED_CHECK"),
    ("  device certificate shared ", "DEVICE_CERTIFICATE_SHARED_CHECK"),
    ("IOT_POLICY_UNRESTRICTED_CHECK", "IOT_POLICY_OVERLY_PERMISSIVE_CHECK"),  # the old documentation's name
    ("IOT_POLICY_POTENTIAL_MIS_CONFIGURATION_CHECK", "IOT_POLICY_POTENTIAL_MISCONFIGURATION_CHECK"),  # CDK's
])
def test_names_titles_and_old_spellings_resolve(given, expected):
    assert checks.resolve_check_name(given) == expected


@pytest.mark.parametrize("given,suggestion", [
    ("LOGING_DISABLED_CHECK", "LOGGING_DISABLED_CHECK"),
    ("DEVICE_CERT_SHARED", "DEVICE_CERTIFICATE_SHARED_CHECK"),
    ("certificate shared", "DEVICE_CERTIFICATE_SHARED_CHECK"),
    ("client id conflicts", "CONFLICTING_CLIENT_IDS_CHECK"),
])
def test_unknown_names_suggest_the_closest(given, suggestion):
    with pytest.raises(WorkshopError) as e:
        checks.resolve_check_name(given)
    assert repr(given) in e.value.problem and e.value.fix.startswith(f"Did you mean {suggestion}")


def test_lists_of_names():
    assert checks.resolve_check_names("Logging disabled") == ["LOGGING_DISABLED_CHECK"]
    assert checks.resolve_check_names(["LOGGING_DISABLED_CHECK", "logging disabled"]) == ["LOGGING_DISABLED_CHECK"]
    with pytest.raises(WorkshopError) as e:
        checks.resolve_check_names(["LOGGING_DISABLED_CHECK", "NOPE", "SHARED_CERTIFICATE"])
    assert "'NOPE'" in e.value.problem and "'SHARED_CERTIFICATE' (did you mean DEVICE_CERTIFICATE_SHARED_CHECK" \
        in e.value.problem
    with pytest.raises(WorkshopError, match="No audit checks were given"):
        checks.resolve_check_names([])
    with pytest.raises(WorkshopError, match="is not an audit check name"):
        checks.resolve_check_name(None)  # type: ignore[arg-type]
    with pytest.raises(WorkshopError, match="See checks.list_checks"):
        checks.resolve_check_name("zzzzzzzz")


def test_styled_tables_read_as_plain_text():
    table = checks.checks_table()
    text = repr(table)
    assert "Styler" not in text and "0x" not in text
    assert text.splitlines()[0].split()[:3] == ["check", "title", "severity"]
    assert "Device certificate shared" in text and str(table) == text
    html = table.to_html()
    assert "#D55E00" in html and "#56B4E9" in html and "Device Defender audit checks" in html
    assert table.frame is table.data


def test_table_helpers():
    frame = pd.DataFrame({"severity": tables.as_severity(["LOW", "CRITICAL", "MEDIUM"]), "ok": ["✓", "✗", ""]})
    assert [str(s) for s in frame.sort_values("severity")["severity"]] == ["CRITICAL", "MEDIUM", "LOW"]
    assert tables.severity_rank("HIGH") == 1 and tables.severity_rank("weird") == 4
    html = tables.style_table(frame, mark_columns=["ok", "missing"]).to_html()
    assert tables.OK_COLOUR in html and "#F0E442" in html
    empty = tables.style_table(frame.iloc[0:0])
    assert repr(empty) == "(no rows) columns: severity, ok"
    long = pd.DataFrame({"severity": ["LOW"] * 60})
    assert "… 10 more rows" in tables.frame_to_html(long)
    assert all(c in tables.severity_legend_html() for c in tables.SEVERITY_COLOURS.values())
