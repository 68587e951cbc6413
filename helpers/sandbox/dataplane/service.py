"""The data plane as a service: the broker on its own event-loop thread, behind our own TLS listener on 127.0.0.1.

Each accepted connection learns newly registered certificates, is upgraded to TLS with the current server context
(``StreamWriter.start_tls``, Python 3.11+), and is handed to amqtt's external listener. The listener bounds the
number of open connections and the size of one MQTT packet (AWS IoT Core's payload limit is 128 KB), and a
periodic sweep disconnects clients whose certificate left ACTIVE (UpdateCertificate, including Device Defender's
UPDATE_DEVICE_CERTIFICATE mitigation), as AWS documents under UpdateCertificate.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from typing import Any, Coroutine, TypeVar

from .authn import Authenticator
from .authz import Authorizer
from .broker import LISTENER, SandboxBroker
from .directory import Directory
from .pki import SandboxPki, make_pki
from .streams import BoundedReader, ClosingWriter
from .tls import ServerTls

log = logging.getLogger(__name__)
T = TypeVar("T")

# amqtt logs a warning for every misbehaving client; in a notebook kernel those would land in cell outputs
QUIET_LOGGERS = ("amqtt", "transitions")
DEFAULT_PORT = 8883
MAX_CONNECTIONS = 5000
MAX_PACKET_BYTES = 128 * 1024 + 1024  # a 128 KB payload plus topic and headers
SWEEP_INTERVAL = 0.5
INLINE_CERTIFICATES = 50  # more newly registered certificates than this are trusted on a worker thread


class DataPlane:
    """The local AWS IoT Core data plane: start, stop, reset, and what the sandbox's controls report."""

    def __init__(self, directory: Directory, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 max_connections: int = MAX_CONNECTIONS, max_packet_bytes: int = MAX_PACKET_BYTES) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.max_packet_bytes = max_packet_bytes
        self.pki: SandboxPki = make_pki()
        self.open_connections = 0
        self.refused_over_limit = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._sync_lock: asyncio.Lock | None = None
        self.broker: SandboxBroker | None = None
        self.tls: ServerTls | None = None

    @property
    def running(self) -> bool:
        """Return True while the broker serves."""
        return self._thread is not None and self._thread.is_alive() and self.broker is not None

    @property
    def root_ca_pem(self) -> str:
        """Return the PEM of the root CA that issued the broker's certificate."""
        return self.pki.root_ca_pem

    # -- life cycle ---------------------------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> "DataPlane":
        """Bind, start serving on a daemon thread, and return self (raises OSError when the port is taken)."""
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        ready: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="iot-sandbox-broker", daemon=True)
        self._thread.start()
        ready.result(timeout)
        return self

    def stop(self, timeout: float = 15) -> None:
        """Disconnect every client, stop serving and wait for the thread to end."""
        if self._loop is not None and self._stop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)
        self._thread = None

    def _run(self, ready: Future[None]) -> None:
        """Run the broker's event loop until stopped."""
        try:
            asyncio.run(self._main(ready))
        except BaseException as exc:  # report a failed start to start(); later failures are logged
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("the MQTT broker stopped")

    async def _main(self, ready: Future[None]) -> None:
        """Set the broker up on this thread's loop, serve until stopped, then disconnect everyone and shut down."""
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(_quiet_exceptions)
        self._loop, self._stop, self._sync_lock = loop, asyncio.Event(), asyncio.Lock()
        self.tls = ServerTls(self.pki)
        authenticator = Authenticator(self.directory, self.tls)
        self.broker = SandboxBroker(self.directory, authenticator, Authorizer(self.directory))
        await self.broker.start()
        server = await asyncio.start_server(self._accept, self.host, self.port, backlog=1024)
        self.port = server.sockets[0].getsockname()[1]
        sweeper = asyncio.create_task(self._sweep())
        ready.set_result(None)
        try:
            await self._stop.wait()
        finally:
            server.close()
            sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
            await self.broker.reset()
            await self.broker.shutdown()
            self.broker = None

    async def _sweep(self) -> None:
        """Disconnect clients whose certificate is no longer ACTIVE, every SWEEP_INTERVAL seconds."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                if self.broker is not None:
                    await self.broker.sweep()
            except Exception:
                log.exception("certificate status sweep failed")

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one accepted TCP connection: TLS, then MQTT."""
        # Nothing may be read before the TLS upgrade (the ClientHello would land in the plain stream's buffer):
        # this first step of the task runs before the loop first polls the new socket, so pause reading now.
        writer.transport.pause_reading()
        if (self.open_connections >= self.max_connections or self.broker is None or self.tls is None
                or self._sync_lock is None):
            self.refused_over_limit += 1
            writer.transport.abort()
            return
        self.open_connections += 1
        try:
            fresh = self.broker.authenticator.pending()
            if len(fresh) > INLINE_CERTIFICATES:
                async with self._sync_lock:  # a thread: trusting 10,000 certificates takes seconds (OpenSSL's store)
                    await asyncio.to_thread(self.broker.authenticator.learn, fresh)
            else:
                self.broker.authenticator.learn(fresh)
            await self.tls.upgrade(writer)
            await self.broker.external_connected(BoundedReader(reader, self.max_packet_bytes),
                                                 ClosingWriter(writer), LISTENER)
        except Exception as exc:  # a failed handshake or a broken client: close it, keep serving
            log.debug("connection ended: %r", exc)
        finally:
            self.open_connections -= 1
            writer.transport.abort()

    # -- calls from other threads -------------------------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 10) -> T:
        """Run ``coro`` on the broker's loop and return its result."""
        if self._loop is None or not self.running:
            coro.close()
            raise RuntimeError("The MQTT broker is not running.")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def reset(self) -> None:
        """Disconnect everyone and forget the broker's state (``POST /moto-api/reset``)."""
        if self.running and self.broker is not None:
            try:
                self._call(self.broker.reset(), timeout=30)
            except TimeoutError:
                log.warning("the MQTT broker's reset took over 30 s; it goes on in the background")

    def sweep_now(self) -> int:
        """Disconnect clients whose certificate left ACTIVE now; return how many."""
        return self._call(self.broker.sweep()) if self.running and self.broker is not None else 0

    def task_count(self) -> int:
        """Return how many asyncio tasks the broker's loop holds (a leak shows as growth)."""
        async def count() -> int:
            """Return the loop's task count (run on the loop)."""
            return len(asyncio.all_tasks())

        return self._call(count())

    def sessions(self) -> dict[str, Any]:
        """Return the live connections, recent refusals and recent disconnections (newest last)."""
        async def snapshot() -> dict[str, Any]:
            """Return the sessions view (run on the loop, where the broker's state lives)."""
            broker = self.broker
            if broker is None:
                return {"live": [], "refusals": [], "disconnects": []}
            return {"live": [c.to_dict() for c in broker.live.values()], "refusals": list(broker.refusals),
                    "disconnects": list(broker.disconnects)}

        return self._call(snapshot())

    def health(self) -> dict[str, Any]:
        """Return the broker's state for ``/_sandbox/health``."""
        broker = self.broker
        return {"running": self.running, "host": self.host, "port": self.port, "protocol": "MQTT 3.1.1 over TLS",
                "openConnections": self.open_connections,
                "liveSessions": len(broker.live) if broker is not None else 0,
                "maxConnections": self.max_connections, "refusedOverLimit": self.refused_over_limit}


def _quiet_exceptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Log the event loop's unhandled errors (failed handshakes of bad clients) at debug level, not on stderr."""
    log.debug("broker loop: %s", context.get("message"), exc_info=context.get("exception"))
