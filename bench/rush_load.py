"""Load generator of the rush benchmark (no Django): students, watchers and closed-loop clients.

Run by bench/rush.py as separate processes: `python bench/rush_load.py SPEC.json`; the spec names the role
and the output file. Times are wall-clock (time.time()) so they compare with the server's timestamps.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import functools
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.rush_client import ClientError, ClientTimeout, HttpPool, WatchProtocol  # noqa: E402

# An answer slower than this counts as a timeout. The student's page keeps waiting for it, as a browser's
# fetch does (no duplicate sent meanwhile), and gives up only after REQUEST_GIVE_UP seconds.
REQUEST_TIMEOUT = 10.0
REQUEST_GIVE_UP = 60.0
BUSY_WAIT_MOST = 8.0


def retry_delay(data: dict, in_row: int) -> float:
    """As the rush page's script waits after a "busy" or "unavailable" answer (static/booking/rushbook.js::
    retryDelay): the answer's Retry-After (else 2 s busy, 3 s unavailable), doubled for each such answer in
    a row up to BUSY_WAIT_MOST, a quarter more or less at random. A timeout or a broken connection waits a
    second."""
    code = data.get("code")
    if code not in ("busy", "unavailable"):
        return 1.0
    base = data.get("retry_after") or (2.0 if code == "busy" else 3.0)
    return min(base * 2**in_row, BUSY_WAIT_MOST) * random.uniform(0.75, 1.25)


def _priority_set() -> None:
    """BENCH_LOAD_NICE=-10 runs the load processes ahead of the servers on the shared cores, as phones
    with their own CPUs would be: the figures then time the servers, not the generator's wait for a core.
    Lowering a nice value needs root; without it the processes keep the default."""
    nice = os.environ.get("BENCH_LOAD_NICE")
    if nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, int(nice))
        except PermissionError:
            pass


@functools.cache
def booking_body(slot: int) -> str:
    """The page's booking body for a slot, encoded once (json.dumps per request was a sixth of a
    load process's profile samples at 100,000 students)."""
    return json.dumps({"slot": slot})


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Recorder:
    def __init__(self) -> None:
        self.responses: list[tuple[float, float, int, str]] = []  # sent at, latency, status, code
        self.timeouts = 0

    def add(self, sent: float, latency: float, status: int, code: str, tag) -> None:
        self.responses.append(
            (sent, latency, status, code) if tag is None else (sent, latency, status, code, tag)
        )

    async def call(self, pool: HttpPool, method, path, *, headers, body=None, tag=None):
        """Latency counts from when the student wants to send, waiting for a connection included.

        With a `tag` (the student's company, in the fleet benchmark) the response carries it last."""
        sent = time.time()
        try:
            status, raw, cookies, retry_after = await pool.request(
                method, path, headers=headers, body=body.encode() if body else None, timeout=REQUEST_GIVE_UP
            )
        except ClientTimeout:
            self.timeouts += 1
            self.add(sent, time.time() - sent, 0, "timeout", tag)
            return 0, {"code": "timeout"}, None
        except (ClientError, OSError) as error:
            self.add(sent, time.time() - sent, 0, f"client:{type(error).__name__}", tag)
            return 0, {"code": "client_error"}, None
        latency = time.time() - sent
        if latency > REQUEST_TIMEOUT:
            self.timeouts += 1  # answered, but later than a student waits
        try:
            data = json.loads(raw) if raw[:1] == b"{" else {}
        except ValueError:
            data = {}
        code = data.get("code", "page" if status < 400 else f"http{status}")
        self.add(sent, latency, status, code, tag)
        if retry_after is not None:
            data["retry_after"] = retry_after  # the page's script reads the header the same way
        return status, data, cookies


def pool_for(base: str, limit: int) -> HttpPool:
    host, port = urlsplit(base).hostname, urlsplit(base).port
    return HttpPool(host=host, port=port, limit=limit)


async def student(session: HttpPool, rec: Recorder, spec: dict, one: dict, t0: float, results: list) -> None:
    # The fleet benchmark's students name their own company (host, seminar, slots) and carry it as a tag.
    spec = {**spec, **one["at"]} if "at" in one else spec
    tag = one.get("tag")
    seminar = spec["seminar"]
    arrive = t0 + one["offset"]
    await asyncio.sleep(max(arrive - time.time(), 0))
    arrived = time.time()
    # The browser's rush cookies: the pass, and the view token the proxy keys its copy of the page on.
    cookie = f"rush_pass={one['pass']}" + (f"; rush_view={one['view']}" if one.get("view") else "")
    headers = {"Host": spec["host"], "Cookie": cookie, "Accept": "text/html"}
    # The link on the student's My Page leads to the rush page (the rank's page, for a valid pass only).
    await rec.call(session, "GET", one["page"], headers=headers, tag=tag)
    slots = list(spec["slots"])
    random.shuffle(slots)
    tried = 0
    room = None
    place = None  # the proxy's place in line (its cookie), sent with every booking until the answer
    final, booked = None, None
    ticket = None  # the place in line the waiting room gave (its order is the admission order)
    entered = None  # when the rush path first took the student in: a decision or a place in line
    busy_row = 0  # "busy" / "unavailable" answers in a row (each waits longer, as the page's script does)
    deadline = arrived + spec.get("give_up_s", 120)
    while final is None and time.time() < deadline:
        post_headers = {
            "Host": spec["host"],
            "Cookie": cookie
            + (f"; rush_room={room}" if room else "")
            + (f"; rush_line={place}" if place else ""),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-Requested-With": "rush",
            "Origin": f"http://{spec['host']}",
        }
        status, data, got = await rec.call(
            session,
            "POST",
            f"/my/rush/{seminar}/book",
            headers=post_headers,
            body=booking_body(slots[tried % len(slots)]),
            tag=tag,
        )
        room = (got or {}).get("rush_room") or room
        place = (got or {}).get("rush_line") or place
        code = data.get("code")
        if code not in ("unavailable", "busy", "timeout", "client_error"):
            busy_row = 0
            entered = entered or time.time()
        if code == "booked":
            final, booked = "booked", (data.get("committed_at"), data.get("slot"))
        elif code == "queued":
            ticket = ticket or data.get("ticket")
            while True:
                await asyncio.sleep(float(data.get("poll_after_s", 1.0)))
                status, data, got = await rec.call(
                    session,
                    "GET",
                    f"/my/rush/{seminar}/queue",
                    headers={"Host": spec["host"], "Cookie": cookie, "Accept": "application/json"},
                    tag=tag,
                )
                room = (got or {}).get("rush_room") or room
                if data.get("code") != "queued" or time.time() > deadline:
                    break
            if data.get("code") == "full":
                final = "full"
            elif data.get("code") not in ("admitted", "queued"):
                if data.get("code") in ("unavailable", "busy", "timeout", "client_error"):
                    await asyncio.sleep(retry_delay(data, busy_row))
                    busy_row += data["code"] in ("unavailable", "busy")
                else:
                    final = data.get("code") or f"http{status}"
        elif code == "line":
            # A place in the proxy's line: the same booking again when it is due, as the page's script does.
            ticket = ticket or data.get("ticket")
            await asyncio.sleep(float(data.get("retry_after") or 1) * random.uniform(0.9, 1.1))
        elif code == "full":
            # Another slot is worth a try only while the answer says one still has a seat for this rank.
            tried += 1
            if not data.get("others") or tried >= len(slots):
                final = "full"
        elif code == "not_open":
            final = "not_open"
        elif code in ("unavailable", "busy", "timeout", "client_error"):
            await asyncio.sleep(retry_delay(data, busy_row))
            busy_row += code in ("unavailable", "busy")
        else:
            final = code or f"http{status}"
    results.append(
        {
            "arrived": arrived,
            "answered": time.time(),
            "final": final or "unanswered",
            "booked": booked,
            "rank": one.get("rank"),
            "tag": tag,
            "ticket": ticket,
            "entered": entered,
        }
    )


async def run_students(spec: dict) -> dict:
    rec = Recorder()
    results: list[dict] = []
    session = pool_for(spec["base"], spec.get("connections", 400))
    await asyncio.gather(*(student(session, rec, spec, one, spec["t0"], results) for one in spec["students"]))
    return {
        "responses": rec.responses,
        "timeouts": rec.timeouts,
        "students": results,
        "pool_waits": session.waits,
    }


async def run_closed(spec: dict) -> dict:
    """Closed loop: `concurrency` clients send back to back for `seconds`; counts answers by code."""
    rec = Recorder()
    stop_at = spec["start"] + spec["seconds"]
    items = spec["requests"]
    counter = iter(range(10**9))
    session = pool_for(spec["base"], spec["concurrency"])
    await asyncio.sleep(max(spec["start"] - time.time(), 0))

    async def client() -> None:
        while time.time() < stop_at:
            item = items[next(counter) % len(items)]
            await rec.call(
                session, item["method"], item["path"], headers=item["headers"], body=item.get("body")
            )

    await asyncio.gather(*(client() for _ in range(spec["concurrency"])))
    return {"responses": rec.responses, "timeouts": rec.timeouts}


async def run_watchers(spec: dict) -> dict:
    """Hold websockets until `until`; record (as-of, received) of every seats frame per socket.

    At the stop every socket is closed and every watcher's `done` resolved before the tasks are cancelled:
    Python 3.11's asyncio.wait_for can swallow a cancellation (when the awaited thing completes at the same
    moment), and a watcher then left awaiting `done` on a quiet socket kept the process alive forever.
    """
    seen: list[list[tuple[float, float]]] = []
    failed = Counter()
    connected = 0
    stopping = False
    transports: set[asyncio.BaseTransport] = set()
    dones: set[asyncio.Future] = set()
    ready_file = Path(spec["ready_file"])
    loop = asyncio.get_running_loop()

    async def watch(one: dict, index: int) -> None:
        nonlocal connected
        frames: list[tuple[float, float]] = []
        seen.append(frames)
        for attempt in range(5):
            if stopping:
                return
            key = base64.b64encode(random.randbytes(16)).decode()
            # The fleet benchmark's watchers name their own company (host) and seminar (path).
            host, path = one.get("host", spec.get("host")), one.get("path", spec.get("path"))
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://{host}\r\nCookie: rush_pass={one['pass']}\r\n\r\n"
            ).encode()
            done = loop.create_future()
            dones.add(done)
            transport = None
            try:
                transport, protocol = await asyncio.wait_for(
                    loop.create_connection(
                        lambda request=request, done=done: WatchProtocol(frames, request, done),
                        "127.0.0.1",
                        spec["port"],
                    ),
                    30,
                )
                transports.add(transport)
                if stopping:  # the stop came while connecting (and its cancellation may have been lost)
                    return
                await asyncio.wait_for(protocol.opened, 30)
            except (OSError, TimeoutError) as error:
                failed[type(error).__name__] += 1
                if transport is not None:
                    transport.close()
                await asyncio.sleep(0.5 + attempt)
                continue
            finally:
                if stopping and transport is not None:
                    transport.close()
            if stopping:
                return
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
    stop_file = Path(spec["stop_file"])
    for index, one in enumerate(spec["watchers"]):
        if time.time() >= spec["until"] or stop_file.exists():
            break
        tasks.append(asyncio.create_task(watch(one, index)))
        await asyncio.sleep(gap)
    while time.time() < spec["until"] and not stop_file.exists():
        await asyncio.sleep(0.5)
    held = connected  # open until the end, after the rush
    stopping = True
    for done in dones:
        if not done.done():
            done.set_result(None)
    for transport in transports:
        transport.close()
    for task in (*tasks, reporter):
        task.cancel()
    # Every task ends by itself now (a connect under way within its 30 s timeout); never wait forever.
    if tasks:
        _, stuck = await asyncio.wait(tasks, timeout=40)
        if stuck:
            print(f"rush_load: {len(stuck)} watchers did not stop", file=sys.stderr)
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
    _priority_set()
    spec = json.loads(Path(sys.argv[1]).read_text())
    role = spec["role"]
    runner = {"students": run_students, "closed": run_closed, "watchers": run_watchers}[role]
    result = uvloop.run(runner(spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    Path(spec["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
