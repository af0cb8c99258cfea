"""The seat decision in PostgreSQL: every statement that takes a seminar seat is built here.

One statement takes seats and inserts the bookings for them, for any number of students at once (a single
booking is a batch of one): the quota rows are raised by the number of students on each, only where that
keeps `taken <= seats`, and the bookings are inserted for exactly the rows raised. The CHECK `taken <= seats`
and the partial unique index "one active booking per student and seminar" are the guarantees, not Python
checks. Students name their quota row by id (a front that already chose it, e.g. the Redis claim) or by
rank (the row of that rank on the slot); `insert=False` takes the seat only (moving a booking to it).
Seats are given back by `seat_give_back` (booking/services/bookings.py::seat_release first offers them
to the waiting list); the Redis copy of the counters and its
claim script are booking/seatcounter.py.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from saas.sql import sql_bound, table_in
from webhooks.events import EventType, events_emit, events_emit_many

ONE_ACTIVE_PER_SEMINAR = (
    "booking_one_active_per_seminar"  # the unique index's name, as IntegrityError says it
)


@dataclass(frozen=True)
class SeatRequest:
    """One student's seat: on quota row `quota` (an id), or on the slot's row of rank `quota` (a rank)."""

    candidate_id: int
    slot_id: int
    seminar_id: int
    quota: int | str
    code: str = ""


def check_in_code_new() -> str:
    return secrets.token_hex(8)


@functools.lru_cache(maxsize=4096)
def seats_take_sql(rows: int, *, by_rank: bool = False, insert: bool = True, schema: str = "") -> str:
    """The statement for `rows` students; parameters: each row's five values (SeatRequest order), then the
    bookings' creation time (`insert` only). With `schema`, the tables are named in that schema (the
    connection's search path is not used).

    Returns (booking id, candidate id, quota id) per booking inserted, or (quota id,) per seat taken.
    """
    quotas, bookings = table_in(schema, "booking_slotquota"), table_in(schema, "booking_booking")
    wanted, seat = _wanted_sql(rows, by_rank=by_rank, quotas=quotas), _seat_sql(quotas)
    if not insert:
        return f"WITH {wanted},\n{seat}\nSELECT id FROM seat"
    return f"""WITH {wanted},
{seat}
{_insert_sql(bookings)}
RETURNING id, candidate_id, quota_id"""


@functools.lru_cache(maxsize=4096)
def seats_take_unless_locked_sql(rows: int, *, schema: str) -> str:
    """seats_take_sql (by quota id, inserting) that first locks the quota rows named in its first parameter
    (an array; the second is their number) with SKIP LOCKED, and writes nothing unless it got them all:
    then it returns the single row (-1, 0, 0) instead of waiting for the transaction that holds them."""
    quotas, bookings = table_in(schema, "booking_slotquota"), table_in(schema, "booking_booking")
    return f"""WITH locked AS (SELECT id FROM {quotas} WHERE id = ANY(%s) ORDER BY id FOR UPDATE SKIP LOCKED),
ready AS (SELECT count(*) = %s AS ok FROM locked),
{_wanted_sql(rows, by_rank=False, quotas=quotas)},
{_seat_sql(quotas, only_if_ready=True)},
made AS (
{_insert_sql(bookings)}
RETURNING id, candidate_id, quota_id
)
SELECT id, candidate_id, quota_id FROM made
UNION ALL SELECT -1, 0, 0 FROM ready WHERE NOT ok"""


def _wanted_sql(rows: int, *, by_rank: bool, quotas: str) -> str:
    if by_rank:
        values = ", ".join(["(%s::integer, %s::integer, %s::integer, %s::varchar, %s::varchar)"] * rows)
        return f"""wanted (candidate_id, slot_id, seminar_id, quota_id, code) AS (
    SELECT v.candidate_id, v.slot_id, v.seminar_id, q.id, v.code
    FROM (VALUES {values}) AS v (candidate_id, slot_id, seminar_id, rank, code)
    JOIN {quotas} q ON q.slot_id = v.slot_id AND q.rank = v.rank
)"""
    values = ", ".join(["(%s::integer, %s::integer, %s::integer, %s::integer, %s::varchar)"] * rows)
    return f"wanted (candidate_id, slot_id, seminar_id, quota_id, code) AS (VALUES {values})"


def _seat_sql(quotas: str, *, only_if_ready: bool = False) -> str:
    """Raise each wanted quota row by its number of students where that keeps taken <= seats (only if the
    one-row CTE `ready` says ok, with `only_if_ready`)."""
    source, condition = ("per_quota p, ready r", "r.ok AND ") if only_if_ready else ("per_quota p", "")
    return f"""per_quota AS (SELECT quota_id, slot_id, count(*) AS n FROM wanted GROUP BY quota_id, slot_id),
seat AS (
    UPDATE {quotas} q SET taken = q.taken + p.n
    FROM {source}
    WHERE {condition}q.id = p.quota_id AND q.slot_id = p.slot_id AND q.taken + p.n <= q.seats
    RETURNING q.id
)"""


def _insert_sql(bookings: str) -> str:
    return f"""INSERT INTO {bookings}
    (candidate_id, slot_id, seminar_id, quota_id, status, attendance, check_in_code, created_at)
SELECT w.candidate_id, w.slot_id, w.seminar_id, w.quota_id, 'active', 'unknown', w.code, %s
FROM wanted w JOIN seat s ON s.id = w.quota_id"""


def seats_take(
    requests: Sequence[SeatRequest], *, now: datetime | None, by_rank: bool = False, insert: bool = True
) -> list[tuple[int, ...]]:
    """Run the statement for these students inside the caller's transaction; the rows it returned."""
    params: list[Any] = []
    for request in requests:
        params += [request.candidate_id, request.slot_id, request.seminar_id, request.quota, request.code]
    if insert:
        params.append(now)
    with connection.cursor() as cursor:
        cursor.execute(seats_take_sql(len(requests), by_rank=by_rank, insert=insert), params)
        rows = list(cursor.fetchall())
    if insert and rows:
        # Every entrance inserts here (a single booking is a batch of one): the company's webhooks hear of
        # every new booking with one more statement per batch, in the same transaction.
        events_emit(event_type=EventType.BOOKING_CREATED, items=_booking_events(requests, rows))
    return rows


def seats_take_many(
    batches: Sequence[tuple[str, Sequence[SeatRequest]]], *, now: datetime, skip_locked: Collection[str] = ()
) -> list[list[tuple[int, ...]] | None]:
    """Several companies' seats inside the caller's transaction, in two round trips whatever their number:
    each company's quota rows locked in id order, then its seats_take statement on its own tables, all
    companies in schema order (so two such writes, or one and a single company's, never wait for each
    other in a circle); then their booking.created events. The rows each company's statement returned, in
    the order given. The rush path writes the winners of many companies opening together so.

    `skip_locked` (schemas): such a company whose quota rows another transaction holds is left out (None in
    its place) instead of waited for: two processes writing the winners of the same popular companies
    otherwise wait for each other's whole batch, company after company. Only the other companies wait, and
    always in schema order, so no two writes wait for each other in a circle.
    """
    ordered = sorted(range(len(batches)), key=lambda index: batches[index][0])
    parts = []
    for index in ordered:
        schema, requests = batches[index]
        params: list[Any] = []
        for request in requests:
            params += [request.candidate_id, request.slot_id, request.seminar_id, request.quota, request.code]
        quota_ids = sorted({int(request.quota) for request in requests})
        if schema in skip_locked:
            sql = seats_take_unless_locked_sql(len(requests), schema=schema)
            parts.append(sql_bound(sql, [quota_ids, len(quota_ids), *params, now]))
        else:
            parts.append(_lock_sql(schema, quota_ids))
            parts.append(sql_bound(seats_take_sql(len(requests), schema=schema), [*params, now]))
    rows: list[list[tuple[int, ...]] | None] = [[] for _ in batches]
    with connection.cursor() as cursor:
        cursor.execute(";\n".join(parts))
        for position, index in enumerate(ordered):
            skippable = batches[index][0] in skip_locked
            if position:
                cursor.nextset()  # past the previous company's statement
            if not skippable:
                cursor.fetchall()
                cursor.nextset()  # past the lock's rows
            found = list(cursor.fetchall())
            rows[index] = None if skippable and found == [(-1, 0, 0)] else found
    events_emit_many(
        event_type=EventType.BOOKING_CREATED,
        items={
            schema: _booking_events(requests, found)
            for (schema, requests), found in zip(batches, rows, strict=True)
            if found
        },
    )
    return rows


def _lock_sql(schema: str, quota_ids: Sequence[Any]) -> str:
    return sql_bound(
        f"SELECT id FROM {table_in(schema, 'booking_slotquota')} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
        [sorted(set(quota_ids))],
    )


def _booking_event(request: SeatRequest, *, booking_id: int) -> dict[str, Any]:
    return {
        "booking_id": booking_id,
        "candidate_id": request.candidate_id,
        "seminar_id": request.seminar_id,
        "slot_id": request.slot_id,
        "status": "active",
    }


def _booking_events(requests: Sequence[SeatRequest], rows: list[tuple[int, ...]]) -> list[dict[str, Any]]:
    """booking.created's data for each inserted (booking id, candidate id, quota id): ids only."""
    # A quota named by id finds its request exactly; one named by rank is a batch of one student.
    by_quota = {(request.candidate_id, request.quota): request for request in requests}
    by_candidate = {request.candidate_id: request for request in requests}
    events = []
    for booking_id, candidate_id, quota_id in rows:
        request = by_quota.get((candidate_id, quota_id)) or by_candidate[candidate_id]
        events.append(_booking_event(request, booking_id=booking_id))
    return events


def quota_rows_lock(quota_ids: Sequence[int]) -> None:
    """Lock quota rows in id order: every writer of several rows takes them so, and none deadlocks."""
    with connection.cursor() as cursor:
        cursor.execute(_lock_sql("", quota_ids))


def seat_give_back(*, quota_id: int) -> None:
    """One seat of this quota row is free again (a cancellation or move nobody on the waiting list takes)."""
    with connection.cursor() as cursor:
        cursor.execute("UPDATE booking_slotquota SET taken = taken - 1 WHERE id = %s", [quota_id])
