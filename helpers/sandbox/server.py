"""The sandbox endpoint: moto's server with the Device Defender extension and the ``/_sandbox/`` controls."""
from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

from . import controls
from .admission import Admitted, admit, aws_shaped
from .bounded_json import MAX_BYTES
from .config import DEFAULT_HOST, DEFAULT_PORT, INSTANCE_HEADER, LOOPBACK, SANDBOX_ACCOUNT  # noqa: F401 (re-exported)
from .dataplane import DataPlane
from .dataplane_adapter import start_data_plane, stop_data_plane
from .exceptions import SandboxError
from .faults import FaultInjector, error_response
from .grafting import configure_moto
from .iam_enforcement import Enforcement
from .locking import STATE_LOCK
from .models import devicedefender_backends
from .operations import OperationLog

log = logging.getLogger(__name__)

DEFAULT_MQTT_PORT = 8883


def _json(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload, default=str), status=status, mimetype="application/json")


class SandboxApp:
    """WSGI app: ``/_sandbox/...`` controls here, everything else to moto's dispatcher."""

    def __init__(self, moto_app: Callable[..., Iterable[bytes]] | None = None) -> None:
        if moto_app is None:
            moto_app = DomainDispatcherApplication(create_backend_app)
        self.moto_app = moto_app
        self.routes: dict[tuple[str, str], Callable[[Request], Any]] = {}
        self.instance_id = uuid.uuid4().hex  # a restart is a new instance: helpers notice their state is gone
        self.started_at = datetime.now(timezone.utc)
        self.faults = FaultInjector()
        self.operations = OperationLog()
        self.enforcement = Enforcement()  # AWS's permission model, off until POST /_sandbox/auth turns it on
        self.dataplane: DataPlane | None = None  # the MQTT broker, when this app serves one
        controls.register(self)

    def _api(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer an AWS API request: refuse what AWS refuses at its front door (unsigned, unknown region or
        operation, input outside the operation's shape), inject any configured fault, log it, then let moto
        answer while holding the state lock."""
        admitted = admit(environ)
        if not isinstance(admitted, Admitted):
            status, headers, body = admitted
            start_response(status, [*headers, (INSTANCE_HEADER, self.instance_id)])
            return [body]
        request = admitted.request
        if request is not None:
            refusal = self.enforcement.check(environ, request, admitted.params, admitted.body)
            if refusal is not None:
                status, headers, body = refusal
                self.operations.record(request)
                start_response(status, [*headers, (INSTANCE_HEADER, self.instance_id)])
                return [body]
            fault = self.faults.decide(request)
            if fault is not None:
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.code is not None:
                    status, headers, body = error_response(fault, request)
                    start_response(status, headers)
                    return [body]
            self.operations.record(request)
        answer: list[Any] = []

        def respond(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            answer[:] = [status, headers]
            return lambda data: None

        with STATE_LOCK:
            try:
                body = b"".join(self.moto_app(environ, respond))
            except Exception:  # moto's Flask app lets some exceptions out: answer as werkzeug would, shaped below
                log.exception("moto failed to answer %s", request.operation if request else environ.get("PATH_INFO"))
                answer[:] = ["500 Internal Server Error", [("Content-Type", "text/html; charset=utf-8")]]
                body = b""
        status, headers, body = aws_shaped(request, answer[0], answer[1], body)
        start_response(status, [*headers, (INSTANCE_HEADER, self.instance_id)])
        return [body]

    def route(self, method: str, path: str) -> Callable[[Callable[[Request], Any]], Callable[[Request], Any]]:
        """Register a control handler for ``method`` and ``path`` (decorator)."""

        def deco(fn: Callable[[Request], Any]) -> Callable[[Request], Any]:
            self.routes[(method, path)] = fn
            return fn

        return deco

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/_sandbox/"):
            answer = self._api(environ, start_response)
            if path == "/moto-api/reset" and self.dataplane is not None:
                self.dataplane.reset()  # disconnect everyone: their certificates are gone
            return answer
        request = Request(environ)
        request.max_content_length = MAX_BYTES
        handler = self.routes.get((request.method, path.rstrip("/")))
        if handler is None:
            allowed = sorted(m for (m, p) in self.routes if p == path.rstrip("/"))
            if allowed:
                response = _json(405, {"error": f"{request.method} is not allowed on {path}; use {', '.join(allowed)}."})
            else:
                known = sorted({p for (_, p) in self.routes})
                response = _json(404, {"error": f"No sandbox control at {path}. Known: {', '.join(known)}."})
            return response(environ, start_response)
        try:
            result = handler(request)
            response = result if isinstance(result, Response) else _json(200, result)
        except SandboxError as exc:
            response = _json(exc.status, {"error": exc.message})
        except HTTPException as exc:  # werkzeug's own refusals (a body over the limit): JSON, not its HTML page
            response = _json(exc.code or 400, {"error": exc.description or exc.name})
        except Exception as exc:  # a control must never take the server down
            log.exception("sandbox control %s failed", path)
            response = _json(500, {"error": f"The sandbox control failed: {exc!r}"})
        return response(environ, start_response)


def _request_handler(quiet: bool) -> Any:
    """Return moto's request handler class, silenced when ``quiet`` (a kernel's stderr is no place for access logs)."""
    if not quiet:
        return MotoRequestHandler

    class QuietHandler(MotoRequestHandler):  # type: ignore[misc, valid-type]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    return QuietHandler


SCHEDULER_INTERVAL = 30.0


def run_due_everywhere() -> list[str]:
    """Start the due scheduled audits of every account and region; return the task ids started."""
    started: list[str] = []
    for _, _, backend in list(devicedefender_backends.iter_backends()):
        if backend.scheduled_audits:
            started += backend.run_due_scheduled_audits()
    return started


def _scheduler(stop: threading.Event, interval: float = SCHEDULER_INTERVAL) -> None:
    """Run scheduled audits when they fall due by the wall clock, until ``stop`` is set."""
    while not stop.wait(interval):
        try:
            run_due_everywhere()
        except Exception:  # keep scheduling whatever one backend did
            log.exception("scheduled audit run failed")


def start_scheduler() -> threading.Event:
    """Start the scheduler thread; set the returned event to stop it."""
    stop = threading.Event()
    threading.Thread(target=_scheduler, args=(stop,), name="iot-sandbox-scheduler", daemon=True).start()
    return stop


class SandboxServer:
    """The sandbox endpoint on a background thread (for the kernel fallback and tests)."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, quiet: bool = True,
                 mqtt_port: int | None = 0) -> None:
        self.host = host
        self.port = port
        self.quiet = quiet
        self.mqtt_port = mqtt_port  # 0 = a free port (tests never collide), None = no broker
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.dataplane: DataPlane | None = None

    @property
    def endpoint(self) -> str:
        """Return the endpoint URL clients should use."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SandboxServer":
        """Bind, start serving on a daemon thread, and return self."""
        configure_moto()
        app = SandboxApp()
        self._server = make_server(self.host, self.port, app, threaded=True,
                                   request_handler=_request_handler(self.quiet))
        self.port = self._server.server_address[1]
        if self.mqtt_port is not None:
            try:
                app.dataplane = self.dataplane = start_data_plane(self.mqtt_port)
            except OSError:
                self._server.server_close()
                raise
        self._thread = threading.Thread(target=self._server.serve_forever, name="iot-sandbox", daemon=True)
        self._thread.start()
        self._scheduler_stop = start_scheduler()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if getattr(self, "_scheduler_stop", None) is not None:
            self._scheduler_stop.set()
        if self.dataplane is not None:
            stop_data_plane(self.dataplane)
            self.dataplane = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None


def serve(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, mqtt_port: int = DEFAULT_MQTT_PORT) -> None:
    """Serve the sandbox (API on ``port``, MQTT broker on 127.0.0.1:``mqtt_port``) in the foreground until
    interrupted."""
    configure_moto()
    app = SandboxApp()
    server = make_server(host, port, app, threaded=True, request_handler=_request_handler(quiet=False))
    try:
        app.dataplane = start_data_plane(mqtt_port)
    except OSError:
        server.server_close()
        raise
    stop_scheduler = start_scheduler()
    print(f"IoT Device Defender sandbox listening on http://{host}:{server.server_address[1]} "
          f"(account {SANDBOX_ACCOUNT}), MQTT data endpoint 127.0.0.1:{app.dataplane.port}; Ctrl-C to stop",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop_scheduler.set()
        stop_data_plane(app.dataplane)
        server.server_close()
        print("sandbox stopped", flush=True)
