"""A winner whose write outlasts the wait is answered "confirming" at once, and learns the end by asking again.

Real PostgreSQL and Redis: the write is held up by a row lock another transaction holds on the quota row
(what a busy opening does to it), through the rush workers' event-loop driver (booking/rush/loop.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from booking import clients
from booking.models import Booking, BookingStatus, Seminar, SlotQuota
from booking.rush import confirming as rush_confirming
from booking.rush import loop as rush_loop
from booking.rush import passes
from booking.rush.request import RushRequest
from booking.rush.state import seminar_state, seminar_state_forget
from tenants.selectors import tenant_for_host
from tests.booking.conftest import candidate_make, rush_seminar_remove, seminar_make


@pytest.fixture
def seminar(tenants, committed, monkeypatch):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 3}, capacity=3)
        Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
    seminar_state_forget()
    monkeypatch.setattr(rush_confirming, "CONFIRM_WAIT_S", 0.2)
    with schema_context(acme.schema):
        tenant_for_host(hostname=acme.host)
        seminar_state(schema=acme.schema, seminar_id=seminar.pk)
    yield acme, seminar
    rush_seminar_remove(schema=acme.schema, seminar=seminar)
    seminar_state_forget()


def _request(acme, seminar, student, *, slot_id: int | None = None) -> RushRequest:
    """POST /my/rush/<id>/book with `slot_id`, else GET /my/rush/<id>/queue, as the page's script sends them."""
    cookie = passes.student_pass_issue(
        schema=acme.schema, candidate_id=student.pk, rank="A", season_id=student.season_id
    )
    headers = [(b"host", acme.host.encode()), (b"cookie", f"{passes.STUDENT_COOKIE}={cookie}".encode())]
    if slot_id is None:
        scope = {"type": "http", "method": "GET", "path": f"/my/rush/{seminar.pk}/queue", "headers": headers}
        return RushRequest(scope, b"")
    headers += [(b"content-type", b"application/json"), (b"x-requested-with", b"rush")]
    scope = {"type": "http", "method": "POST", "path": f"/my/rush/{seminar.pk}/book", "headers": headers}
    return RushRequest(scope, json.dumps({"slot": slot_id}).encode())


class RowHolder(threading.Thread):
    """Holds the quota row locked in a transaction of its own until released; `fill` takes every seat first."""

    def __init__(self, schema: str, quota_id: int, *, fill: bool = False) -> None:
        super().__init__(daemon=True)
        self.schema, self.quota_id, self.fill = schema, quota_id, fill
        self.locked, self.release = threading.Event(), threading.Event()

    def run(self) -> None:
        try:
            with schema_context(self.schema), transaction.atomic():
                row = SlotQuota.objects.select_for_update().get(pk=self.quota_id)
                if self.fill:
                    SlotQuota.objects.filter(pk=row.pk).update(taken=row.seats)
                self.locked.set()
                self.release.wait(20)
        finally:
            connection.close()


def _booked_any(schema: str, seminar) -> bool:
    try:
        with schema_context(schema):
            return Booking.objects.filter(seminar=seminar).exists()
    finally:
        connection.close()


def _payload(response) -> dict:
    return json.loads(response.content)


async def _asked_until_not_confirming(acme, seminar, student) -> tuple[dict, int]:
    """The waiting room's address asked every 50 ms while it says "confirming"; its answer and the asks."""
    for asks in range(1, 200):
        answer = await rush_loop.queue_on_loop(_request(acme, seminar, student), seminar_id=seminar.pk)
        if _payload(answer)["code"] != "confirming":
            return _payload(answer), asks
        await asyncio.sleep(0.05)
    raise AssertionError("still confirming after 10 s")


def _run(scenario):
    async def with_cleanup():
        try:
            return await scenario()
        finally:
            loop_id = id(asyncio.get_running_loop())
            batcher = rush_loop._redis.pop(loop_id, None)
            rush_loop._batchers.pop(loop_id, None)
            clients._gates.pop(loop_id, None)
            if batcher is not None:
                await batcher.client.aclose()

    return asyncio.run(with_cleanup())


def test_a_slow_write_is_answered_confirming_then_booked_on_the_next_ask(seminar):
    acme, seminar = seminar
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        slot = seminar.slots.get()
        quota = SlotQuota.objects.get(slot=slot, rank="A")
    holder = RowHolder(acme.schema, quota.pk)
    holder.start()
    assert holder.locked.wait(10)

    async def scenario():
        started = time.monotonic()
        first = await rush_loop.book_on_loop(
            _request(acme, seminar, student, slot_id=slot.pk), seminar_id=seminar.pk, started=time.time()
        )
        waited = time.monotonic() - started
        # Asked while the write waits for the row: still confirming, nothing booked yet.
        again = await rush_loop.queue_on_loop(_request(acme, seminar, student), seminar_id=seminar.pk)
        booked_meanwhile = await asyncio.to_thread(_booked_any, acme.schema, seminar)
        holder.release.set()
        final, _ = await _asked_until_not_confirming(acme, seminar, student)
        # The same student sending the form once more: the same booking, not a second one.
        retry = await rush_loop.book_on_loop(
            _request(acme, seminar, student, slot_id=slot.pk), seminar_id=seminar.pk, started=time.time()
        )
        return first, waited, again, booked_meanwhile, final, retry

    first, waited, again, booked_meanwhile, final, retry = _run(scenario)
    holder.join(10)
    assert first.status_code == 202 and _payload(first)["code"] == "confirming"
    assert waited < 1.0  # answered after the wait (0.2 s here), not after the write
    assert _payload(first)["message"] == "お席を確保しました。予約を確定しています。このままお待ちください。"
    assert _payload(again)["code"] == "confirming" and not booked_meanwhile
    with schema_context(acme.schema):
        booking = Booking.objects.get(seminar=seminar, candidate_id=student.pk, status=BookingStatus.ACTIVE)
        assert SlotQuota.objects.get(pk=quota.pk).taken == 1
    assert final["code"] == "booked" and final["booking"] == booking.pk and final["slot"] == slot.pk
    assert abs(final["committed_at"] - booking.created_at.timestamp()) < 5
    assert _payload(retry)["code"] == "booked" and _payload(retry)["booking"] == booking.pk


def test_a_fast_write_is_answered_booked_with_no_second_ask(seminar):
    acme, seminar = seminar
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        slot = seminar.slots.get()

    async def scenario():
        return await rush_loop.book_on_loop(
            _request(acme, seminar, student, slot_id=slot.pk), seminar_id=seminar.pk, started=time.time()
        )

    answer = _payload(_run(scenario))
    with schema_context(acme.schema):
        booking = Booking.objects.get(seminar=seminar, candidate_id=student.pk)
    assert answer["code"] == "booked" and answer["booking"] == booking.pk


def test_a_confirming_write_postgresql_refuses_is_decided_afresh_and_nothing_is_booked(seminar):
    acme, seminar = seminar
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        slot = seminar.slots.get()
        quota = SlotQuota.objects.get(slot=slot, rank="A")
    # Another entrance takes the last seats while the row is locked: Redis's copy thinks one is left.
    holder = RowHolder(acme.schema, quota.pk, fill=True)
    holder.start()
    assert holder.locked.wait(10)

    async def scenario():
        first = await rush_loop.book_on_loop(
            _request(acme, seminar, student, slot_id=slot.pk), seminar_id=seminar.pk, started=time.time()
        )
        holder.release.set()
        after, _ = await _asked_until_not_confirming(acme, seminar, student)
        # The page sends the form again when let in; the counters rebuilt from PostgreSQL say full.
        resent = await rush_loop.book_on_loop(
            _request(acme, seminar, student, slot_id=slot.pk), seminar_id=seminar.pk, started=time.time()
        )
        return first, after, resent

    first, after, resent = _run(scenario)
    holder.join(10)
    assert _payload(first)["code"] == "confirming"
    assert after["code"] == "admitted"  # the seat went back: no place held, no booking claimed
    assert _payload(resent)["code"] == "full"
    with schema_context(acme.schema):
        assert not Booking.objects.filter(seminar=seminar).exists()
        assert SlotQuota.objects.get(pk=quota.pk).taken == 3
