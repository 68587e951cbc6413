"""Under the hood: record the AWS API calls a cell makes, in order, and show them with their reference pages,
parameters (secrets elided), status, duration and the equivalent AWS CLI command.

Every client from ``helpers.target`` is tracked here, but handlers sit on its botocore event system only while
something records: with recording off, no handler is registered and a call costs exactly what it did before.

``record_calls()`` collects them; ``helpers.under_the_hood`` shows them in a notebook (``with show_calls():``,
``%%calls``, ``%calls on``).
"""
from __future__ import annotations

import html
import json
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import api_reference

EVENTS = ("before-parameter-build", "after-call", "after-call-error")
UNIQUE_ID = "helpers.calls"
CONTEXT_KEY = "helpers.calls.started"
SHOWN = 40  # folded calls shown one by one; the rest are counted per operation
# the lab's terminals carry the sandbox's endpoint, region and test credentials (helpers.lab), so nothing secret-like
# is printed here
SANDBOX_NOTE = ("These commands run as they are in a JupyterLab terminal of `make lab` (it sets the sandbox's "
                "endpoint, region and test credentials); `make lab` prints the line for any other terminal.")

_lock = threading.RLock()
_clients: weakref.WeakKeyDictionary[Any, str | None] = weakref.WeakKeyDictionary()  # client -> sandbox endpoint
_recorders: list[CallLog] = []
_thread = threading.local()  # .paused: how many paused() blocks this thread is in


@dataclass(frozen=True)
class Call:
    """One AWS API call: what was asked, how it went and how to make it again from a shell or a script."""

    service: str
    operation: str
    params: dict[str, Any]  # elided: no secret or private key is ever kept
    http_status: int | None
    error_code: str | None
    seconds: float
    retries: int
    endpoint: str | None  # the sandbox endpoint; None in aws mode
    cli: str
    boto3: str

    @property
    def doc_url(self) -> str:
        """Return the operation's API reference page."""
        return api_reference.doc_url(self.service, self.operation)

    @property
    def status(self) -> str:
        """Return ``"200"``, or the HTTP status with the error code (``"404 ResourceNotFoundException"``)."""
        if self.error_code:
            return f"{self.http_status or '-'} {self.error_code}"
        return str(self.http_status)

    @property
    def ok(self) -> bool:
        """Return True when the call succeeded."""
        return self.error_code is None and self.http_status is not None and self.http_status < 300

    def same_request(self, other: Call) -> bool:
        """Return True when ``other`` asked the same thing (a poll repeating itself)."""
        return (self.service, self.operation, self.params) == (other.service, other.operation, other.params)


@dataclass
class CallLog:
    """The calls recorded while a ``record_calls`` block ran; displays as a collapsed "Under the hood" block."""

    calls: list[Call] = field(default_factory=list)

    @property
    def sandbox(self) -> bool:
        """Return True when a call went to the sandbox (its CLI lines need the sandbox's credentials note)."""
        return any(c.endpoint for c in self.calls)

    def __len__(self) -> int:
        return len(self.calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls)

    def operations(self) -> list[str]:
        """Return the operations called, in order, without repeats."""
        return list(dict.fromkeys(c.operation for c in self.calls))

    def groups(self) -> list[tuple[Call, int]]:
        """Return the calls with runs of the same request (polling) folded into (first call, count)."""
        folded: list[tuple[Call, int]] = []
        for call in self.calls:
            if folded and folded[-1][0].same_request(call):
                folded[-1] = (folded[-1][0], folded[-1][1] + 1)
            else:
                folded.append((call, 1))
        return folded

    def summary(self) -> str:
        """Return the one-line title: how many calls, which operations, how long they took together."""
        ops = ", ".join(self.operations()[:6]) + (", …" if len(self.operations()) > 6 else "")
        seconds = sum(c.seconds for c in self.calls)
        return (f"Under the hood: {len(self.calls):,} AWS API call{'s' if len(self.calls) != 1 else ''}"
                + (f" ({ops})" if ops else "") + (f", {seconds:.1f} s" if self.calls else ""))

    def shown(self) -> tuple[list[tuple[Call, int]], str]:
        """Return the folded calls to show one by one (at most ``SHOWN``) and a line counting the rest by
        operation (empty when nothing is left out): a fleet of thousands makes thousands of calls."""
        groups = self.groups()
        rest = Counter(c.operation for c, n in groups[SHOWN:] for _ in range(n))
        if not rest:
            return groups, ""
        counted = ", ".join(f"{op} ×{n:,}" for op, n in rest.most_common())
        return groups[:SHOWN], f"… and {sum(rest.values()):,} more calls: {counted}."

    def __str__(self) -> str:
        lines = [self.summary()]
        groups, rest = self.shown()
        for i, (call, count) in enumerate(groups, 1):
            times = f" ×{count}" if count > 1 else ""
            lines.append(f"{i:>3}. {call.service} {call.operation}{times} — {call.status}, "
                         f"{call.seconds * 1000:.0f} ms — {call.doc_url}")
            if call.params:
                lines.append(f"     params: {_params_text(call.params)}")
            lines.append("     $ " + call.cli.replace("\n", "\n       "))
        if rest:
            lines.append(rest)
        if self.sandbox and self.calls:
            lines.append(SANDBOX_NOTE)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        items = []
        groups, rest = self.shown()
        for call, count in groups:
            colour = "#1b7f3b" if call.ok else "#b3261e"
            times = f" ×{count}" if count > 1 else ""
            params = (f"<div><code style='white-space:pre-wrap'>{html.escape(_params_text(call.params))}</code></div>"
                      if call.params else "")
            items.append(
                f"<li><b>{html.escape(call.service)}</b> <a href='{html.escape(call.doc_url)}' target='_blank'>"
                f"{html.escape(call.operation)}</a>{times} — <span style='color:{colour}'>"
                f"{html.escape(call.status)}</span>, {call.seconds * 1000:.0f} ms{params}"
                f"<pre style='margin:0.2em 0 0.6em 0'>$ {html.escape(call.cli)}</pre></li>")
        note = f"<p>{html.escape(SANDBOX_NOTE)}</p>" if self.sandbox and self.calls else ""
        more = f"<p>{html.escape(rest)}</p>" if rest else ""
        return (f"<details class='under-the-hood'><summary>{html.escape(self.summary())}</summary>"
                f"<ol>{''.join(items)}</ol>{more}{note}</details>")


def _params_text(params: dict[str, Any]) -> str:
    return json.dumps(params, default=str, ensure_ascii=False)


# -- the mechanism ---------------------------------------------------------------------------------------------------
def track(client: Any, sandbox_endpoint: str | None) -> Any:
    """Remember ``client`` (its sandbox endpoint, None in aws mode) so recorders can watch it; return it."""
    with _lock:
        _clients[client] = sandbox_endpoint
        if _recorders:
            _attach(client, sandbox_endpoint)
    return client


def recording() -> bool:
    """Return True while some ``record_calls`` block is open."""
    return bool(_recorders)


def _attach(client: Any, endpoint: str | None) -> None:
    events = client.meta.events
    region = client.meta.region_name

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if getattr(_thread, "paused", 0):
            return
        context[CONTEXT_KEY] = (time.perf_counter(), model, dict(params))

    def finish(context: dict[str, Any], http_status: int | None, error: str | None, retries: int) -> None:
        started = context.pop(CONTEXT_KEY, None)
        if started is None:  # recording began in the middle of this call
            return
        began, model, params = started
        call = Call(service=model.service_model.service_name, operation=model.name,
                    params=api_reference.show_params(model, params), http_status=http_status, error_code=error,
                    seconds=time.perf_counter() - began, retries=retries, endpoint=endpoint,
                    cli=api_reference.cli_command(model, params, region, endpoint),
                    boto3=api_reference.boto3_call(model, params))
        with _lock:
            for log in _recorders:
                log.calls.append(call)

    def after(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        error = parsed.get("Error", {}).get("Code") if http_response.status_code >= 300 else None
        finish(context, http_response.status_code, error or None,
               parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0))

    def failed(exception: Exception, context: dict[str, Any], **_: Any) -> None:
        finish(context, None, type(exception).__name__, 0)

    for name, handler in zip(EVENTS, (before, after, failed)):
        events.register(name, handler, unique_id=f"{UNIQUE_ID}.{name}")


def _detach(client: Any) -> None:
    for name in EVENTS:
        client.meta.events.unregister(name, unique_id=f"{UNIQUE_ID}.{name}")


@contextmanager
def paused() -> Iterator[None]:
    """Record none of this thread's calls inside the block: a cell's precondition checks (``needs()``) are not the
    calls the cell teaches."""
    _thread.paused = getattr(_thread, "paused", 0) + 1
    try:
        yield
    finally:
        _thread.paused -= 1


@contextmanager
def record_calls() -> Iterator[CallLog]:
    """Record every AWS call made through ``helpers.target`` clients inside the block; yield the growing log."""
    log = CallLog()
    with _lock:
        if not _recorders:
            for client, endpoint in list(_clients.items()):
                _attach(client, endpoint)
        _recorders.append(log)
    try:
        yield log
    finally:
        with _lock:
            _recorders.remove(log)
            if not _recorders:
                for client in list(_clients):
                    _detach(client)
