"""The MQTT broker: amqtt's ``Broker`` with AWS IoT Core's connection rules.

amqtt is pinned exactly (pyproject) because these private methods of 0.12.1 are overridden; each fixes a stock
behaviour that is a security or correctness bug for this use (tests/dataplane/test_overrides.py pins each one):

1. ``_client_connected``: the CONNECT is authenticated (registered ACTIVE certificate, then iot:Connect) before any
   existing session is touched, and a resumed session (``clean_session=False``, the AWS IoT Device SDK's default)
   takes this connection's TLS object, address and identity. Stock amqtt authenticated the *old* session object,
   so a resumed session was judged by the previous connection's certificate.
2. Same method: a refused CONNECT gets CONNACK 0x05 and is never registered. Stock amqtt deleted the live session
   with that client id (subscriptions included) before authenticating, and left refused sessions "connected".
3. Same method: a second connection with a live client id disconnects the older one, as AWS does
   (DUPLICATE_CLIENTID); stock amqtt kept both.
4. ``_handle_message_delivery``: a PUBLISH to ``$aws/...`` is authorised like any topic, and whenever a client's
   message loop ends the connection is closed. Stock amqtt stopped the loop silently on any ``$`` topic and left
   the client connected but never served again.
5. ``_publish_retained_messages_for_subscription``: retained messages go only to a session that holds the
   subscription and may receive the topic (iot:Receive). Stock amqtt sent a reconnecting client the retained
   messages of every filter anyone had subscribed to, unchecked.

``_authenticate``, ``_topic_filtering`` and ``_handle_disconnect`` are the decision and bookkeeping points (no amqtt
plugins are loaded).

Unauthorised actions follow AWS IoT Core for MQTT 3.1.1 (https://docs.aws.amazon.com/iot/latest/developerguide/
mqtt.html and the AUTH_ERROR disconnect reason in .../life-cycle-events.html): CONNECT refused with CONNACK 0x05;
an unauthorised PUBLISH disconnects the client (MQTT 3.1.1 has no negative PUBACK); an unauthorised SUBSCRIBE gets
the SUBACK failure code 0x80; a message the subscriber may not receive (iot:Receive) is not delivered.
Known gap: MQTT 5 (reason codes such as PUBACK 0x87) is not supported by amqtt, which refuses protocol level 5.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from amqtt.adapters import ReaderAdapter, WriterAdapter
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.mqtt.connack import NOT_AUTHORIZED, ConnackPacket
from amqtt.mqtt.disconnect import DisconnectPacket
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.session import Session
from amqtt.utils import gen_client_id

from . import lifecycle
from .authn import Authenticator, Identity, Refusal
from .authz import CONNECT, PUBLISH, RECEIVE, SUBSCRIBE, Authorizer
from .directory import Directory
from .tls import peer_certificate

log = logging.getLogger(__name__)

LISTENER = "default"  # amqtt's "external" listener: connections come from our own TLS server (service.py)
IDENTITY = "sandbox.identity"
CONNECT_TIMEOUT = 10.0  # seconds a client has to send CONNECT after the TLS handshake
KICK_TIMEOUT = 5.0
_ACTIONS = {Action.PUBLISH: PUBLISH, Action.SUBSCRIBE: SUBSCRIBE, Action.RECEIVE: RECEIVE}


@dataclass(eq=False)
class LiveConnection:
    """One connected client: who it is, its session record in the connection history, and why it ended."""

    client_id: str
    identity: Identity
    source_ip: str
    connected_at: float
    writer: WriterAdapter
    session_id: str = field(default_factory=lifecycle.new_session_id)
    handle: Any = None
    reason: str | None = None
    ended_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def to_dict(self) -> dict[str, Any]:
        """Return the connection as the sessions control shows it."""
        return {"clientId": self.client_id, "certificateId": self.identity.certificate_id,
                "account": self.identity.account, "region": self.identity.region,
                "sourceIp": self.source_ip, "connectedAt": self.connected_at}


class SandboxBroker(Broker):
    """amqtt's broker deciding with the sandbox's registry and policies, and recording every session."""

    def __init__(self, directory: Directory, authenticator: Authenticator, authorizer: Authorizer) -> None:
        super().__init__({"listeners": {LISTENER: {"type": "external"}}, "plugins": {}})
        self.directory = directory
        self.authenticator = authenticator
        self.authorizer = authorizer
        self.live: dict[str, LiveConnection] = {}
        self.refusals: deque[dict[str, Any]] = deque(maxlen=200)
        self.disconnects: deque[dict[str, Any]] = deque(maxlen=200)
        self._admission: dict[str, asyncio.Lock] = {}

    # -- connection set-up (overrides 1-3) ----------------------------------------------------------------------
    async def _client_connected(self, listener_name: str, reader: ReaderAdapter, writer: WriterAdapter) -> None:
        """Serve one connection: CONNECT, admission (overrides 1-3), the session, and its record in the history."""
        peer = writer.get_peer_info()
        if peer is None:
            await writer.close()
            return
        source_ip = peer[0]
        try:
            handler, session = await asyncio.wait_for(
                BrokerProtocolHandler.init_from_connect(reader, writer, self.plugins_manager), CONNECT_TIMEOUT)
        except Exception as exc:  # garbage, a wrong first packet, a timeout: refuse, whatever the parser raised
            log.debug("no valid CONNECT from %s: %r", source_ip, exc)
            await writer.close()
            return
        if not session.client_id:
            session.client_id = gen_client_id()  # clean session without a client id (amqtt refused the others)
        client_id = session.client_id
        verdict = self.admit(session, client_id, source_ip)
        if isinstance(verdict, Refusal):
            self.refusals.append({"clientId": client_id, "reason": verdict.reason, "sourceIp": source_ip})
            log.info("refused %s from %s: %s", client_id, source_ip, verdict.reason)
            await ConnackPacket.build(0, NOT_AUTHORIZED).to_stream(writer)
            await writer.close()
            return
        async with self._admission.setdefault(client_id, asyncio.Lock()):  # one admission per client id at a time
            at = self.directory.now(verdict.account, verdict.region)
            await self._knock_off(client_id, at)
            session = await self._adopt(session, verdict)
            live = LiveConnection(client_id, verdict, source_ip, at, writer)
            live.handle = self._open_session(live)
            self.live[client_id] = live
        await self._presence(live, connected=True)
        try:
            await self._handle_client_session(reader, writer, session, handler, self._servers[listener_name],
                                              listener_name)
        except Exception as exc:  # a broken client must not take the listener down
            log.debug("session %s ended with %r", client_id, exc)
            live.reason = live.reason or lifecycle.CLIENT_ERROR
        finally:
            await self._ensure_closed(session, handler)
            await self._finish(live)

    def admit(self, session: Session, client_id: str, source_ip: str) -> Identity | Refusal:
        """Return the identity of a CONNECT allowed to proceed, or why it is refused."""
        verdict = self.authenticator.authenticate(peer_certificate(session.ssl_object))
        if isinstance(verdict, Refusal):
            return verdict
        if not self.authorizer.allows(verdict, client_id, source_ip, CONNECT, client_id):
            return Refusal(f"the policies of certificate {verdict.certificate_id} do not allow iot:Connect on "
                           f"client/{client_id}")
        return verdict

    def _open_session(self, live: LiveConnection) -> Any:
        """Record the start of a connection's session; return its handle (None when it could not be recorded)."""
        identity = live.identity
        try:
            return self.directory.open_session(identity.account, identity.region, live.client_id,
                                               identity.certificate_id, live.source_ip, live.connected_at)
        except Exception:
            log.exception("recording the session of %s failed", live.client_id)
            return None

    async def _knock_off(self, client_id: str, at: float) -> None:
        """Disconnect the live connection using ``client_id``, its session ending at ``at`` (DUPLICATE_CLIENTID)."""
        old = self.live.get(client_id)
        if old is not None:
            await self.disconnect(old, lifecycle.DUPLICATE_CLIENTID, at)

    async def _adopt(self, session: Session, identity: Identity) -> Session:
        """Return the session this connection continues: a fresh one, or the stored persistent one refreshed with
        this connection's TLS object, address, will and identity."""
        client_id = session.client_id
        stored = self._sessions.get(client_id, (None, None))[0] if client_id else None
        if session.clean_session or stored is None:
            if client_id:
                await self._delete_session(client_id)
            session.parent = 0
            session.attributes[IDENTITY] = identity
            return session
        for name in ("will_flag", "will_message", "will_topic", "will_qos", "will_retain", "keep_alive",
                     "username", "password", "ssl_object", "remote_address", "remote_port"):
            setattr(stored, name, getattr(session, name))
        stored.parent = 1
        stored.attributes[IDENTITY] = identity
        return stored

    async def _authenticate(self, session: Session, _: Any) -> bool:
        """Return True for a session admitted by _client_connected."""
        return IDENTITY in session.attributes  # decided in _client_connected, before the session was adopted

    # -- authorisation of each action -------------------------------------------------------------------------
    async def _topic_filtering(self, session: Session, topic: str, action: Action) -> bool:
        """Return True when the session may publish, subscribe or receive ``topic`` (iot:Publish/Subscribe/Receive)."""
        return self.allowed(session, _ACTIONS[action], topic)

    def allowed(self, session: Session, action: str, name: str) -> bool:
        """Return True when the session's certificate policies allow ``action`` on ``name`` now."""
        identity = session.attributes.get(IDENTITY)
        if identity is None or not session.client_id:
            return False
        try:
            return self.authorizer.allows(identity, session.client_id, session.remote_address or "", action, name)
        except Exception:  # a registry mid-reset denies rather than crashing the session
            log.exception("authorisation of %s on %s failed", action, name)
            return False

    async def _handle_message_delivery(self, client_session: Session, handler: BrokerProtocolHandler,
                                       wait_deliver: asyncio.Future[Any]) -> bool:
        """Route a client's PUBLISH (override 4); return False to end the connection."""
        message = wait_deliver.result()
        if message is None:
            return True
        topic = message.topic
        live = self.live.get(client_session.client_id or "")
        if not topic or "#" in topic or "+" in topic:
            self._mark(live, lifecycle.CLIENT_ERROR)
            return False
        reserved = topic.startswith(lifecycle.RESERVED_PREFIX) or (topic.startswith("$") and not topic.startswith("$aws/"))
        if reserved or not self.allowed(client_session, PUBLISH, topic):
            self._mark(live, lifecycle.AUTH_ERROR)  # MQTT 3.1.1: AWS IoT Core closes the connection
            return False
        await self._broadcast_message(client_session, topic, message.data)
        if message.publish_packet is not None and message.publish_packet.retain_flag:
            await self.retain_message(client_session, topic, message.data, message.qos)
        return True

    async def _publish_retained_messages_for_subscription(self, subscription: tuple[str, int],
                                                          session: Session) -> None:
        """Send the retained messages a new subscription matches, if the session may receive them (override 5)."""
        topic_filter, qos = subscription
        if all(s.client_id != session.client_id for s, _ in self._subscriptions.get(topic_filter, [])):
            return
        handler = self._get_handler(session)
        if handler is None:
            return
        tasks = [asyncio.ensure_future(handler.mqtt_publish(kept.topic, kept.data, min(qos, kept.qos or qos),
                                                            retain=True))
                 for topic, kept in list(self._retained_messages.items())
                 if self._matches(topic, topic_filter) and self.allowed(session, RECEIVE, topic)]
        if tasks:
            await asyncio.wait(tasks)

    async def _handle_disconnect(self, client_session: Session, handler: BrokerProtocolHandler,
                                 disconnect_waiter: asyncio.Future[Any]) -> None:
        """Note a client-initiated DISCONNECT, then end the session as amqtt does."""
        live = self.live.get(client_session.client_id or "")
        if isinstance(disconnect_waiter.result(), DisconnectPacket):
            self._mark(live, lifecycle.CLIENT_INITIATED)
        await super()._handle_disconnect(client_session, handler, disconnect_waiter)

    # -- ending connections -----------------------------------------------------------------------------------
    @staticmethod
    def _mark(live: LiveConnection | None, reason: str) -> None:
        """Record why a connection ends (the first reason wins)."""
        if live is not None and live.reason is None:
            live.reason = reason

    async def disconnect(self, live: LiveConnection, reason: str, at: float | None = None) -> None:
        """Close a live connection for ``reason`` (its session ending at ``at``, or now) and wait until it is gone."""
        self._mark(live, reason)
        if at is not None and live.ended_at is None:
            live.ended_at = at
        await live.writer.close()
        try:
            await asyncio.wait_for(live.done.wait(), KICK_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("connection of %s did not end within %s s", live.client_id, KICK_TIMEOUT)

    async def _ensure_closed(self, session: Session, handler: BrokerProtocolHandler) -> None:
        """Close the connection and mark the session disconnected if the message loop ended without doing so."""
        if session.transitions.is_connected():
            await self._stop_handler(handler)
            session.transitions.disconnect()
        elif handler.writer is not None:
            await handler.writer.close()

    async def _finish(self, live: LiveConnection) -> None:
        """Record the end of a connection's session and announce it."""
        try:
            identity = live.identity
            end = live.ended_at if live.ended_at is not None else self.directory.now(identity.account, identity.region)
            live.ended_at = end
            live.reason = live.reason or lifecycle.CONNECTION_LOST
            if live.handle is not None:
                self.directory.close_session(live.handle, end)
            if self.live.get(live.client_id) is live:
                del self.live[live.client_id]
                lock = self._admission.get(live.client_id)
                if lock is not None and not lock.locked():
                    del self._admission[live.client_id]
            self.disconnects.append({**live.to_dict(), "disconnectedAt": end, "reason": live.reason})
            await self._presence(live, connected=False)
        except Exception:
            log.exception("recording the end of %s failed", live.client_id)
        finally:
            live.done.set()

    async def _presence(self, live: LiveConnection, connected: bool) -> None:
        """Publish the lifecycle event of a connection."""
        if not lifecycle.wants_events(live.client_id):
            return
        principal = live.identity.certificate_id
        if connected:
            topic, payload = lifecycle.connected(live.client_id, principal, live.source_ip, live.session_id,
                                                 live.connected_at)
        else:
            topic, payload = lifecycle.disconnected(live.client_id, principal, live.source_ip, live.session_id,
                                                    live.ended_at or live.connected_at,
                                                    live.reason or lifecycle.CONNECTION_LOST)
        await self._broadcast_message(None, topic, payload)

    # -- registry changes -------------------------------------------------------------------------------------
    async def sweep(self) -> int:
        """Disconnect the connections whose certificate is no longer registered and ACTIVE; return how many."""
        stale = []
        for live in list(self.live.values()):
            try:
                active = self.authenticator.still_active(live.identity)
            except Exception:
                log.exception("status check of %s failed", live.identity.certificate_id)
                continue
            if not active and live.reason is None:
                stale.append(live)
        await asyncio.gather(*(self.disconnect(live, lifecycle.AUTH_ERROR) for live in stale))
        return len(stale)

    async def reset(self) -> None:
        """Disconnect everyone and forget every session, subscription, retained message and learnt certificate."""
        await asyncio.gather(*(self.disconnect(live, lifecycle.SERVER_INITIATED) for live in list(self.live.values())))
        for client_id in list(self._sessions):
            await self._cleanup_session(client_id)
        self._subscriptions.clear()
        self._retained_messages.clear()
        self.refusals.clear()
        self.disconnects.clear()
        self.authenticator.forget_all()
