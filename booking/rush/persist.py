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
from django_tenants.utils import get_public_schema_name, schema_context

from booking import errors, keys
from booking.live import seats_changed, seats_changed_many
from booking.rush import outcomes
from booking.rush.outcomes import Outcome
from booking.seats import SeatRequest, check_in_code_new, quota_rows_lock, seats_take, seats_take_many
from booking.services.confirmations import confirm_later, confirm_later_many

logger = logging.getLogger(__name__)

WAIT_SECONDS = 0.002
MOST = 200
IN_FLIGHT = int(os.environ.get("RUSH_BATCHES_IN_FLIGHT", "2"))
SKIPPED_WAIT_SECONDS = 0.01


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
        return _persist_batch_in(tenant, winners)
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
            _facts_later()
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
    confirm_later(
        schema=winners[0].plan.state.schema,
        booking_ids=list(written.values()),
        count_key=_booked_key(winners),
    )
    return [
        outcomes.booked(booking_id=written[w.plan.student.candidate_id], slot_id=w.plan.slot_id)
        for w in winners
    ]


def persist_together(
    batches: list[tuple[Any, list[Winner]]], *, may_skip: frozenset[str] = frozenset()
) -> list[list[Outcome] | None]:
    """What became of the winners of several companies, per company in the order given (a worker thread);
    None for a company of `may_skip` left for a later batch (another transaction held its rows).

    One company: persist_batch. Several: all of them in one transaction, two round trips whatever their
    number (booking/seats.py::seats_take_many) — with 200 companies opening together, a transaction per
    company cost a process more of its interpreter, and PostgreSQL more commits, than deciding did. A
    company of `may_skip` whose quota rows another process's batch holds is skipped rather than waited for
    (the batcher lets a company be skipped once in a row, then waits for it). If any
    company's winners do not fit (a row with fewer seats than Redis thought, a second booking), the whole
    is rolled back and each company's batch is written on its own, which answers each winner exactly.
    """
    if len(batches) == 1:
        tenant, winners = batches[0]
        return [persist_batch(tenant, winners)]
    try:
        written = _persist_together(batches, may_skip=may_skip)
        if written is None:
            return [_persist_batch_in(tenant, winners) for tenant, winners in batches]
    finally:
        if connection.connection is not None:
            connection.close()
    confirm_later_many(
        items=[
            (tenant.schema_name, list(booked.values()), _booked_key(winners))
            for (tenant, winners), booked in zip(batches, written, strict=True)
            if booked is not None
        ]
    )
    return [
        None
        if booked is None
        else [
            outcomes.booked(booking_id=booked[w.plan.student.candidate_id], slot_id=w.plan.slot_id)
            for w in winners
        ]
        for (_, winners), booked in zip(batches, written, strict=True)
    ]


def _persist_together(
    batches: list[tuple[Any, list[Winner]]], *, may_skip: frozenset[str]
) -> list[dict[int, int] | None] | None:
    """{candidate: booking} per company, committed (None for a company skipped); None when the whole was
    rolled back."""
    for _, winners in batches:
        for winner in winners:
            winner.code = check_in_code_new()
    try:
        # The tables are named with their schema: no search path is set for any company.
        with schema_context(get_public_schema_name()), transaction.atomic():
            _facts_later()
            rows = seats_take_many(
                [(tenant.schema_name, [w.seat() for w in winners]) for tenant, winners in batches],
                now=timezone.now(),
                skip_locked=may_skip,
            )
            written: list[dict[int, int] | None] = []
            for (_, winners), found in zip(batches, rows, strict=True):
                if found is None:
                    written.append(None)
                    continue
                booked = {candidate: booking for booking, candidate, _quota in found}
                if len(booked) != len(winners):
                    raise _Short()
                written.append(booked)
            seats_changed_many(
                slots={
                    tenant.schema_name: [w.plan.slot_id for w in winners]
                    for (tenant, winners), booked in zip(batches, written, strict=True)
                    if booked is not None
                }
            )
    except (_Short, IntegrityError):
        return None
    except DatabaseError as error:
        logger.warning(
            "rush: winners of %s companies failed together (%s), writing each company's on its own",
            len(batches),
            type(error).__name__,
        )
        return None
    return written


def _facts_later() -> None:
    """This transaction's bookings note their students' dashboard facts as stale instead of refreshing
    them while the quota rows are held (dashboard migration 0003); the confirmations' worker refreshes them
    a moment later (booking/services/confirmations.py::confirmations_drain) and the dashboard before it
    reads. At an opening of hundreds of companies the refresh was most of PostgreSQL's work."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('saas.facts_later', 'on', true)")


def _booked_key(winners: list[Winner]) -> str:
    state = winners[0].plan.state
    return keys.rate_key(
        schema=state.schema, seminar_id=state.seminar_id, kind="booked", second=int(time.time())
    )


def _persist_batch_in(tenant: Any, winners: list[Winner]) -> list[Outcome]:
    with schema_context(tenant.schema_name):
        return _persist_batch(winners)


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
    A batch holds up to `most` winners of any number of companies (persist_together), the companies whose
    winners have waited longest first.
    """

    def __init__(
        self, executor: Executor, *, wait: float = WAIT_SECONDS, most: int = MOST, in_flight: int = IN_FLIGHT
    ) -> None:
        self.executor = executor
        self.wait = wait
        self.most = most
        self.in_flight = in_flight
        self.writing = 0
        # Per company, its winners in arrival order; companies in the order their oldest winner arrived.
        self.pending: dict[str, list[_Pending]] = {}
        self.waiting = 0
        self.writing_of: dict[str, int] = {}  # companies in the batches being written, how many each
        self.skipped: set[str] = set()  # companies skipped by their last batch: waited for in the next
        self.timer: asyncio.TimerHandle | None = None

    async def persist(self, tenant: Any, winner: Winner) -> Outcome:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self.pending.setdefault(tenant.schema_name, []).append((tenant, winner, future))
        self.waiting += 1
        if self.waiting >= self.most:
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
            batch: list[list[_Pending]] = []
            size = 0
            # A company being written waits for that write (its rows are locked) unless it is all there is.
            free = [schema for schema in self.pending if schema not in self.writing_of]
            for schema in free or list(self.pending):
                if size >= self.most:
                    break
                waiting = self.pending[schema]
                items = waiting[: self.most - size]
                del waiting[: len(items)]  # what is left keeps its company's place in line
                if not waiting:
                    del self.pending[schema]
                batch.append(items)
                size += len(items)
            self.waiting -= size
            self.writing += 1
            for items in batch:
                schema = items[0][0].schema_name
                self.writing_of[schema] = self.writing_of.get(schema, 0) + 1
            schemas = frozenset(items[0][0].schema_name for items in batch)
            done = loop.run_in_executor(
                self.executor,
                functools.partial(persist_together, may_skip=schemas - self.skipped),
                [(items[0][0], [w for _, w, _ in items]) for items in batch],
            )
            done.add_done_callback(functools.partial(self._written, batch=batch))

    def _written(
        self, task: asyncio.Future[list[list[Outcome] | None]], *, batch: list[list[_Pending]]
    ) -> None:
        self.writing -= 1
        for items in batch:
            schema = items[0][0].schema_name
            left = self.writing_of.pop(schema, 1) - 1
            if left > 0:
                self.writing_of[schema] = left
        error = task.exception()
        skipped: list[list[_Pending]] = []
        for index, items in enumerate(batch):
            answers = None if error is not None else task.result()[index]
            schema = items[0][0].schema_name
            if error is None and answers is None:
                skipped.append(items)  # another process was writing this company: the next batch waits
                self.skipped.add(schema)
                continue
            self.skipped.discard(schema)
            _settle(error, answers, items)
        if skipped:
            # First in line again, each company's winners ahead of any that came meanwhile.
            again = {
                items[0][0].schema_name: items + self.pending.get(items[0][0].schema_name, [])
                for items in skipped
            }
            self.pending = {**again, **{k: v for k, v in self.pending.items() if k not in again}}
            self.waiting += sum(len(items) for items in skipped)
            if len(skipped) == len(batch):
                # Nothing of this batch was free: ask again in a moment rather than at once.
                self._later(SKIPPED_WAIT_SECONDS)
                return
        if self.pending:
            self._flush()

    def _later(self, seconds: float) -> None:
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(seconds, self._flush)


def _settle(error: BaseException | None, answers: list[Outcome] | None, items: list[_Pending]) -> None:
    for index, (_, _, future) in enumerate(items):
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        elif answers is not None:
            future.set_result(answers[index])
