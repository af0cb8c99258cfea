"""Load generator of the rush benchmark (no Django): students, watchers and closed-loop clients.

Run by bench/rush.py as separate processes: `python bench/rush_load.py SPEC.json`; the spec names the role
and the output file. Times are wall-clock (time.time()) so they compare with the server's timestamps.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import json
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import uvloop

REQUEST_TIMEOUT = 10.0


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Recorder:
    def __init__(self) -> None:
        self.responses: list[tuple[float, float, int, str]] = []  # sent at, latency, status, code
        self.timeouts = 0

    async def call(self, session, method, url, *, headers, body=None):
        sent = time.time()
        try:
            async with session.request(method, url, headers=headers, data=body) as response:
                raw = await response.read()
                latency = time.time() - sent
                try:
                    data = json.loads(raw) if raw[:1] == b"{" else {}
                except ValueError:
                    data = {}
                code = data.get("code", "page" if response.status < 400 else f"http{response.status}")
                self.responses.append((sent, latency, response.status, code))
                room = response.cookies.get("rush_room")
                return response.status, data, (room.value if room is not None else None)
        except TimeoutError:
            self.timeouts += 1
            self.responses.append((sent, time.time() - sent, 0, "timeout"))
            return 0, {"code": "timeout"}, None
        except aiohttp.ClientError as error:
            self.responses.append((sent, time.time() - sent, 0, f"client:{type(error).__name__}"))
            return 0, {"code": "client_error"}, None


async def student(session, rec: Recorder, spec: dict, one: dict, t0: float, results: list) -> None:
    base, seminar = spec["base"], spec["seminar"]
    arrive = t0 + one["offset"]
    await asyncio.sleep(max(arrive - time.time(), 0))
    arrived = time.time()
    cookie = f"rush_pass={one['pass']}"
    headers = {"Host": spec["host"], "Cookie": cookie, "Accept": "text/html"}
    # The link on the student's My Page leads to the page of their rank (cached by the proxy).
    await rec.call(session, "GET", f"{base}{one['page']}", headers=headers)
    slots = list(spec["slots"])
    random.shuffle(slots)
    tried = 0
    room = None
    final, booked = None, None
    deadline = arrived + spec.get("give_up_s", 120)
    while final is None and time.time() < deadline:
        post_headers = {
            "Host": spec["host"],
            "Cookie": cookie + (f"; rush_room={room}" if room else ""),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Requested-With": "rush",
            "Origin": f"http://{spec['host']}",
        }
        status, data, got_room = await rec.call(
            session,
            "POST",
            f"{base}/my/rush/{seminar}/book",
            headers=post_headers,
            body=json.dumps({"slot": slots[tried % len(slots)]}),
        )
        room = got_room or room
        code = data.get("code")
        if code == "booked":
            final, booked = "booked", (data.get("committed_at"), data.get("slot"))
        elif code == "queued":
            while True:
                await asyncio.sleep(float(data.get("poll_after_s", 1.0)))
                status, data, got_room = await rec.call(
                    session,
                    "GET",
                    f"{base}/my/rush/{seminar}/queue",
                    headers={"Host": spec["host"], "Cookie": cookie, "Accept": "application/json"},
                )
                room = got_room or room
                if data.get("code") != "queued" or time.time() > deadline:
                    break
            if data.get("code") == "full":
                final = "full"
            elif data.get("code") not in ("admitted", "queued"):
                if data.get("code") in ("unavailable", "timeout", "client_error"):
                    await asyncio.sleep(1.0)
                else:
                    final = data.get("code") or f"http{status}"
        elif code == "full":
            # Another slot is worth a try only while the answer says one still has a seat for this rank.
            tried += 1
            if not data.get("others") or tried >= len(slots):
                final = "full"
        elif code == "not_open":
            final = "not_open"
        elif code in ("unavailable", "timeout", "client_error"):
            await asyncio.sleep(1.0)
        else:
            final = code or f"http{status}"
    results.append(
        {
            "arrived": arrived,
            "answered": time.time(),
            "final": final or "unanswered",
            "booked": booked,
            "rank": one.get("rank"),
        }
    )


async def run_students(spec: dict) -> dict:
    rec = Recorder()
    results: list[dict] = []
    connector = aiohttp.TCPConnector(limit=spec.get("connections", 400), ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        await asyncio.gather(
            *(student(session, rec, spec, one, spec["t0"], results) for one in spec["students"])
        )
    return {"responses": rec.responses, "timeouts": rec.timeouts, "students": results}


async def run_closed(spec: dict) -> dict:
    """Closed loop: `concurrency` clients send back to back for `seconds`; counts answers by code."""
    rec = Recorder()
    stop_at = spec["start"] + spec["seconds"]
    items = spec["requests"]
    counter = iter(range(10**9))
    connector = aiohttp.TCPConnector(limit=spec["concurrency"], ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        await asyncio.sleep(max(spec["start"] - time.time(), 0))

        async def client() -> None:
            while time.time() < stop_at:
                item = items[next(counter) % len(items)]
                await rec.call(
                    session,
                    item["method"],
                    spec["base"] + item["path"],
                    headers=item["headers"],
                    body=item.get("body"),
                )

        await asyncio.gather(*(client() for _ in range(spec["concurrency"])))
    return {"responses": rec.responses, "timeouts": rec.timeouts}


class WatchProtocol(asyncio.Protocol):
    """One watcher's websocket, read with as little work as a browser tab would do per frame.

    The `websockets` client costs tens of microseconds per frame; with 10,000 sockets on the cores the
    servers run on, the watchers themselves became the slowest part of the measurement. This speaks just
    enough RFC 6455 for the job: the upgrade, unmasked server frames, masked pongs to pings, close.
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


async def run_watchers(spec: dict) -> dict:
    """Hold websockets until `until`; record (as-of, received) of every seats frame per socket."""
    seen: list[list[tuple[float, float]]] = []
    failed = Counter()
    connected = 0
    ready_file = Path(spec["ready_file"])
    loop = asyncio.get_running_loop()

    async def watch(one: dict, index: int) -> None:
        nonlocal connected
        frames: list[tuple[float, float]] = []
        seen.append(frames)
        for attempt in range(5):
            key = base64.b64encode(random.randbytes(16)).decode()
            request = (
                f"GET {spec['path']} HTTP/1.1\r\nHost: {spec['host']}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://{spec['host']}\r\nCookie: rush_pass={one['pass']}\r\n\r\n"
            ).encode()
            done = loop.create_future()
            try:
                transport, protocol = await asyncio.wait_for(
                    loop.create_connection(
                        lambda request=request, done=done: WatchProtocol(frames, request, done),
                        "127.0.0.1",
                        spec["port"],
                    ),
                    30,
                )
                await asyncio.wait_for(protocol.opened, 30)
            except (OSError, TimeoutError) as error:
                failed[type(error).__name__] += 1
                await asyncio.sleep(0.5 + attempt)
                continue
            connected += 1
            try:
                await done
            finally:
                connected -= 1
                transport.close()
            return

    async def report_ready() -> None:
        while time.time() < spec["until"]:
            ready_file.write_text(str(connected))
            await asyncio.sleep(0.5)

    tasks = []
    gap = 1.0 / spec.get("connect_rate", 800)
    reporter = asyncio.create_task(report_ready())
    for index, one in enumerate(spec["watchers"]):
        tasks.append(asyncio.create_task(watch(one, index)))
        await asyncio.sleep(gap)
    stop_file = Path(spec["stop_file"])
    while time.time() < spec["until"] and not stop_file.exists():
        await asyncio.sleep(0.5)
    held = connected  # open until the end, after the rush
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    reporter.cancel()
    return {"frames": seen, "failed": dict(failed), "held": held}


def lag_of(frames_per_watcher: list[list[tuple[float, float]]], commits: list[float]) -> list[float]:
    """For each commit and watcher: received time of the first frame computed after it, minus the commit."""
    lags = []
    for frames in frames_per_watcher:
        ats = [at for at, _ in frames]
        for commit in commits:
            index = bisect.bisect_left(ats, commit)
            lags.append(frames[index][1] - commit if index < len(frames) else float("inf"))
    return lags


def main() -> None:
    _raise_fd_limit()
    spec = json.loads(Path(sys.argv[1]).read_text())
    role = spec["role"]
    runner = {"students": run_students, "closed": run_closed, "watchers": run_watchers}[role]
    result = uvloop.run(runner(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    Path(spec["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
