"""Step 4 of the rush pipeline: PostgreSQL persists the winners Redis chose, and says what became of each.

Redis has already decided who won; PostgreSQL must agree before "booked" is answered. Winners arriving
within a couple of milliseconds of each other in one process are written with ONE statement in ONE
transaction (booking/seats.py, the statement every booking uses): the quota rows are raised by the number
of winners on each, only where that keeps `taken <= seats`, and the bookings are inserted for exactly those
rows. If any winner of the batch cannot be written that way (a row with fewer seats than Redis thought, a
second booking the unique index refuses), the transaction is rolled back and every winner of the batch is
written on its own (`persist_one`), which answers each of them exactly. Returns Outcomes, never responses.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from booking import errors, keys
from booking.live import seats_changed
from booking.rush import outcomes
from booking.rush.outcomes import Outcome
from booking.seats import SeatRequest, check_in_code_new, quota_rows_lock, seats_take
from booking.services.confirmations import confirm_later

logger = logging.getLogger(__name__)

WAIT_SECONDS = 0.002
MOST = 200
IN_FLIGHT = int(os.environ.get("RUSH_BATCHES_IN_FLIGHT", "2"))


class _Short(Exception):
    """Fewer rows written than winners: roll back and take the one-by-one path."""


@dataclass
class Winner:
    gate: Any  # booking.rush.gate.Gate: its counter takes the seat back if PostgreSQL refuses
    plan: Any  # booking.rush.decide.BookPlan
    quota_id: int
    code: str = ""

    def seat(self) -> SeatRequest:
        plan = self.plan
        return SeatRequest(
            candidate_id=plan.student.candidate_id,
            slot_id=plan.slot_id,
            seminar_id=plan.state.seminar_id,
            quota=self.quota_id,
            code=self.code,
        )


def persist_batch(tenant: Any, winners: list[Winner]) -> list[Outcome]:
    """What became of these winners of one company, in their order (runs on a worker thread)."""
    try:
        with schema_context(tenant.schema_name):
            return _persist_batch(winners)
    finally:
        if connection.connection is not None:
            connection.close()


def _persist_batch(winners: list[Winner]) -> list[Outcome]:
    if not winners:
        return []
    for winner in winners:
        winner.code = check_in_code_new()
    written: dict[int, int] | None
    try:
        with transaction.atomic():
            # Every writer takes the quota rows in id order, so concurrent batches never deadlock.
            quota_rows_lock([w.quota_id for w in winners])
            rows = seats_take([w.seat() for w in winners], now=timezone.now())
            written = {candidate: booking for booking, candidate, _quota in rows}
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
    if written is None:
        return [persist_one(w.gate, plan=w.plan, quota_id=w.quota_id) for w in winners]
    state = winners[0].plan.state
    confirm_later(
        schema=state.schema,
        booking_ids=list(written.values()),
        count_key=keys.rate_key(
            schema=state.schema, seminar_id=state.seminar_id, kind="booked", second=int(time.time())
        ),
    )
    return [
        outcomes.booked(booking_id=written[w.plan.student.candidate_id], slot_id=w.plan.slot_id)
        for w in winners
    ]


def persist_one(gate: Any, *, plan: Any, quota_id: int) -> Outcome:
    """One winner written on its own, with the same statement (a batch of one); its Outcome."""
    from booking.services.bookings import booking_insert_on_quota

    state, student = plan.state, plan.student
    try:
        booking_id = booking_insert_on_quota(
            candidate_id=student.candidate_id,
            slot_id=plan.slot_id,
            seminar_id=state.seminar_id,
            quota_id=quota_id,
            counters_current=True,
            code=check_in_code_new(),
        )
    except errors.AlreadyBookedError as error:
        # PostgreSQL holds a seat Redis did not know of: the copy is behind, rebuild it.
        gate.counter.undo(candidate_id=student.candidate_id, quota_id=quota_id)
        return outcomes.refusal(error)
    except DatabaseError:
        # PostgreSQL is away: nothing was written (or the commit's reply was lost), the seat goes back and
        # the copy is rebuilt on the next claim; the student keeps the place in line.
        logger.error("rush: postgres unavailable while persisting a seat")
        gate.counter.undo(candidate_id=student.candidate_id, quota_id=quota_id)
        return outcomes.unavailable(count="unavailable")
    if booking_id is None:
        gate.counter.undo(candidate_id=student.candidate_id, quota_id=quota_id)
        return outcomes.full(seminar_id=state.seminar_id, count="full")
    outcome = outcomes.booked(booking_id=booking_id, slot_id=plan.slot_id)
    confirm_later(
        schema=state.schema,
        booking_id=booking_id,
        count_key=keys.rate_key(
            schema=state.schema,
            seminar_id=state.seminar_id,
            kind="booked",
            second=int(outcome.extra["committed_at"]),
        ),
    )
    return outcome


# A winner waiting for its batch: the company, the winner, and the future its request awaits.
_Pending = tuple[Any, Winner, "asyncio.Future[Outcome]"]


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
        self.pending: list[_Pending] = []
        self.timer: asyncio.TimerHandle | None = None

    async def persist(self, tenant: Any, winner: Winner) -> Outcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
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
            by_schema: dict[str, list[_Pending]] = {}
            for item in pending:
                by_schema.setdefault(item[0].schema_name, []).append(item)
            for items in by_schema.values():
                self.writing += 1
                done = loop.run_in_executor(
                    self.executor, persist_batch, items[0][0], [w for _, w, _ in items]
                )
                done.add_done_callback(functools.partial(self._written, items=items))

    def _written(self, task: asyncio.Future[list[Outcome]], *, items: list[_Pending]) -> None:
        self.writing -= 1
        _settle(task, items)
        if self.pending:
            self._flush()


def _settle(task: asyncio.Future[list[Outcome]], items: list[_Pending]) -> None:
    error = task.exception()
    for index, (_, _, future) in enumerate(items):
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(task.result()[index])
