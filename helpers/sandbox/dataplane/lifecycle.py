"""AWS IoT Core's lifecycle events: what the broker publishes when a client connects or disconnects
(https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html). Subscribers need iot:Subscribe on
``topicfilter/$aws/events/presence/...`` and iot:Receive on ``topic/$aws/events/presence/...``, as in AWS.
"""
from __future__ import annotations

import json
import uuid

CONNECTED = "$aws/events/presence/connected/"
DISCONNECTED = "$aws/events/presence/disconnected/"
RESERVED_PREFIX = "$aws/events/"  # published by the broker only

# disconnect reasons AWS documents (the subset the sandbox produces)
CLIENT_INITIATED = "CLIENT_INITIATED_DISCONNECT"
CONNECTION_LOST = "CONNECTION_LOST"
DUPLICATE_CLIENTID = "DUPLICATE_CLIENTID"
AUTH_ERROR = "AUTH_ERROR"
CLIENT_ERROR = "CLIENT_ERROR"
SERVER_INITIATED = "SERVER_INITIATED_DISCONNECT"


def wants_events(client_id: str) -> bool:
    """Return False for client ids AWS sends no lifecycle events for (those containing ``#`` or ``+``)."""
    return "#" not in client_id and "+" not in client_id


def new_session_id() -> str:
    """Return a new session identifier."""
    return str(uuid.uuid4())


def connected(client_id: str, principal: str, ip: str, session_id: str, at: float) -> tuple[str, bytes]:
    """Return the topic and payload of a connected event."""
    body = {"clientId": client_id, "timestamp": int(at * 1000), "eventType": "connected",
            "sessionIdentifier": session_id, "principalIdentifier": principal, "ipAddress": ip, "versionNumber": 0}
    return CONNECTED + client_id, json.dumps(body).encode()


def disconnected(client_id: str, principal: str, ip: str, session_id: str, at: float, reason: str) -> tuple[str, bytes]:
    """Return the topic and payload of a disconnected event."""
    body = {"clientId": client_id, "timestamp": int(at * 1000), "eventType": "disconnected",
            "clientInitiatedDisconnect": reason == CLIENT_INITIATED, "sessionIdentifier": session_id,
            "principalIdentifier": principal, "ipAddress": ip, "disconnectReason": reason, "versionNumber": 0}
    return DISCONNECTED + client_id, json.dumps(body).encode()
