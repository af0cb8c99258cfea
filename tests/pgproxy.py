"""A TCP proxy in front of the test PostgreSQL that can make it go away and come back, as a server sees it.

`cut()` closes every proxied connection and stops listening (new connections are refused, as with a
stopped PostgreSQL); `restore()` listens again on the same port. `cut_on(pattern)` arms a cut that fires
the moment a client sends bytes containing `pattern` (e.g. an INSERT), before they reach PostgreSQL: the
database goes away exactly in the middle of a request. With from_server=True it fires on PostgreSQL's
answer instead (e.g. b"COMMIT\x00": the commit happened, the app never hears of it).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from saas.processes import free_port


class PgProxy:
    def __init__(self, *, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.cuts = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pgproxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._trigger: tuple[bytes, bool] | None = None
        self.triggered = threading.Event()

    # Thread-safe API for the test -------------------------------------------------------------

    def start(self) -> PgProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def cut_on(self, pattern: bytes, *, from_server: bool = False) -> None:
        """Cut as soon as a client (or, from_server, PostgreSQL) sends `pattern`; those bytes never arrive."""
        self.triggered.clear()
        self._loop.call_soon_threadsafe(setattr, self, "_trigger", (pattern, from_server))

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self._cut())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
        self._loop.close()

    def url(self, *, user: str, name: str) -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{name}"

    # Inside the proxy's event loop --------------------------------------------------------------

    def _call(self, coroutine) -> None:
        future: Future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        future.result(10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        self.cuts += 1
        self._trigger = None
        if self._server is not None:
            self._server.close()
            self._server = None
        for transport in list(self._transports):
            transport.abort()
        self._transports.clear()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            client_writer.transport.abort()
            return
        if self._server is None:  # cut while connecting upstream
            client_writer.transport.abort()
            upstream_writer.transport.abort()
            return
        self._transports |= {client_writer.transport, upstream_writer.transport}
        await asyncio.gather(
            self._pipe(client_reader, upstream_writer, from_server=False),
            self._pipe(upstream_reader, client_writer, from_server=True),
        )
        self._transports.discard(client_writer.transport)
        self._transports.discard(upstream_writer.transport)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, from_server: bool
    ) -> None:
        tail = b""
        try:
            while data := await reader.read(65536):
                if self._trigger is not None and self._trigger[1] == from_server:
                    pattern = self._trigger[0]
                    # Keep the end of the previous chunk: a pattern split across two reads still matches.
                    if pattern in tail + data:
                        self.triggered.set()
                        await self._cut()
                        return
                    tail = data[-len(pattern) :]
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()
