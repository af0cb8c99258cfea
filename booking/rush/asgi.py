"""The rush path as a lean ASGI application, for uvicorn workers behind the proxy (`/my/rush/` only).

Django's full request cycle (the WSGI worker's pure-Python HTTP parsing, the handler, the middleware chain)
costs more than deciding a seat does. This application parses HTTP in C (uvicorn with httptools) and
decides a booking on the event loop: the headers it needs straight from the ASGI scope (RushRequest), the
company from the host cache, the same checks as booking/rush/views.py, then the same Lua call, sent with the
other calls of the same loop turn in one pipeline (booking/rush/redis_batch.py). Only winners' PostgreSQL
writes go to a small thread pool, batched (booking/rush/persist.py). Everything else — pages, places in
line, Redis trouble — runs the same rush views on threads with Django's full request. Deployments without
the split keep answering /my/rush/ through Django (booking.rush.middleware), with the same code deciding.

Run one process per port and core behind the proxy: `uvicorn booking.rush.asgi:application --port P --loop asyncio
--http httptools --no-access-log --no-proxy-headers` (deploy/stack.py; asyncio's loop accepts the opening
second's new connections at once, uvloop's left them queued for seconds while busy).
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

import django  # noqa: E402

django.setup()

from django.core.exceptions import DisallowedHost  # noqa: E402
from django.core.handlers.asgi import ASGIRequest  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from django.http import HttpResponse, QueryDict  # noqa: E402
from django.http.cookie import parse_cookie  # noqa: E402
from django.http.request import split_domain_port, validate_host  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

# Everything a booking touches, imported now rather than by the first request of the rush on the event loop.
import booking.live  # noqa: E402, F401
import booking.rush.confirm  # noqa: E402, F401
import booking.rush.views  # noqa: E402, F401
import booking.services.bookings  # noqa: E402, F401
from booking.rush.middleware import RushMiddleware  # noqa: E402
from booking.rush.persist import Winner, WinnerBatcher  # noqa: E402
from booking.rush.redis_batch import RedisBatcher  # noqa: E402
from tenants.selectors import tenant_for_host, tenant_for_host_cached  # noqa: E402

THREADS = int(os.environ.get("RUSH_THREADS", "8"))
# The event loop holds the interpreter almost all the time at the opening second; the threads that write
# the winners and compute the seat pushes need it for a moment between their queries. A shorter switch
# interval than the default 5 ms lets them in sooner (measured: pushes reached the watchers 0.3-0.7 s
# sooner at the opening second).
sys.setswitchinterval(float(os.environ.get("RUSH_SWITCH_INTERVAL", "0.001")))
MAX_BODY = 16 * 1024
REDIS_CONNECTIONS = int(os.environ.get("RUSH_REDIS_CONNECTIONS", "16"))

_pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="rush")
# Pages, places in line and health checks never wait behind bookings that are writing to PostgreSQL.
_light = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rush-light")
_rush = RushMiddleware(lambda request: HttpResponse("Not Found", status=404))
_BOOK = re.compile(r"^/my/rush/(\d{1,12})/book$")


def _not_found() -> HttpResponse:
    return HttpResponse("Not Found", status=404, content_type="text/plain; charset=utf-8")


def _returns_connection(function):
    """Pool threads give their database connection back when done: they may not touch it again for a while."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            if connection.connection is not None:
                connection.close()

    return wrapper


@_returns_connection
def handle(request: ASGIRequest) -> HttpResponse:
    """One rush request, on a pool thread: the company from the host, then the same views as under Django."""
    try:
        hostname = request.get_host().split(":")[0]
    except DisallowedHost:
        return _not_found()
    tenant = tenant_for_host(hostname=hostname)
    if tenant is None:
        return _not_found()
    try:
        with schema_context(tenant.schema_name):
            return _rush(request)
    except DatabaseError:
        from booking.rush.answers import answer_unavailable

        return answer_unavailable()


_loading: dict[tuple, asyncio.Future] = {}


async def _once(key: tuple, function, *args, **kwargs):
    """Run `function` on a thread once for everyone asking with the same key meanwhile; its result, or None
    when it failed (the caller then takes the regular way, which reports the failure)."""
    future = _loading.get(key)
    if future is None:
        future = asyncio.get_running_loop().run_in_executor(_light, lambda: function(*args, **kwargs))
        _loading[key] = future
        future.add_done_callback(lambda _: _loading.pop(key, None))
    try:
        return await asyncio.shield(future)
    except Exception:  # noqa: BLE001 - the regular way answers (and logs) the same trouble
        return None


@_returns_connection
def _host_lookup(hostname: str):
    return tenant_for_host(hostname=hostname)


@_returns_connection
def _counters_load(tenant, seminar_id: int) -> None:
    from booking.seatcounter import SeatCounter

    with schema_context(tenant.schema_name):
        SeatCounter(seminar_id=seminar_id, schema=tenant.schema_name).load()


@_returns_connection
def _state_refresh(tenant, seminar_id: int) -> None:
    """Reload a seminar's state on a thread while the event loop keeps answering from the one it has."""
    from booking.rush.state import seminar_state

    try:
        with schema_context(tenant.schema_name):
            seminar_state(seminar_id=seminar_id, fresh=True)
    except DatabaseError:
        pass  # PostgreSQL away: the next request past the expiry asks again


_redis: dict[int, RedisBatcher] = {}
_batchers: dict[int, WinnerBatcher] = {}
_gates: dict[tuple[str, int], object] = {}  # Gate objects (their keys built once), per company and seminar


def _async_gate() -> RedisBatcher:
    """This event loop's batcher of gate calls (redis.asyncio; created on first use)."""
    import redis.asyncio as aioredis
    from django.conf import settings

    from booking.rush.gate import GATE_SCRIPT

    loop_id = id(asyncio.get_running_loop())
    found = _redis.get(loop_id)
    if found is None:
        # A blocking pool: at the peak a batch waits a moment for a connection instead of failing over to
        # the slow way when every connection is busy.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.RUSH_REDIS_URL,
            max_connections=REDIS_CONNECTIONS,
            timeout=1.0,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
        )
        found = _redis[loop_id] = RedisBatcher(aioredis.Redis(connection_pool=pool), script_text=GATE_SCRIPT)
    return found


_META_NAMES = {
    b"host": "HTTP_HOST",
    b"cookie": "HTTP_COOKIE",
    b"origin": "HTTP_ORIGIN",
    b"x-requested-with": "HTTP_X_REQUESTED_WITH",
    b"x-request-start": "HTTP_X_REQUEST_START",
    b"content-type": "CONTENT_TYPE",
}
_hosts_valid: dict[str, bool] = {}


class RushRequest:
    """What the rush views read from a booking request, taken straight from the ASGI scope.

    Building Django's full request (every header into META, the stream, the lazy attributes) cost more than
    deciding the seat; this carries the six headers the decision reads. The host is checked against
    ALLOWED_HOSTS exactly as HttpRequest.get_host() does. The threaded way builds the full request.
    """

    __slots__ = ("method", "META", "COOKIES", "body", "content_type")

    def __init__(self, scope: dict, body: bytes) -> None:
        meta = {}
        for name, value in scope["headers"]:
            key = _META_NAMES.get(name)
            if key is not None:
                meta[key] = value.decode("latin-1")
        self.META = meta
        self.method = scope["method"]
        self.body = body
        self.content_type = meta.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        self.COOKIES = parse_cookie(meta.get("HTTP_COOKIE", ""))

    def get_host(self) -> str:
        host = self.META.get("HTTP_HOST", "")
        valid = _hosts_valid.get(host)
        if valid is None:
            from django.conf import settings

            domain, _port = split_domain_port(host)
            valid = bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)
            if len(_hosts_valid) > 10_000:
                _hosts_valid.clear()
            _hosts_valid[host] = valid
        if not valid:
            raise DisallowedHost(host)
        return host

    @property
    def POST(self) -> QueryDict:
        if self.content_type == "application/x-www-form-urlencoded":
            return QueryDict(self.body, encoding="utf-8")
        return QueryDict()


async def book_fast(request: RushRequest, seminar_id: int, started: float) -> HttpResponse | None:
    """A booking decided on the event loop: checks, then one Redis call; only winners use a thread.

    None means "take the regular way" (something this process has not cached yet, or Redis trouble):
    the thread path then does exactly the same with the database at hand.
    """
    from booking.rush import views
    from booking.rush.gate import CLAIMED, NOT_LOADED, Gate, gate_answer
    from booking.rush.metrics import rate_key
    from booking.rush.state import seminar_state_or_stale
    from booking.seatcounter import REDIS_ERRORS

    try:
        hostname = request.get_host().split(":")[0]
    except DisallowedHost:
        return None
    tenant = tenant_for_host_cached(hostname=hostname)
    if tenant is None:
        # First contact (or the entry expired): one lookup on a thread, every request of the moment waits for it.
        tenant = await _once(("host", hostname), _host_lookup, hostname)
        if tenant is None:
            return None
    schema = tenant.schema_name
    state, refresh = seminar_state_or_stale(schema=schema, seminar_id=seminar_id)
    if state is None:
        await _once(("state", schema, seminar_id), _state_refresh, tenant, seminar_id)
        state, refresh = seminar_state_or_stale(schema=schema, seminar_id=seminar_id)
        if state is None:
            return None
    if refresh:
        asyncio.get_running_loop().run_in_executor(_light, _state_refresh, tenant, seminar_id)
    plan = views.book_plan(request, schema=schema, seminar_id=seminar_id, state_of=lambda _: state)
    batcher = _async_gate()
    if isinstance(plan, tuple):
        response, kind = plan
        if kind:
            batcher.count(rate_key(schema=schema, seminar_id=seminar_id, kind=kind, second=int(time.time())))
        return response
    gate = _gates.get((schema, seminar_id))
    if gate is None:
        if len(_gates) > 5_000:
            _gates.clear()
        gate = _gates[(schema, seminar_id)] = Gate(schema=schema, seminar_id=seminar_id)
    options = {
        "candidate_id": plan.student.candidate_id,
        "issued_at": plan.student.issued_at,
        "quota_ids": plan.quota_ids,
        "mode": state.waiting_room,
        "has_room_pass": plan.has_room_pass,
        "admission_per_second": state.admission_per_second,
        "other_quota_ids": plan.others,
    }
    keys, args = gate.keys_args(**options)
    try:
        answer = gate_answer(await batcher.gate(keys, args))
        if answer.result == NOT_LOADED:
            # The counters are built once from PostgreSQL (one thread; the others wait), then asked again,
            # as the threaded way does.
            await _once(("counters", schema, seminar_id), _counters_load, tenant, seminar_id)
            answer = gate_answer(await batcher.gate(*gate.keys_args(**options)))
    except REDIS_ERRORS:
        return None
    if answer.result == NOT_LOADED:
        return None
    decided_at = time.time()
    response = views.answer_decided(plan, answer)
    if response is None and answer.result == CLAIMED:
        # Winners of the same moment share one transaction (booking/rush/persist.py).
        response = await _batcher().persist(tenant, Winner(gate=gate, plan=plan, quota_id=answer.value))
    if response is None:
        return None
    views.book_finish(
        request,
        plan=plan,
        answer=answer,
        response=response,
        gate=gate,
        started=started,
        decided_at=decided_at,
    )
    return response


def _batcher() -> WinnerBatcher:
    loop_id = id(asyncio.get_running_loop())
    found = _batchers.get(loop_id)
    if found is None:
        found = _batchers[loop_id] = WinnerBatcher(_pool)
    return found


async def _read_body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b""
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _pool.shutdown(wait=False)
                _light.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = await _read_body(receive)
    if body is None:
        return
    started = time.time()
    loop = asyncio.get_running_loop()
    response = None
    booking = _BOOK.match(scope["path"])
    if booking is not None:
        response = await book_fast(RushRequest(scope, body), int(booking[1]), started)
    if response is None:
        executor = _pool if booking is not None else _light
        response = await loop.run_in_executor(executor, handle, ASGIRequest(scope, io.BytesIO(body)))
    headers = [(b"content-type", response["Content-Type"].encode("latin-1"))]
    for name, value in response.items():
        if name.lower() not in ("content-type", "content-length"):
            headers.append((name.encode("latin-1"), str(value).encode("latin-1")))
    for cookie in response.cookies.values():
        headers.append((b"set-cookie", cookie.output(header="").strip().encode("latin-1")))
    content = response.content
    headers.append((b"content-length", str(len(content)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": content})
