"""Constants of the sandbox endpoint that every layer may read (a leaf)."""
from __future__ import annotations

SANDBOX_ACCOUNT = "123456789012"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
INSTANCE_HEADER = "x-sandbox-instance"  # on every API answer, so clients notice a restart on their next call
CONTROLS_VERSION = "1"
