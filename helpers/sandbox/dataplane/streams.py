"""amqtt's stream adapters with the limits a public-facing broker needs: the first packet must be CONNECT, no packet
may be longer than the limit (it would be buffered whole), and closing a connection never waits on a client that
does not read."""
from __future__ import annotations

import asyncio

from amqtt.adapters import StreamReaderAdapter, StreamWriterAdapter

CONNECT_FIRST_BYTE = 0x10  # CONNECT, flags 0 [MQTT-3.1.0-1, MQTT-3.1.2-3]
CLOSE_TIMEOUT = 1.0


class RefusedPacket(Exception):
    """A packet the broker refuses to read: not CONNECT first, or over the size limit."""


class BoundedReader(StreamReaderAdapter):
    """Reads MQTT from a stream, refusing a first packet other than CONNECT and any packet over ``limit`` bytes."""

    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        super().__init__(reader)
        self.limit = limit
        self._header: bytearray | None = bytearray()  # the first packet's fixed header, until it is checked

    async def read(self, n: int = -1) -> bytes:
        """Return exactly ``n`` bytes, refusing what the limits forbid."""
        if n < 0 or n > self.limit:
            raise RefusedPacket(f"a packet of {n} bytes is over the {self.limit}-byte limit")
        data = await super().read(n)
        if self._header is not None:
            self._check_first_header(data)
        return data

    def _check_first_header(self, data: bytes) -> None:
        """Refuse a first packet that is not CONNECT, or whose announced length is over the limit (amqtt reads a
        CONNECT field by field, so the length would otherwise only show as a client that never finishes)."""
        assert self._header is not None
        for byte in data:
            self._header.append(byte)
            if len(self._header) == 1:
                if byte != CONNECT_FIRST_BYTE:
                    raise RefusedPacket(f"the first packet is not CONNECT (first byte {byte:#04x})")
            elif byte < 0x80 or len(self._header) == 5:  # the last byte of the remaining length
                length = sum((b & 0x7F) << (7 * i) for i, b in enumerate(self._header[1:]))
                if byte >= 0x80 or length > self.limit:
                    raise RefusedPacket(f"a CONNECT of {length} bytes is over the {self.limit}-byte limit")
                self._header = None
                return


class ClosingWriter(StreamWriterAdapter):
    """Writes MQTT to a stream; closing gives the client CLOSE_TIMEOUT seconds to take pending data, then aborts."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        super().__init__(writer)
        self.stream = writer

    async def close(self) -> None:
        """Close the connection, aborting it when the client does not take pending data in time."""
        try:
            await asyncio.wait_for(super().close(), CLOSE_TIMEOUT)
        except (asyncio.TimeoutError, OSError):
            pass
        finally:
            self.stream.transport.abort()
