"""uvicorn's httptools protocol, writing each response in one piece.

uvicorn writes a response's status line and headers as soon as the app sends `http.response.start`,
and the body when it sends `http.response.body`: two socket writes, two TCP segments, and a client
that may wake up twice, for every 200-byte heartbeat answer. Here the connection's writes made in one
pass of the event loop are joined and written once at the end of that pass (`call_soon`), so a
response sent start-then-body without waiting in between leaves in one write. Nothing else changes:
the same parser, the same ASGI messages, the same flow control (the real transport still pauses the
protocol when its buffer is full; what is held here is at most one loop pass of data), and a
connection closed by the server still sends everything written before the close.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _JoinedWrites:
    """A transport whose writes within one event-loop pass go out as one write."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(bytes(data))

    def writelines(self, chunks) -> None:
        for chunk in chunks:
            self.write(chunk)

    def _flush(self) -> None:
        if self._pending:
            data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(c) for c in self._pending)

    def __getattr__(self, name):  # is_closing, get_extra_info, pause_reading, resume_reading, abort, ...
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """`hntht-collector serve` passes this to uvicorn as its HTTP protocol."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_JoinedWrites(transport, self.loop))
