"""Generative hardening: requests built by hypothesis from the botocore model of every Device Defender operation
(and the IoT operations the sandbox adds to moto or wraps), and from the ``/_sandbox/`` controls, mostly well-typed
values with wild JSON mixed in. Oracles, for every request: no HTTP 500, no HTML, a refused request changes no state,
and ``/_sandbox/health`` answers within 100 ms.

CI runs a bounded, derandomized run (about a minute). ``make soak`` runs a long random one (SANDBOX_SOAK_EXAMPLES,
SANDBOX_SOAK_SEED) that records every failure instead of stopping at the first, and writes a summary to
test-artifacts/soak.json."""
from __future__ import annotations

import json
import os
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import botocore.session
import pytest
from botocore import xform_name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import target
from helpers.sandbox import SandboxServer
from helpers.sandbox import iot_gaps
from helpers.sandbox.responses import operation_methods
from tests.raw_http import Reply, control, send, signed
from tests.test_bad_input import _reset, fingerprint, seed_sandbox

SOAK_EXAMPLES = int(os.environ.get("SANDBOX_SOAK_EXAMPLES", "0"))
SOAK = SOAK_EXAMPLES > 0
API_EXAMPLES = SOAK_EXAMPLES or 1500
CONTROL_EXAMPLES = SOAK_EXAMPLES // 4 or 400
HEALTH_BUDGET = 0.100  # seconds: the responsiveness bound
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Controls left out: fault injection (throttling on purpose) and turning synchronous audits off (a background audit
# changing state would look like a refused request changing it).
SKIPPED_CONTROLS = {"/_sandbox/faults", "/_sandbox/auth"}  # auth: {"enforce": true} would lock the shared server
SKIPPED_SETTINGS = {"synchronousAudits", "auditDelaySeconds"}
CONTROL_KEYS = ["events", "crl", "devices", "advanceSeconds", "maxPageSize", "force", "roleAliasArn", "services",
                "usedAt", "identityPoolId", "connectedAt", "certificateIds", "thingName", "certificatePem",
                "clientId", "certificateId", "disconnectedAt", "sourceIp"]


@lru_cache(maxsize=1)
def iot_model() -> Any:
    """Return botocore's IoT service model."""
    return botocore.session.get_session().get_service_model("iot")


def sandbox_operations() -> list[str]:
    """Return the operations the sandbox implements or wraps, by model name: Device Defender, and the IoT
    operations it adds to moto or checks before moto stores anything (tags, policy documents, PEMs)."""
    ours = set(operation_methods()) | set(iot_gaps.NEW_OPERATIONS) | set(iot_gaps.OVERRIDES) | set(
        iot_gaps.TAGGED_CREATES) | set(iot_gaps.VALIDATED_INPUT)
    return sorted(op for op in iot_model().operation_names if xform_name(op) in ours)


# -- values ----------------------------------------------------------------------------------------------------------
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30))
WILD = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                    max_leaves=12)
NAMEISH = st.text(alphabet="abcXYZ019-_:", min_size=1, max_size=12)


def typed(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Return a strategy for values of ``shape``'s type: often within its constraints, sometimes not."""
    kind, meta = shape.type_name, shape.metadata
    if depth > 4:
        return WILD
    if kind == "structure":
        members = {name: typed(member, depth + 1) for name, member in shape.members.items()}
        return st.fixed_dictionaries({}, optional=members)
    if kind == "list":
        return st.lists(typed(shape.member, depth + 1), max_size=min(meta.get("max", 4), 30) + 1)
    if kind == "map":
        return st.dictionaries(typed(shape.key, depth + 1), typed(shape.value, depth + 1), max_size=3)
    if kind == "string":
        options = [NAMEISH, st.text(max_size=40)]
        if meta.get("enum"):
            options.insert(0, st.sampled_from(meta["enum"]))
        return st.one_of(*options)
    if kind in ("integer", "long"):
        low, high = meta.get("min", -5), meta.get("max", 10_000)
        return st.integers(min_value=low - 2, max_value=high + 2)
    if kind in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.one_of(st.floats(min_value=0, max_value=4e9), st.sampled_from(["2024-01-31T12:00:00Z", "yesterday"]))
    return WILD


def value_of(shape: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Return a strategy mixing well-typed values of ``shape`` (mostly) with arbitrary JSON."""
    return st.one_of(typed(shape, depth), typed(shape, depth), typed(shape, depth), WILD)


def params_of(operation: str) -> st.SearchStrategy[dict[str, Any]]:
    """Return a strategy for an operation's parameters: each member present or not, required ones usually set."""
    shape = iot_model().operation_model(operation).input_shape
    if shape is None:
        return st.just({})
    members = {name: value_of(member) for name, member in shape.members.items()}
    return st.fixed_dictionaries({}, optional=members)


def as_text(value: Any) -> str:
    """Return how a value travels in a URI label, query string or header."""
    return value if isinstance(value, str) else json.dumps(value)


def http_request(operation: str, params: dict[str, Any],
                 body_override: Any) -> tuple[str, str, bytes, dict[str, str]]:
    """Return (method, path with query, body, headers) of ``operation`` carrying ``params`` as rest-json places
    them."""
    model = iot_model().operation_model(operation)
    path, _, literal_query = model.http["requestUri"].partition("?")
    query: list[tuple[str, str]] = [tuple(q.split("=", 1)) if "=" in q else (q, "") for q in literal_query.split("&")
                                    if q]  # type: ignore[misc]
    body: dict[str, Any] = {}
    headers: dict[str, str] = {}
    shape = model.input_shape
    for name, member in (shape.members.items() if shape is not None else []):
        location, wire = member.serialization.get("location"), member.serialization.get("name", name)
        if location == "uri":
            label = as_text(params.get(name, "x"))
            path = path.replace("{" + wire + "}", urllib.parse.quote(label, safe="")).replace(
                "{" + wire + "+}", urllib.parse.quote(label, safe="/"))
        elif name not in params:
            continue
        elif location == "querystring":
            values = params[name] if isinstance(params[name], list) else [params[name]]
            query += [(wire, as_text(v)) for v in values]
        elif location == "header":
            headers[wire] = "".join(c for c in as_text(params[name]) if " " <= c <= "~")  # http.client sends ASCII
        elif location == "headers":
            continue
        else:
            body[wire] = params[name]
    if query:
        path += "?" + urllib.parse.urlencode(query)
    data = body_override if body_override is not None else json.dumps(body).encode()
    return model.http["method"], path, data, headers


RAW_BODIES = st.sampled_from([None, None, None, None, None, None, b"", b"{", b"[]", b"\xff\xfe", b"null",
                              b'{"a": NaN}', b"[" * 2000])


# -- oracles ---------------------------------------------------------------------------------------------------------
@dataclass
class Oracle:
    """Checks every answer; in a soak it records failures (by class) instead of stopping at the first."""

    sb: SimpleNamespace
    strict: bool
    requests: int = 0
    refused: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    baseline: Any = None

    def fail(self, kind: str, detail: str) -> None:
        """Fail now (CI), or count the failure by ``kind`` and keep one example (soak)."""
        if self.strict:
            pytest.fail(f"{kind}: {detail}")
        self.failures[kind] += 1
        self.examples.setdefault(kind, detail[:1000])

    def check(self, what: str, reply: Reply, before: Any) -> None:
        """Apply the oracles to one answer, ``before`` being the state fingerprint taken before the request."""
        self.requests += 1
        if reply.status >= 500:
            self.fail(f"HTTP {reply.status}", f"{what} -> {reply.body[:400]!r}")
        if reply.is_html:
            self.fail("HTML answer", f"{what} -> {reply.body[:200]!r}")
        elif reply.body and reply.json is None and reply.xml is None:
            self.fail("body neither JSON nor XML", f"{what} -> {reply.body[:200]!r}")
        if reply.status >= 400:
            self.refused += 1
            after = fingerprint(self.sb)
            if after != before:
                changed = sorted(k for k in after if after[k] != before.get(k))
                self.fail("refused request changed state", f"{what} -> {reply.status} changed {changed}")
        self.health()

    def health(self) -> None:
        """Fail when three health requests in a row each take longer than the budget (one slow answer on a busy
        machine is noise; a server held by one request answers none)."""
        for _ in range(3):
            started = time.perf_counter()
            reply = control(self.sb.endpoint, "GET", "/_sandbox/health", query="")
            if reply.status == 200 and time.perf_counter() - started <= HEALTH_BUDGET:
                return
        self.fail("health slower than 100 ms", "three /_sandbox/health requests in a row")


@pytest.fixture(scope="module")
def oracle(sandbox_server: SandboxServer) -> Iterator[Oracle]:
    """A seeded sandbox (one of everything) and the oracle checking answers against it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKSHOP_TARGET", "sandbox")
        mp.setenv("AWS_ENDPOINT_URL", sandbox_server.endpoint)
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        target.clear_client_cache()
        _reset(sandbox_server.endpoint)
        send(sandbox_server.endpoint, "DELETE", "/_sandbox/faults")
        sb = SimpleNamespace(endpoint=sandbox_server.endpoint, iot=target.client("iot"), client=target.client,
                             region="us-east-1")
        sb.seed = seed_sandbox(sb)
        found = Oracle(sb, strict=not SOAK)
        yield found
        _write_summary(found)
        _reset(sandbox_server.endpoint)
    target.clear_client_cache()


def _write_summary(found: Oracle) -> None:
    """Write the run's counts and failures to test-artifacts and print one line."""
    ARTIFACTS.mkdir(exist_ok=True)
    summary = {"requests": found.requests, "refused": found.refused, "failures": dict(found.failures),
               "examples": found.examples, "soak": SOAK}
    (ARTIFACTS / ("soak.json" if SOAK else "generative.json")).write_text(json.dumps(summary, indent=2))
    print(f"\ngenerative run: {found.requests} requests, {found.refused} refused, failures {dict(found.failures)}")


def _settings(examples: int) -> Any:
    """Return hypothesis settings for ``examples`` examples: derandomized in CI, random in a soak."""
    return settings(max_examples=examples, deadline=None, database=None, derandomize=not SOAK,
                    suppress_health_check=list(HealthCheck), print_blob=True)


@st.composite
def api_requests(draw: Any) -> tuple[str, str, str, bytes, dict[str, str]]:
    """Draw (operation, method, path, body, headers) of a request to one of the sandbox's operations."""
    operation = draw(st.sampled_from(sandbox_operations()))
    params = draw(params_of(operation))
    return (operation, *http_request(operation, params, draw(RAW_BODIES)))


@pytest.fixture(scope="module")
def control_routes(sandbox_server: SandboxServer) -> list[tuple[str, str]]:
    """The controls the generative run calls: every registered one but those SKIPPED_CONTROLS names."""
    app = sandbox_server._server.app  # type: ignore[union-attr]  # the running server's own routes
    return sorted(route for route in app.routes if route[1] not in SKIPPED_CONTROLS)


CONTROL_BODIES = st.one_of(
    st.dictionaries(st.sampled_from(CONTROL_KEYS), WILD, max_size=4),
    st.fixed_dictionaries({"events": st.lists(st.dictionaries(st.sampled_from(CONTROL_KEYS), WILD, max_size=5),
                                              max_size=3)}),
    st.fixed_dictionaries({"devices": st.lists(st.dictionaries(st.sampled_from(CONTROL_KEYS), WILD, max_size=4),
                                               max_size=3)}),
    st.fixed_dictionaries({"advanceSeconds": st.one_of(st.floats(), st.integers(), WILD)}),
    WILD,
)
CONTROL_QUERIES = st.sampled_from(["region=us-east-1", "region=us-east-1", "region=aws-global", "account=12345",
                                   "account=%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6%D9%A7%D9%A8%D9%A9%D9%A0%D9%A1%D9%A2",
                                   "region=%00", ""])


def test_generated_api_requests(oracle: Oracle) -> None:
    """Generated Device Defender requests: no 500, no HTML, refusals change nothing, health stays responsive."""

    @_settings(API_EXAMPLES)
    @given(api_requests())
    def run(request: tuple[str, str, str, bytes, dict[str, str]]) -> None:
        operation, method, path, body, headers = request
        before = fingerprint(oracle.sb)
        reply = signed(oracle.sb.endpoint, "iot", method, path, body, headers=headers)
        oracle.check(f"{operation} {method} {path} {body[:300]!r}", reply, before)

    run()
    assert oracle.requests > 0
    if SOAK:
        assert not oracle.failures, oracle.examples


def test_generated_control_requests(oracle: Oracle, control_routes: list[tuple[str, str]]) -> None:
    """Generated control requests: the same oracles."""

    @_settings(CONTROL_EXAMPLES)
    @given(st.sampled_from(control_routes), CONTROL_BODIES, CONTROL_QUERIES)
    def run(route: tuple[str, str], body: Any, query: str) -> None:
        method, path = route
        if path == "/_sandbox/config" and isinstance(body, dict):
            body = {k: v for k, v in body.items() if k not in SKIPPED_SETTINGS}
        data = json.dumps(body).encode()
        before = fingerprint(oracle.sb)
        reply = control(oracle.sb.endpoint, method, path, data, query=query)
        oracle.check(f"{method} {path}?{query} {data[:300]!r}", reply, before)

    run()
    if SOAK:
        assert not oracle.failures, oracle.examples
