# ruff: noqa: F811 - the rush fixture is imported from tests/booking/test_rush.py
"""The rush page answered on the workers' event loop (booking/rush/loop.py::page_on_loop) gives exactly the
answers of the thread path (pages.seminar_page under Django): same status, headers and body."""

from __future__ import annotations

import asyncio
import json

import redis.asyncio as aioredis
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from booking import clients
from booking.models import RushPassRevocation, Seminar
from booking.rush import loop as rush_loop
from booking.rush import passes
from booking.rush.gate import GATE_SCRIPT
from booking.rush.redis_batch import RedisBatcher
from booking.rush.request import RushRequest
from booking.rush.state import seminar_state, seminar_state_forget
from saas.processes import free_port
from tenants.selectors import tenant_for_host
from tests.booking.conftest import candidate_make
from tests.booking.test_rush import rush, student_client  # noqa: F401 - the rush seminar fixture

SHOWN = ("Cache-Control", "Location", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy")


def _on_loop(
    info, seminar_id: int, *, cookie: str | None = None, redis_port: int | None = None, queue: bool = False
):
    """GET /my/rush/<id>/ through page_on_loop (`queue`: /my/rush/<id>/queue through queue_on_loop), on an
    event loop of its own (its Redis client closed after)."""
    headers = [(b"host", info.host.encode())]
    if cookie is not None:
        headers.append((b"cookie", f"{passes.STUDENT_COOKIE}={cookie}".encode()))
    path = f"/my/rush/{seminar_id}/" + ("queue" if queue else "")
    scope = {"type": "http", "method": "GET", "path": path, "headers": headers}
    driver = rush_loop.queue_on_loop if queue else rush_loop.page_on_loop

    async def run():
        loop_id = id(asyncio.get_running_loop())
        if redis_port is not None:  # a Redis that refuses connections
            rush_loop._redis[loop_id] = RedisBatcher(aioredis.Redis(port=redis_port), script_text=GATE_SCRIPT)
        try:
            return await driver(RushRequest(scope, b""), seminar_id=seminar_id)
        finally:
            batcher = rush_loop._redis.pop(loop_id, None)
            clients._gates.pop(loop_id, None)
            if batcher is not None:
                await batcher.client.aclose()

    return asyncio.run(run())


def _same(loop_answer, thread_answer) -> None:
    # None would mean "take the thread path": the loop must have answered by itself.
    assert loop_answer is not None
    assert loop_answer.status_code == thread_answer.status_code
    assert {h: loop_answer.get(h) for h in SHOWN} == {h: thread_answer.get(h) for h in SHOWN}
    assert loop_answer.content == thread_answer.content


def _warm(info, seminar) -> None:
    """What the first request of a process loads on a thread: the company and the seminar's state."""
    tenant_for_host(hostname=info.host.split(":")[0])
    seminar_state(schema=info.schema, seminar_id=seminar.pk)


def _pass(info, candidate, *, schema: str | None = None) -> str:
    return passes.student_pass_issue(
        schema=schema or info.schema,
        candidate_id=candidate.pk,
        rank=candidate.rank,
        season_id=candidate.season_id,
    )


def test_the_loop_serves_the_page_of_a_valid_pass_like_the_threads(rush, acme_schema):
    _warm(acme_schema, rush)
    student = candidate_make(rank="A")
    cookie = _pass(acme_schema, student)
    client = Client(HTTP_HOST=acme_schema.host)
    client.cookies[passes.STUDENT_COOKIE] = cookie
    thread = client.get(f"/my/rush/{rush.pk}/")
    loop = _on_loop(acme_schema, rush.pk, cookie=cookie)
    assert thread.status_code == 200 and thread["Cache-Control"] == "no-store, private"
    assert f'data-slot="{rush.slots.first().pk}"' in loop.content.decode()
    _same(loop, thread)
    # A page this process has not rendered yet (another rank) is rendered once, then the same.
    other = candidate_make(rank="B")
    first = _on_loop(acme_schema, rush.pk, cookie=_pass(acme_schema, other))
    _same(first, student_client(acme_schema, other).get(f"/my/rush/{rush.pk}/"))


def test_no_pass_a_forged_pass_and_another_companys_pass_are_sent_to_the_regular_page(
    rush, acme_schema, tenants
):
    _warm(acme_schema, rush)
    student = candidate_make(rank="A")
    anonymous = Client(HTTP_HOST=acme_schema.host).get(f"/my/rush/{rush.pk}/")
    assert anonymous.status_code == 302 and anonymous["Location"] == f"/my/seminars/{rush.pk}/"
    _same(_on_loop(acme_schema, rush.pk), anonymous)
    foreign = _pass(acme_schema, student, schema=tenants["globex"].schema)
    thread = student_client(acme_schema, student, schema=tenants["globex"].schema).get(f"/my/rush/{rush.pk}/")
    assert thread.status_code == 302
    _same(_on_loop(acme_schema, rush.pk, cookie=foreign), thread)
    forged = _pass(acme_schema, student)
    forged = forged[:20] + ("A" if forged[20] != "A" else "B") + forged[21:]
    _same(_on_loop(acme_schema, rush.pk, cookie=forged), anonymous)


def test_a_revoked_pass_gets_no_page_on_the_loop(rush, acme_schema, django_capture_on_commit_callbacks):
    from booking.services import mypage_tokens_revoke

    _warm(acme_schema, rush)
    student = candidate_make(rank="A")
    client = student_client(acme_schema, student)
    cookie = client.cookies[passes.STUDENT_COOKIE].value
    assert _on_loop(acme_schema, rush.pk, cookie=cookie).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        mypage_tokens_revoke(candidate=student)  # copied to Redis once committed
    thread = client.get(f"/my/rush/{rush.pk}/")
    assert thread.status_code == 302
    _same(_on_loop(acme_schema, rush.pk, cookie=cookie), thread)


def test_a_rank_the_seminar_is_not_open_to_and_a_missing_seminar_are_refused_alike(rush, acme_schema):
    from booking.models import SeminarRankRule

    SeminarRankRule.objects.update_or_create(seminar=rush, rank="C", defaults={"visible": False})
    _warm(acme_schema, rush)
    hidden = candidate_make(rank="C")
    thread = student_client(acme_schema, hidden).get(f"/my/rush/{rush.pk}/")
    assert thread.status_code in (403, 404) and "data-slot" not in thread.content.decode()
    assert thread["Cache-Control"] == "no-store, private"
    _same(_on_loop(acme_schema, rush.pk, cookie=_pass(acme_schema, hidden)), thread)
    visible = candidate_make(rank="A")
    missing = rush.pk + 10_000
    thread = student_client(acme_schema, visible).get(f"/my/rush/{missing}/")
    assert thread.status_code == 404 or thread.status_code == 403
    _same(_on_loop(acme_schema, missing, cookie=_pass(acme_schema, visible)), thread)


def test_with_redis_away_the_loop_asks_postgresql_and_a_revoked_pass_still_gets_no_page(tenants, committed):
    info = tenants["acme"]
    tenant_for_host(hostname=info.host.split(":")[0])
    with schema_context(info.schema):
        revoked, kept = candidate_make(rank="A"), candidate_make(rank="A")
        revoked_pass, kept_pass = _pass(info, revoked), _pass(info, kept)
        RushPassRevocation.objects.create(candidate=revoked, revoked_at=timezone.now())
        newest = Seminar.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        dead = free_port()
        answer = _on_loop(info, newest + 1, cookie=revoked_pass, redis_port=dead)
        assert answer is not None and answer.status_code == 302
        # An unrevoked pass passes the PostgreSQL check (then hears that there is no such seminar).
        answer = _on_loop(info, newest + 1, cookie=kept_pass, redis_port=dead)
        assert answer is not None and answer.status_code in (403, 404)
    finally:
        with schema_context(info.schema):
            RushPassRevocation.objects.filter(candidate__in=[revoked, kept]).delete()
            revoked.delete()
            kept.delete()


def test_the_waiting_room_answers_on_the_loop_as_on_the_threads(rush, acme_schema):
    """A place in line is asked on the event loop: the same room, the same tickets, the same pass."""
    Seminar.objects.filter(pk=rush.pk).update(waiting_room="on", admission_per_second=1)
    seminar_state_forget()
    _warm(acme_schema, rush)
    first, second = candidate_make(rank="A"), candidate_make(rank="A")
    # The room lets one student a second in: the first is admitted with a room pass, the second waits.
    admitted = _on_loop(acme_schema, rush.pk, cookie=_pass(acme_schema, first), queue=True)
    assert admitted is not None and admitted.status_code == 200
    assert json.loads(admitted.content)["code"] == "admitted" and passes.ROOM_COOKIE in admitted.cookies
    waiting = _on_loop(acme_schema, rush.pk, cookie=_pass(acme_schema, second), queue=True)
    assert waiting is not None and waiting.status_code == 202
    line = json.loads(waiting.content)
    assert line["code"] == "queued" and line["position"] >= 1 and passes.ROOM_COOKIE not in waiting.cookies
    # The threads see the same line: the same ticket for the same student.
    again = student_client(acme_schema, second).get(f"/my/rush/{rush.pk}/queue")
    assert again.json()["code"] == "queued" and again.json()["ticket"] == line["ticket"]
    # No pass: signed out, as on the threads.
    nobody = _on_loop(acme_schema, rush.pk, queue=True)
    assert nobody is not None and nobody.status_code == 403


def test_with_redis_away_the_waiting_room_is_left_to_the_threads(rush, acme_schema):
    Seminar.objects.filter(pk=rush.pk).update(waiting_room="on", admission_per_second=1)
    seminar_state_forget()
    _warm(acme_schema, rush)
    student = candidate_make(rank="A")
    assert (
        _on_loop(acme_schema, rush.pk, cookie=_pass(acme_schema, student), redis_port=free_port(), queue=True)
        is None
    )
