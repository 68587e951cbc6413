"""The reviewed list of moto IoT tests the sandbox fails on purpose (divergences.toml): loading and validation."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

PATH = Path(__file__).with_name("divergences.toml")
KINDS = {
    "closer-to-aws": "the sandbox does what AWS documents; moto's test relies on moto accepting more",
    "unspecified": "AWS documents neither behaviour; the sandbox keeps its own, documented choice",
}
# a source must be AWS's own word: its documentation, or the botocore model AWS publishes
AWS_SOURCES = ("https://docs.aws.amazon.com/", "botocore iot model: ")


@dataclass(frozen=True)
class Divergence:
    """One reviewed difference: the moto tests it makes fail, the failure they must show, and why."""

    name: str
    kind: str
    why: str
    sources: tuple[str, ...]
    match: re.Pattern[str]
    tests: tuple[str, ...]

    def explains(self, failure: str) -> bool:
        """Return True when ``failure`` (``ExceptionType: message``) is the failure this divergence expects."""
        return self.match.search(failure) is not None

    def reason(self) -> str:
        """Return the one-line reason shown for an expected failure."""
        return f"divergence {self.name!r} ({self.kind}): see tests/moto_conformance/divergences.toml"


def _entry(raw: dict, where: str) -> Divergence:
    """Return the Divergence described by one ``[[divergence]]`` table, or raise ValueError naming what is wrong."""
    missing = {"name", "kind", "why", "sources", "match", "tests"} - set(raw)
    if missing:
        raise ValueError(f"{where}: add {', '.join(sorted(missing))}")
    if raw["kind"] not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}; got {raw['kind']!r}")
    sources = tuple(raw["sources"])
    if not any(s.startswith(AWS_SOURCES) for s in sources):
        raise ValueError(f"{where}: cite AWS (a source starting with {' or '.join(map(repr, AWS_SOURCES))})")
    if not raw["tests"] or not all(isinstance(t, str) and "::" in t for t in raw["tests"]):
        raise ValueError(f"{where}: tests must list pytest node ids such as 'test_iot/test_iot.py::test_policy'")
    try:
        match = re.compile(raw["match"])
    except re.error as exc:
        raise ValueError(f"{where}: match is not a regular expression ({exc})") from None
    return Divergence(raw["name"], raw["kind"], " ".join(raw["why"].split()), sources, match, tuple(raw["tests"]))


def load(path: Path = PATH) -> dict[str, Divergence]:
    """Return the divergences of ``path`` by moto test id; raise ValueError on a malformed or repeated entry."""
    entries = tomllib.loads(path.read_text()).get("divergence", [])
    by_test: dict[str, Divergence] = {}
    for i, raw in enumerate(entries):
        divergence = _entry(raw, f"{path.name} entry {i + 1} ({raw.get('name', 'unnamed')})")
        for test in divergence.tests:
            if test in by_test:
                raise ValueError(f"{path.name}: {test} is listed under both {by_test[test].name!r} and "
                                 f"{divergence.name!r}; keep it under the one that explains its failure")
            by_test[test] = divergence
    return by_test
