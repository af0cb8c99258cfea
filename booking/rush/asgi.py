"""The rush path as a lean ASGI application, for uvicorn workers behind the proxy (`/my/rush/` only).

Django's full request cycle (the WSGI worker's pure-Python HTTP parsing, the handler, the middleware chain)
costs more than deciding a seat does. This application parses HTTP in C (uvicorn with httptools) and runs
the rush pipeline (booking/rush/pipeline.py) on the event loop: `book_on_loop` is its event-loop driver,
the twin of pipeline.book_sync, and `page_on_loop` answers the rush page with pages.page_answer, the
decision pages.seminar_page makes on threads. The request comes straight from the ASGI scope (RushRequest),
the company from the host cache, the seminar from the per-process state; each Redis call goes out with the
other calls of the same loop turn in one pipeline (booking/rush/redis_batch.py), and only winners'
PostgreSQL writes go to a small thread pool, batched (booking/rush/persist.py). Everything else (places in
line, Redis trouble, anything not cached yet) runs the same pipeline on threads with Django's full request
(booking.rush.middleware), as deployments without the split do. One process per port and core behind the
proxy (deploy/layout.py::uvicorn_rush_command: asyncio's loop, which accepts a backlog at once).
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

import django  # noqa: E402

django.setup()

from cachetools import LRUCache  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.exceptions import DisallowedHost  # noqa: E402
from django.core.handlers.asgi import ASGIRequest  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.utils import translation  # noqa: E402
from django_tenants.utils import get_public_schema_name, schema_context  # noqa: E402

# Everything a booking touches, imported now rather than by the first request of the rush on the event loop.
import booking.live  # noqa: E402, F401
import booking.services.bookings  # noqa: E402, F401
import booking.services.confirmations  # noqa: E402, F401
from booking import clients, keys  # noqa: E402
from booking.rush import budgets, pages, passes  # noqa: E402
from booking.rush.answers import answer  # noqa: E402
from booking.rush.gate import GATE_SCRIPT, Gate, gate_answer  # noqa: E402
from booking.rush.middleware import RushMiddleware  # noqa: E402
from booking.rush.outcomes import busy, signed_out, unavailable  # noqa: E402
from booking.rush.passes import StudentPass  # noqa: E402
from booking.rush.persist import Winner, WinnerBatcher  # noqa: E402
from booking.rush.pipeline import Claim, Persist, book_steps, finish  # noqa: E402
from booking.rush.redis_batch import RedisBatcher  # noqa: E402
from booking.rush.refresh import refresh_later, refresh_shutdown  # noqa: E402
from booking.rush.request import RushRequest, body_read, language_of, student_of  # noqa: E402
from booking.rush.state import seminar_state, seminar_state_or_stale  # noqa: E402
from booking.seatcounter import SeatCounter, steps_run_async  # noqa: E402
from booking.services.rush_passes import revoked_after, rush_pass_revoked_in_db  # noqa: E402
from tenants.selectors import tenant_for_host, tenant_for_host_known  # noqa: E402

THREADS = int(os.environ.get("RUSH_THREADS", "8"))
# The event loop holds the interpreter almost all the time at the opening second; the threads that write
# the winners and compute the seat pushes need it for a moment between their queries. A shorter switch
# interval than the default 5 ms lets them in sooner (measured: pushes reached the watchers 0.3-0.7 s
# sooner at the opening second).
sys.setswitchinterval(float(os.environ.get("RUSH_SWITCH_INTERVAL", "0.001")))
REDIS_CONNECTIONS = int(os.environ.get("RUSH_REDIS_CONNECTIONS", "16"))

_pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="rush")
# Pages, places in line and health checks never wait behind bookings that are writing to PostgreSQL.
_light = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rush-light")
_rush = RushMiddleware(lambda request: HttpResponse("Not Found", status=404))
_BOOK = re.compile(r"^/my/rush/(\d{1,12})/book$")
_PAGE = re.compile(r"^/my/rush/(\d{1,12})/$")
# 0 serves the rush page on the threads instead (the benchmark's before/after comparison, bench/rush_pages.py).
PAGES_ON_LOOP = os.environ.get("RUSH_PAGES_ON_LOOP", "1") != "0"


def _not_found() -> HttpResponse:
    return HttpResponse("Not Found", status=404, content_type="text/plain; charset=utf-8")


def _returns_connection(function: Callable[..., Any]) -> Callable[..., Any]:
    """Pool threads give their database connection back when done: they may not touch it again for a while."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            if connection.connection is not None:
                connection.close()

    return wrapper


@_returns_connection
def handle(request: ASGIRequest) -> HttpResponse:
    """One rush request on a pool thread: the company from the host, then the pipeline as under Django."""
    try:
        hostname = request.get_host().split(":")[0]
    except DisallowedHost:
        return _not_found()
    tenant = tenant_for_host(hostname=hostname)
    if tenant is None:
        return _not_found()
    # A company holds at most its share of this pool's threads (and their database connections).
    with budgets.connections.held(tenant.schema_name) as within:
        if not within:
            return answer(busy())
        try:
            with schema_context(tenant.schema_name):
                return _rush(request)
        except DatabaseError:
            return answer(unavailable())


_loading: dict[tuple, asyncio.Future] = {}


async def _once(key: tuple, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
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
def _host_lookup(hostname: str) -> Any:
    return tenant_for_host(hostname=hostname)


@_returns_connection
def _counters_load(tenant: Any, seminar_id: int) -> None:
    with schema_context(tenant.schema_name):
        SeatCounter(seminar_id=seminar_id, schema=tenant.schema_name).load()


@_returns_connection
def _state_refresh(tenant: Any, seminar_id: int) -> None:
    """Reload a seminar's state on a thread while the event loop keeps answering from the one it has."""
    try:
        with schema_context(tenant.schema_name):
            seminar_state(schema=tenant.schema_name, seminar_id=seminar_id, fresh=True)
    except DatabaseError:
        pass  # PostgreSQL away: the next request past the expiry asks again


async def _state_on_loop(tenant: Any, seminar_id: int) -> tuple[Any, bool]:
    """The seminar's state from the process's copy: (state, False), or (None, False) for a seminar known not
    to exist; (None, True) when it could not be loaded (the regular way then answers). A copy past its time
    is used while one refresh runs on a thread."""
    schema = tenant.schema_name
    state, refresh = seminar_state_or_stale(schema=schema, seminar_id=seminar_id)
    if state is None and refresh:
        await _once(("state", schema, seminar_id), _state_refresh, tenant, seminar_id)
        state, refresh = seminar_state_or_stale(schema=schema, seminar_id=seminar_id)
        if state is None and refresh:
            return None, True
    if refresh:
        refresh_later(
            schema=schema, seminar_id=seminar_id, reload=functools.partial(_state_refresh, tenant, seminar_id)
        )
    return state, False


_redis: dict[int, RedisBatcher] = {}
_batchers: dict[int, WinnerBatcher] = {}
# Gate objects (their keys built once), per company and seminar; bounded, least used out first.
_gates: LRUCache[tuple[str, int], Gate] = LRUCache(maxsize=5_000)


def _redis_batcher() -> RedisBatcher:
    """This event loop's batcher of gate calls (created on first use)."""
    loop_id = id(asyncio.get_running_loop())
    found = _redis.get(loop_id)
    if found is None:
        client = clients.gate_client(max_connections=REDIS_CONNECTIONS)
        found = _redis[loop_id] = RedisBatcher(client, script_text=GATE_SCRIPT)
    return found


def _winner_batcher() -> WinnerBatcher:
    loop_id = id(asyncio.get_running_loop())
    found = _batchers.get(loop_id)
    if found is None:
        found = _batchers[loop_id] = WinnerBatcher(_pool)
    return found


def _gate(schema: str, seminar_id: int) -> Gate:
    gate = _gates.get((schema, seminar_id))
    if gate is None:
        gate = _gates[(schema, seminar_id)] = Gate(schema=schema, seminar_id=seminar_id)
    return gate


async def _company(request: RushRequest) -> tuple[HttpResponse | None, Any]:
    """The company of the request's host, from this process's host cache: (None, tenant); (404, None) for a
    host that serves nothing; (None, None) when the regular way must ask (the lookup failed)."""
    try:
        hostname = request.get_host().split(":")[0]
    except DisallowedHost:
        return _not_found(), None
    known, tenant = tenant_for_host_known(hostname=hostname)
    if tenant is None:
        if known:
            return _not_found(), None  # a host known to be missing: answered from memory
        # First contact (or the entry expired): one lookup on a thread, every request of the moment waits for it.
        tenant = await _once(("host", hostname), _host_lookup, hostname)
    return None, tenant


async def book_on_loop(request: RushRequest, *, seminar_id: int, started: float) -> HttpResponse | None:
    """A booking decided on the event loop: the pipeline's steps, performed without blocking the loop.

    None means "take the regular way" (something this process has not cached yet, or Redis trouble): the
    thread path then runs the same steps with the database at hand.
    """
    refused, tenant = await _company(request)
    if tenant is None:
        return refused
    schema = tenant.schema_name
    if not budgets.admission.enter(schema):
        return answer(busy())  # this company's share of the process is taken: at once, nothing asked
    try:
        return await _book_admitted(request, tenant=tenant, seminar_id=seminar_id, started=started)
    finally:
        budgets.admission.leave(schema)


async def _book_admitted(
    request: RushRequest, *, tenant: Any, seminar_id: int, started: float
) -> HttpResponse | None:
    schema = tenant.schema_name
    if student_of(request, schema=schema) is None:
        # No valid pass: answered before anything about the seminar is looked up.
        return answer(signed_out())
    state, unloaded = await _state_on_loop(tenant, seminar_id)
    if unloaded:
        return None
    redis_batcher = _redis_batcher()
    gate = _gate(schema, seminar_id)

    async def perform(op: Any) -> Any:
        if isinstance(op, Claim):
            return gate_answer(await redis_batcher.gate(*gate.keys_args(**op.options)))
        if isinstance(op, Persist):
            # Winners of the same moment share one transaction (booking/rush/persist.py).
            return await _winner_batcher().persist(
                tenant, Winner(gate=gate, plan=op.plan, quota_id=op.quota_id)
            )
        # The counters are built once from PostgreSQL (one thread; the others wait), then asked again.
        return await _once(("counters", schema, seminar_id), _counters_load, tenant, seminar_id)

    try:
        decided = await steps_run_async(
            book_steps(request, schema=schema, seminar_id=seminar_id, state_of=lambda: state), perform
        )
    except clients.REDIS_ERRORS:
        return None
    if decided.outcome is None:
        return None

    def count(kind: str) -> None:
        redis_batcher.count(
            keys.rate_key(schema=schema, seminar_id=seminar_id, kind=kind, second=int(time.time()))
        )

    return finish(request, decided, gate=gate, started=started, count=count)


async def page_on_loop(request: RushRequest, *, seminar_id: int) -> HttpResponse | None:
    """The rush page answered on the event loop with pages.page_answer, the decision the thread path makes.

    The pass is read in memory, its revocation asked in this loop turn's Redis pipeline (PostgreSQL on a
    thread when Redis is away), the seminar and the company come from the process's copies and the page
    body from its LRU. None means "take the regular way" (not cached yet, or PostgreSQL trouble).
    """
    refused, tenant = await _company(request)
    if tenant is None:
        return refused
    schema = tenant.schema_name
    if schema == get_public_schema_name():
        return _not_found()
    if not budgets.admission.enter(schema):
        return answer(busy())
    try:
        return await _page_admitted(request, tenant=tenant, seminar_id=seminar_id)
    finally:
        budgets.admission.leave(schema)


async def _page_admitted(request: RushRequest, *, tenant: Any, seminar_id: int) -> HttpResponse | None:
    student = student_of(request, schema=tenant.schema_name)
    if student is None:
        return pages.page_answer(seminar_id=seminar_id, student=None, revoked=False, state=None)
    revoked = await _revoked(tenant, student)
    if revoked is None:
        return None
    state = None
    language = translation.get_language() or settings.LANGUAGE_CODE
    if not revoked:
        state, unloaded = await _state_on_loop(tenant, seminar_id)
        if unloaded:
            return None
        if (
            state is not None
            and state.open_to(student)
            and pages.page_body_cached(state=state, rank=student.rank, language=language) is None
        ):
            # Rendered once on a thread for everyone asking for this page meanwhile.
            key = ("page", state.schema, seminar_id, student.rank, state.version, language)
            if await _once(key, pages.page_body, state=state, rank=student.rank, language=language) is None:
                return None
    return pages.page_answer(
        seminar_id=seminar_id,
        student=student,
        revoked=revoked,
        state=state,
        view=request.COOKIES.get(passes.VIEW_COOKIE),
    )


async def _revoked(tenant: Any, student: StudentPass) -> bool | None:
    """Whether the pass was revoked since it was issued (None: PostgreSQL could not say either)."""
    key = keys.revoked_key(schema=tenant.schema_name)
    try:
        found = await _redis_batcher().call("HGET", key, str(student.candidate_id))
    except clients.REDIS_ERRORS:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_light, _revoked_in_db, tenant, student)
        except DatabaseError:
            return None
    return revoked_after(found, issued_at=student.issued_at)


@_returns_connection
def _revoked_in_db(tenant: Any, student: StudentPass) -> bool:
    with schema_context(tenant.schema_name):
        return rush_pass_revoked_in_db(candidate_id=student.candidate_id, issued_at=student.issued_at)


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Before the first connection is accepted (uvicorn binds after the startup completes).
                pages.pages_warm_up()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _pool.shutdown(wait=False)
                _light.shutdown(wait=False)
                refresh_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = await body_read(receive)
    if body is None:
        return
    started = time.time()
    loop = asyncio.get_running_loop()
    response: HttpResponse | None = None
    booking = _BOOK.match(scope["path"])
    if booking is not None:
        request = RushRequest(scope, body)
        with translation.override(language_of(request)):  # this task's own language (a context variable)
            response = await book_on_loop(request, seminar_id=int(booking[1]), started=started)
    elif PAGES_ON_LOOP and scope["method"] == "GET" and (page := _PAGE.match(scope["path"])) is not None:
        request = RushRequest(scope, body)
        with translation.override(language_of(request)):
            response = await page_on_loop(request, seminar_id=int(page[1]))
    if response is None:
        executor = _pool if booking is not None else _light
        response = await loop.run_in_executor(executor, handle, ASGIRequest(scope, io.BytesIO(body)))
    assert response is not None
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
