"""The moto conformance gate: moto's own IoT tests pass against the sandbox except for the reviewed divergences, and
the gate itself notices a divergence that disappears, a failure that is not the recorded one, and a stale entry."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.moto_conformance import divergences
from tests.moto_conformance.__main__ import INI, environment
from tests.moto_conformance.plugin import stale_entries
from tests.moto_conformance.source import PACKAGE, ROOT, SUITE, wanted

GOOD_SOURCE = "https://docs.aws.amazon.com/iot/latest/apireference/API_CreatePolicy.html"


def test_moto_iot_suite_passes_against_the_sandbox_but_for_reviewed_divergences():
    """The gate (make moto-tests): fetches moto's source package once, then runs its tests/test_iot."""
    done = subprocess.run([sys.executable, "-m", "tests.moto_conformance", "-q", "--color=no", "-rfEX", "--tb=short"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, f"moto's IoT tests failed against the sandbox:\n{done.stdout[-8000:]}{done.stderr[-3000:]}"
    assert re.search(r"[1-9]\d* passed", summary), f"moto's tests did not run: {summary}"


def test_the_reviewed_list_loads_and_cites_aws():
    table = divergences.load()
    assert table, "divergences.toml is empty"
    for test, entry in table.items():
        assert test.startswith(f"{SUITE}/"), test
        assert any(s.startswith(divergences.AWS_SOURCES) for s in entry.sources), entry.name


@pytest.mark.parametrize("member, expected", [
    ("moto-5.2.5/tests/test_iot/test_iot.py", f"{PACKAGE}/test_iot/test_iot.py"),
    ("moto-5.2.5/tests/test_iot/__init__.py", f"{PACKAGE}/test_iot/__init__.py"),
    ("moto-5.2.5/tests/conftest.py", f"{PACKAGE}/conftest.py"),
    ("moto-5.2.5/tests/__init__.py", f"{PACKAGE}/__init__.py"),
    ("moto-5.2.5/tests/test_s3/test_s3.py", None),
    ("moto-5.2.5/moto/iot/models.py", None),
    ("moto-5.2.5/tests/../../etc/passwd", None),
])
def test_extraction_keeps_the_suite_and_its_support_files(member, expected):
    got = wanted(member)
    assert (None if got is None else str(got)) == expected


def _toml(tmp_path: Path, entries: list[dict]) -> Path:
    """Write ``entries`` as a divergences file (JSON strings and arrays of strings are valid TOML); return its path."""
    lines = []
    for entry in entries:
        lines += ["[[divergence]]", *(f"{key} = {json.dumps(value)}" for key, value in entry.items()), ""]
    path = tmp_path / "divergences.toml"
    path.write_text("\n".join(lines))
    return path


def _entry(**overrides: object) -> dict:
    """Return a well-formed divergence entry with ``overrides`` applied."""
    entry = {"name": "known", "kind": "closer-to-aws", "why": "because", "sources": [GOOD_SOURCE],
             "match": "known difference", "tests": ["test_a.py::test_diverges"]}
    entry.update(overrides)
    return entry


@pytest.mark.parametrize("overrides, complaint", [
    ({"sources": ["https://example.com/blog"]}, "cite AWS"),
    ({"kind": "better"}, "kind must be one of"),
    ({"tests": ["test_a.py"]}, "pytest node ids"),
    ({"match": "(unclosed"}, "not a regular expression"),
])
def test_the_reviewed_list_refuses_entries_that_do_not_say_why(tmp_path, overrides, complaint):
    with pytest.raises(ValueError, match=complaint):
        divergences.load(_toml(tmp_path, [_entry(**overrides)]))


def test_a_test_listed_twice_is_refused(tmp_path):
    with pytest.raises(ValueError, match="listed under both"):
        divergences.load(_toml(tmp_path, [_entry(), _entry(name="again")]))


SUITE_SOURCE = '''
def test_diverges():
    raise RuntimeError("a known difference")

def test_fixed_since():
    pass

def test_fails_another_way():
    raise ValueError("something else")

def test_new_failure():
    assert 1 == 2

def test_fine():
    pass
'''


def _run_plugin(tmp_path: Path, entries: list[dict]) -> subprocess.CompletedProcess:
    """Run the plugin over a five-test suite in tmp_path with ``entries`` as the reviewed list."""
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_a.py").write_text(textwrap.dedent(SUITE_SOURCE))
    table = _toml(tmp_path, entries)
    command = [sys.executable, "-m", "pytest", "-c", str(INI), "--rootdir", str(suite), str(suite),
               "--divergences", str(table), "-q", "-rA", "--color=no"]
    return subprocess.run(command, cwd=suite, env=environment(), capture_output=True, text=True, timeout=300)


def _outcomes(output: str) -> dict[str, str]:
    """Return test name -> outcome from the short summary (-rA) of a run of the five-test suite."""
    return {m.group(2): m.group(1) for m in re.finditer(r"^(PASSED|FAILED|XFAIL|XPASS|ERROR) test_a\.py::(\w+)",
                                                         output, re.MULTILINE)}


def test_the_plugin_expects_listed_failures_and_nothing_else(tmp_path):
    entries = [_entry(tests=["test_a.py::test_diverges", "test_a.py::test_fixed_since",
                             "test_a.py::test_fails_another_way"])]
    done = _run_plugin(tmp_path, entries)
    assert _outcomes(done.stdout) == {
        "test_diverges": "XFAIL",           # fails the recorded way
        "test_fixed_since": "FAILED",       # strict: the divergence disappeared, remove the entry
        "test_fails_another_way": "FAILED",  # listed, but this failure is not the one recorded
        "test_new_failure": "FAILED",       # not listed
        "test_fine": "PASSED",
    }, done.stdout[-4000:] + done.stderr[-2000:]
    assert "XPASS(strict)" in done.stdout
    assert "this failure is something else" in done.stdout
    assert done.returncode == 1


def test_entries_for_tests_that_are_gone_are_stale(tmp_path):
    (tmp_path / "test_a.py").write_text("")
    table = {test: None for test in ("test_a.py::test_kept", "test_a.py::test_renamed", "test_gone.py::test_x",
                                     "test_b.py::test_not_collected_this_run")}
    (tmp_path / "test_b.py").write_text("")
    collected = {"test_a.py::test_kept", "test_a.py::test_other"}
    assert stale_entries(table, collected, tmp_path) == ["test_a.py::test_renamed", "test_gone.py::test_x"]
