"""Winners of a rush written to PostgreSQL together: one transaction for the seats won in the same moment.

Redis has already decided who won; PostgreSQL must agree before "booked" is answered. Winners arriving
within a couple of milliseconds of each other in one process are written with ONE statement in ONE
transaction: the quota rows are raised by the number of winners on each, only where that keeps
`taken <= seats`, and the bookings are inserted for exactly those rows. If any winner of the batch cannot
be written that way (a row with fewer seats than Redis thought, a second booking the unique index refuses),
the transaction is rolled back and every winner of the batch goes through the one-by-one path, which
answers each of them exactly as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import Executor
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from django_tenants.utils import schema_context

logger = logging.getLogger(__name__)

WAIT_SECONDS = 0.002
MOST = 200
IN_FLIGHT = int(os.environ.get("RUSH_BATCHES_IN_FLIGHT", "2"))


class _Short(Exception):
    """Fewer rows written than winners: roll back and take the one-by-one path."""


@dataclass
class Winner:
    gate: object
    plan: object
    quota_id: int
    code: str = ""


def _batch_sql(count: int) -> str:
    rows = ", ".join(["(%s::integer, %s::integer, %s::integer, %s::integer, %s::varchar)"] * count)
    return f"""
WITH wanted (candidate_id, slot_id, seminar_id, quota_id, code) AS (VALUES {rows}),
per_quota AS (SELECT quota_id, slot_id, count(*) AS n FROM wanted GROUP BY quota_id, slot_id),
seat AS (
    UPDATE booking_slotquota q SET taken = q.taken + p.n
    FROM per_quota p
    WHERE q.id = p.quota_id AND q.slot_id = p.slot_id AND q.taken + p.n <= q.seats
    RETURNING q.id
)
INSERT INTO booking_booking
    (candidate_id, slot_id, seminar_id, quota_id, status, attendance, check_in_code, created_at)
SELECT w.candidate_id, w.slot_id, w.seminar_id, w.quota_id, 'active', 'unknown', w.code, %s
FROM wanted w JOIN seat s ON s.id = w.quota_id
RETURNING id, candidate_id
"""


def persist_batch(tenant, winners: list[Winner]) -> list[HttpResponse]:
    """Answers for these winners of one company, in their order (runs on a worker thread)."""
    try:
        with schema_context(tenant.schema_name):
            return _persist_batch(winners)
    finally:
        if connection.connection is not None:
            connection.close()


def _persist_batch(winners: list[Winner]) -> list[HttpResponse]:
    from booking.live import seats_changed
    from booking.rush import views
    from booking.rush.confirm import confirm_later
    from booking.rush.metrics import rate_key
    from booking.services.bookings import check_in_code_new

    if winners:
        params: list = []
        for winner in winners:
            winner.code = check_in_code_new()
            plan = winner.plan
            params += [
                plan.student.candidate_id,
                plan.slot_id,
                plan.state.seminar_id,
                winner.quota_id,
                winner.code,
            ]
        params.append(timezone.now())
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                # Every writer takes the quota rows in id order, so concurrent batches never deadlock.
                cursor.execute(
                    "SELECT id FROM booking_slotquota WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                    [sorted({w.quota_id for w in winners})],
                )
                cursor.execute(_batch_sql(len(winners)), params)
                written = dict((candidate, booking) for booking, candidate in cursor.fetchall())
                if len(written) != len(winners):
                    raise _Short()
                seats_changed(slot_ids=[w.plan.slot_id for w in winners], counters_current=True)
        except (_Short, IntegrityError):
            written = None
        except DatabaseError as error:
            written = None
            logger.warning(
                "rush: a batch of %s winners failed (%s), writing them one by one",
                len(winners),
                type(error).__name__,
            )
        if written is not None:
            state = winners[0].plan.state
            confirm_later(
                schema=state.schema,
                booking_ids=list(written.values()),
                count_key=rate_key(
                    schema=state.schema,
                    seminar_id=state.seminar_id,
                    kind="booked",
                    second=int(time.time()),
                ),
            )
            return [
                views.booked_answer(
                    state=w.plan.state,
                    booking_id=written[w.plan.student.candidate_id],
                    slot_id=w.plan.slot_id,
                    confirm=False,
                )
                for w in winners
            ]
    return [
        views.persist_one(
            w.gate,
            state=w.plan.state,
            student=w.plan.student,
            slot_id=w.plan.slot_id,
            quota_id=w.quota_id,
        )
        for w in winners
    ]


class WinnerBatcher:
    """Collects the winners of this event loop and hands them, a batch at a time, to worker threads.

    At most `in_flight` batches are being written at once; winners arriving meanwhile wait for the next
    batch. Under load the batches grow instead of the threads multiplying, so the event loop keeps the
    interpreter to itself for the many requests it decides, and PostgreSQL sees fewer, larger transactions.
    """

    def __init__(
        self, executor: Executor, *, wait: float = WAIT_SECONDS, most: int = MOST, in_flight: int = IN_FLIGHT
    ) -> None:
        self.executor = executor
        self.wait = wait
        self.most = most
        self.in_flight = in_flight
        self.writing = 0
        self.pending: list[tuple[object, Winner, asyncio.Future]] = []
        self.timer: asyncio.TimerHandle | None = None

    async def persist(self, tenant, winner: Winner) -> HttpResponse:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        self.pending.append((tenant, winner, future))
        if len(self.pending) >= self.most:
            self._flush()
        elif self.timer is None:
            self.timer = loop.call_later(self.wait, self._flush)
        return await future

    def _flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        loop = asyncio.get_running_loop()
        while self.pending and self.writing < self.in_flight:
            pending, self.pending = self.pending[: self.most], self.pending[self.most :]
            by_schema: dict[str, list[tuple[object, Winner, asyncio.Future]]] = {}
            for item in pending:
                by_schema.setdefault(item[0].schema_name, []).append(item)
            for items in by_schema.values():
                self.writing += 1
                done = loop.run_in_executor(
                    self.executor, persist_batch, items[0][0], [w for _, w, _ in items]
                )
                done.add_done_callback(lambda task, items=items: self._written(task, items))

    def _written(self, task: asyncio.Future, items) -> None:
        self.writing -= 1
        _settle(task, items)
        if self.pending:
            self._flush()


def _settle(task: asyncio.Future, items) -> None:
    error = task.exception()
    for index, (_, _, future) in enumerate(items):
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(task.result()[index])
