"""Lean clients for the rush benchmark: HTTP/1.1 keep-alive and websocket watchers on raw asyncio protocols.

The load generator shares the two cores with the servers it measures. aiohttp and `websockets` spend tens
to hundreds of microseconds of Python per request or frame; at 40,000 requests and 10,000 sockets that
was more CPU than the servers used, and the figures described the generator. These speak just enough of
each protocol for the job (HTTP responses parsed by httptools, the C parser uvicorn uses).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque

import httptools


class ClientTimeout(Exception):
    pass


class ClientError(Exception):
    pass


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future | None = None
        self.status = 0
        self.body: list[bytes] = []
        self.cookies: dict[str, str] = {}
        self.retry_after: float | None = None
        self.reusable = False
        self.closed = False
        self._header_name = b""

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ClientError(f"bad response: {error}"))

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._fail(ClientError("connection closed"))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"set-cookie":
            pair = value.split(b";", 1)[0]
            key, _, cookie = pair.partition(b"=")
            self.cookies[key.strip().decode()] = cookie.strip().decode()
        elif name == b"retry-after" and value.isdigit():
            self.retry_after = float(value)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.reusable = self.parser.should_keep_alive()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.status, b"".join(self.body), self.cookies, self.retry_after))

    def _fail(self, error: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(error)

    def send(self, data: bytes) -> asyncio.Future:
        self.body, self.cookies, self.retry_after = [], {}, None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class HttpPool:
    """Keep-alive connections to one server, at most `limit` open (0: no limit); waiters served in order."""

    def __init__(self, *, host: str, port: int, limit: int = 0) -> None:
        self.host, self.port, self.limit = host, port, limit
        self.idle: list[_Connection] = []
        self.open = 0
        self.waiting: deque[asyncio.Future] = deque()
        # Seconds each request that found no idle connection waited for one (the generator's own queue,
        # not the server's: reported apart so the two are never confused).
        self.waits: list[float] = []

    async def _acquire(self, timeout: float) -> _Connection:
        """A connection within `timeout`: an idle one, a new one below the limit, or the next one released.

        A waiter that gives up is marked done (ClientTimeout) before anyone can hand it a connection, so a
        connection is never handed to a request that has left: asyncio.wait_for around the wait lost the
        connection when the hand-over and the timeout met, and at thousands of timeouts the leaked count
        filled the pool while no connection was open (every later request waited its full timeout)."""
        connection = self._idle_take()
        if connection is not None:
            return connection
        loop = asyncio.get_running_loop()
        if self.limit and self.open >= self.limit:
            future = loop.create_future()
            self.waiting.append(future)
            timer = loop.call_later(timeout, _expire, future)
            try:
                return await future
            finally:
                timer.cancel()
        self.open += 1
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, self.host, self.port), timeout
            )
        except TimeoutError as error:
            self.open -= 1
            raise ClientTimeout() from error
        except BaseException:
            self.open -= 1
            raise
        return connection

    def _release(self, connection: _Connection, *, reuse: bool) -> None:
        if not reuse or connection.closed:
            connection.close()
            self.open -= 1
            while self.waiting and self.waiting[0].done():
                self.waiting.popleft()  # timed out meanwhile: no connection opened for it
            if self.waiting:
                # A slot freed: the next waiter opens a connection of its own.
                future = self.waiting.popleft()
                self.open += 1
                asyncio.ensure_future(self._open_for(future))
            return
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(connection)
                return
        self.idle.append(connection)

    async def _open_for(self, future: asyncio.Future) -> None:
        try:
            _, connection = await asyncio.get_running_loop().create_connection(
                _Connection, self.host, self.port
            )
        except OSError as error:
            self.open -= 1
            if not future.done():
                future.set_exception(error)
            return
        if future.done():
            self._release(connection, reuse=True)
        else:
            future.set_result(connection)

    def _idle_take(self) -> _Connection | None:
        while self.idle:
            connection = self.idle.pop()
            if not connection.closed:
                return connection
            self.open -= 1
        return None

    async def request(
        self, method: str, path: str, *, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> tuple[int, bytes, dict[str, str], float | None]:
        """(status, body, cookies set, Retry-After seconds) or ClientTimeout / ClientError / OSError.

        An idle connection is taken at once and the answer awaited with one timer: asyncio.wait_for wraps
        each await in a task of its own, which cost the generator more CPU than parsing the answer, on the
        cores the servers it measures run on."""
        lines = [f"{method} {path} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        deadline = time.monotonic() + timeout
        connection = self._idle_take()
        if connection is None:
            began = time.monotonic()
            try:
                connection = await self._acquire(timeout)
            finally:
                self.waits.append(time.monotonic() - began)
        waiter = connection.send(data)
        timer = asyncio.get_running_loop().call_later(
            max(deadline - time.monotonic(), 0.001), _expire, waiter
        )
        try:
            answer = await waiter
        except (ClientTimeout, ClientError):
            self._release(connection, reuse=False)
            raise
        finally:
            timer.cancel()
        self._release(connection, reuse=connection.reusable)
        return answer


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(ClientTimeout())


class WatchProtocol(asyncio.Protocol):
    """One watcher's websocket, read with as little work as a browser tab would do per frame.

    Just enough RFC 6455: the upgrade, unmasked server frames, masked pongs to pings, close. Each text frame
    that carries `"at": <time>` is recorded as (that time, received at).
    """

    def __init__(self, frames: list[tuple[float, float]], request: bytes, done: asyncio.Future) -> None:
        self.frames = frames
        self.request = request
        self.done = done
        self.opened: asyncio.Future = asyncio.get_running_loop().create_future()
        self.buffer = b""
        self.upgraded = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            if not head.startswith(b"HTTP/1.1 101"):
                self._finish(ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace")))
                return
            self.upgraded = True
            if not self.opened.done():
                self.opened.set_result(True)
        buffer = self.buffer
        while len(buffer) >= 2:
            opcode, length, offset = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    break
                length, offset = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                if len(buffer) < 10:
                    break
                length, offset = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < offset + length:
                break
            payload, buffer = buffer[offset : offset + length], buffer[offset + length :]
            if opcode == 1:
                at = payload.rfind(b'"at": ')
                if at >= 0:
                    self.frames.append((float(payload[at + 6 : payload.rindex(b"}")]), time.time()))
            elif opcode == 9:
                self._send(0xA, payload)
            elif opcode == 8:
                self._send(0x8, payload[:2])
                self._finish(None)
                return
        self.buffer = buffer

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = random.randbytes(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def connection_lost(self, exc) -> None:
        self._finish(exc)

    def _finish(self, error) -> None:
        if not self.opened.done():
            self.opened.set_exception(error or ConnectionError("closed before the upgrade"))
        if not self.done.done():
            self.done.set_result(error)
        if self.transport is not None:
            self.transport.close()
