"""uvicorn's HTTP protocol for the rush processes: a response's head and body leave in one send.

uvicorn (httptools) writes the head when the application starts its response and the body when it sends
it: two sends per answer, each a trip through the kernel and a wake-up of the proxy's reader. The rush
application always sends both in the same event-loop turn, so the writes of one turn are joined and sent
together at the end of it. Run with `uvicorn --http booking.rush.http:RushHttpProtocol`
(deploy/layout.py::uvicorn_rush_command).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class OneSendPerTurn:
    """A transport whose writes of one event-loop turn are sent as one; everything else is the transport's."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = [data]
            self._loop.call_soon(self._flush)
        else:
            self._held.append(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self._flush()  # what was written before the close still goes, as with the plain transport
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RushHttpProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(OneSendPerTurn(transport, self.loop))  # type: ignore[arg-type]
