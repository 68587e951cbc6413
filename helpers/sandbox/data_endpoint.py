"""The live MQTT data endpoint of this sandbox process: set when the broker starts, read by DescribeEndpoint
(``iot:Data-ATS``). A leaf module: it imports nothing of the sandbox.

moto's state is per process, so one process answers DescribeEndpoint with one broker: the most recently started
one still running (tests may run a second sandbox in the process for a while).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

MQTT_TLS_PORT = 8883  # AWS IoT Core's MQTT port: DescribeEndpoint names the host alone on it
_lock = threading.Lock()
_live: "list[DataEndpoint]" = []  # oldest first


@dataclass(frozen=True)
class DataEndpoint:
    """Where devices connect (host and port) and the root CA that verifies the broker."""

    host: str
    port: int
    root_ca_pem: str

    @property
    def address(self) -> str:
        """Return the endpoint address as DescribeEndpoint gives it: the host, or ``host:port`` off port 8883."""
        return self.host if self.port == MQTT_TLS_PORT else f"{self.host}:{self.port}"

    def to_dict(self) -> dict[str, object]:
        """Return the ``/_sandbox/iot/data-endpoint`` answer."""
        return {"host": self.host, "port": self.port, "rootCaPem": self.root_ca_pem}


def publish(endpoint: DataEndpoint) -> None:
    """Make ``endpoint`` the live data endpoint."""
    with _lock:
        _live.append(endpoint)


def withdraw(endpoint: DataEndpoint) -> None:
    """Forget ``endpoint`` (its broker stopped); an earlier broker still running becomes the live one again."""
    with _lock:
        if endpoint in _live:
            _live.remove(endpoint)


def current() -> DataEndpoint | None:
    """Return the live data endpoint, or None when no broker runs in this process."""
    with _lock:
        return _live[-1] if _live else None
