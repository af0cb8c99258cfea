"""The rush pipeline on the rush workers' event loop: its driver `book_on_loop`, the rush page
(`page_on_loop`) and the waiting room's answer (`queue_on_loop`), with what they share.

`book_on_loop` is the event-loop twin of pipeline.book_sync: the same steps (booking/rush/pipeline.py), each
Redis call sent with the other calls of the same loop turn in one pipeline (booking/rush/redis_batch.py),
only winners' PostgreSQL writes on a small thread pool, batched (booking/rush/persist.py). The company comes
from the host cache, the seminar from the per-process state; anything not cached yet is loaded once on a
thread for everyone asking meanwhile (`_once`). None from a driver means "take the regular way": the
thread path of booking/rush/asgi.py runs the same pipeline with Django's full request.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cachetools import LRUCache
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.utils import translation
from django_tenants.utils import get_public_schema_name, schema_context

from booking import clients, keys
from booking.rush import budgets, pages, passes
from booking.rush.answers import answer
from booking.rush.gate import GATE_SCRIPT, Gate, gate_answer
from booking.rush.outcomes import busy, signed_out
from booking.rush.passes import StudentPass
from booking.rush.persist import Winner, WinnerBatcher
from booking.rush.pipeline import Claim, Decided, Persist, Steps, book_steps, finish, queue_steps
from booking.rush.redis_batch import RedisBatcher
from booking.rush.refresh import refresh_later
from booking.rush.request import RushRequest, student_of
from booking.rush.state import seminar_state, seminar_state_or_stale
from booking.seatcounter import SeatCounter, steps_run_async
from booking.services.rush_passes import revoked_after, rush_pass_revoked_in_db
from tenants.selectors import tenant_for_host, tenant_for_host_known

THREADS = int(os.environ.get("RUSH_THREADS", "8"))
# The event loop holds the interpreter almost all the time at the opening second; the threads that write
# the winners and compute the seat pushes need it for a moment between their queries. A shorter switch
# interval than the default 5 ms lets them in sooner (measured: pushes reached the watchers 0.3-0.7 s
# sooner at the opening second).
sys.setswitchinterval(float(os.environ.get("RUSH_SWITCH_INTERVAL", "0.001")))
REDIS_CONNECTIONS = int(os.environ.get("RUSH_REDIS_CONNECTIONS", "16"))

booking_threads = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="rush")
# Pages, places in line and health checks never wait behind bookings that are writing to PostgreSQL.
light_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rush-light")


def not_found() -> HttpResponse:
    return HttpResponse("Not Found", status=404, content_type="text/plain; charset=utf-8")


def returns_connection(function: Callable[..., Any]) -> Callable[..., Any]:
    """Pool threads give their database connection back when done: they may not touch it again for a while."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            if connection.connection is not None:
                connection.close()

    return wrapper


_loading: dict[tuple, asyncio.Future] = {}


async def _once(key: tuple, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run `function` on a thread once for everyone asking with the same key meanwhile; its result, or None
    when it failed (the caller then takes the regular way, which reports the failure)."""
    future = _loading.get(key)
    if future is None:
        future = asyncio.get_running_loop().run_in_executor(light_threads, lambda: function(*args, **kwargs))
        _loading[key] = future
        future.add_done_callback(lambda _: _loading.pop(key, None))
    try:
        return await asyncio.shield(future)
    except Exception:  # noqa: BLE001 - the regular way answers (and logs) the same trouble
        return None


@returns_connection
def _host_lookup(hostname: str) -> Any:
    return tenant_for_host(hostname=hostname)


@returns_connection
def _counters_load(tenant: Any, seminar_id: int) -> None:
    with schema_context(tenant.schema_name):
        SeatCounter(seminar_id=seminar_id, schema=tenant.schema_name).load()


@returns_connection
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
        found = _batchers[loop_id] = WinnerBatcher(booking_threads)
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
        return not_found(), None
    known, tenant = tenant_for_host_known(hostname=hostname)
    if tenant is None:
        if known:
            return not_found(), None  # a host known to be missing: answered from memory
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
    redis_batcher = _redis_batcher()
    gate = _gate(schema, seminar_id)
    decided = await _decided_on_loop(
        book_steps, request, tenant=tenant, seminar_id=seminar_id, gate=gate, redis_batcher=redis_batcher
    )
    if decided is None:
        return None

    def count(kind: str) -> None:
        redis_batcher.count(
            keys.rate_key(schema=schema, seminar_id=seminar_id, kind=kind, second=int(time.time()))
        )

    return finish(request, decided, gate=gate, started=started, count=count, room_on=_room_on_later)


def _performer(
    tenant: Any, *, seminar_id: int, gate: Gate, redis_batcher: RedisBatcher
) -> Callable[[Any], Awaitable[Any]]:
    """How the steps' operations are performed on the event loop, for one company's seminar."""
    schema = tenant.schema_name

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

    return perform


async def queue_on_loop(request: RushRequest, *, seminar_id: int) -> HttpResponse | None:
    """The waiting room's answer (place in line, or let in) on the event loop: pipeline.queue_steps, the
    steps queue_sync runs on threads. Students in line ask every second or more: under an overload these
    are most of the requests, so each costs one Redis call in the loop turn's pipeline and nothing else.
    None means "take the regular way" (not cached yet, Redis trouble)."""
    return await _within_company(request, lambda tenant: _queue_admitted(request, tenant, seminar_id))


async def _within_company(
    request: RushRequest, then: Callable[[Any], Awaitable[HttpResponse | None]]
) -> HttpResponse | None:
    """`then(tenant)` for the request's company, within its admission budget (404 for no company)."""
    refused, tenant = await _company(request)
    if tenant is None:
        return refused
    schema = tenant.schema_name
    if schema == get_public_schema_name():
        return not_found()
    if not budgets.admission.enter(schema):
        return answer(busy())
    try:
        return await then(tenant)
    finally:
        budgets.admission.leave(schema)


async def _queue_admitted(request: RushRequest, tenant: Any, seminar_id: int) -> HttpResponse | None:
    gate = _gate(tenant.schema_name, seminar_id)
    decided = await _decided_on_loop(
        queue_steps, request, tenant=tenant, seminar_id=seminar_id, gate=gate, redis_batcher=_redis_batcher()
    )
    if decided is None or decided.outcome is None:
        return None
    return answer(decided.outcome, state=decided.state, student=decided.student)


async def _decided_on_loop(
    steps_of: Callable[..., Steps],
    request: RushRequest,
    *,
    tenant: Any,
    seminar_id: int,
    gate: Gate,
    redis_batcher: RedisBatcher,
) -> Decided | None:
    """The pipeline's steps (book_steps, queue_steps) performed on the loop; None: take the regular way
    (the seminar not loadable here, Redis trouble)."""
    schema = tenant.schema_name
    state, unloaded = await _state_on_loop(tenant, seminar_id)
    if unloaded:
        return None
    perform = _performer(tenant, seminar_id=seminar_id, gate=gate, redis_batcher=redis_batcher)
    try:
        decided = await steps_run_async(
            steps_of(request, schema=schema, seminar_id=seminar_id, state_of=lambda: state), perform
        )
    except clients.REDIS_ERRORS:
        return None
    return decided if decided.outcome is not None else None


def _room_on_later(gate: Gate) -> None:
    """Switch the waiting room on in this loop turn's Redis pipeline (a blocking call would hold the loop:
    with 200 companies opening, up to 200 such calls a second)."""

    async def send() -> None:
        try:
            await _redis_batcher().call(*gate.room_on_command())
        except clients.REDIS_ERRORS:
            pass  # the next slow decision asks again

    task = asyncio.get_running_loop().create_task(send())
    _background.add(task)  # held until done (the loop keeps only a weak reference)
    task.add_done_callback(_background.discard)


_background: set[asyncio.Task] = set()


async def page_on_loop(request: RushRequest, *, seminar_id: int) -> HttpResponse | None:
    """The rush page answered on the event loop with pages.page_answer, the decision the thread path makes.

    The pass is read in memory, its revocation asked in this loop turn's Redis pipeline (PostgreSQL on a
    thread when Redis is away), the seminar and the company come from the process's copies and the page
    body from its LRU. None means "take the regular way" (not cached yet, or PostgreSQL trouble).
    """
    return await _within_company(
        request, lambda tenant: _page_admitted(request, tenant=tenant, seminar_id=seminar_id)
    )


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
            key = ("page", *pages.page_key(state=state, rank=student.rank, language=language))
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
            return await loop.run_in_executor(light_threads, _revoked_in_db, tenant, student)
        except DatabaseError:
            return None
    return revoked_after(found, issued_at=student.issued_at)


@returns_connection
def _revoked_in_db(tenant: Any, student: StudentPass) -> bool:
    with schema_context(tenant.schema_name):
        return rush_pass_revoked_in_db(candidate_id=student.candidate_id, issued_at=student.issued_at)
