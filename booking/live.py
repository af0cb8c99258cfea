"""Live seat counts: changes are coalesced per seminar and pushed once per seminar and rank.

After a commit that changed seats, `seats_changed` marks the slot's seminar dirty. Across processes a
Redis `SET NX PX` lets one process own the next push of that seminar; it pushes every slot after the
window, so every change committed inside the window is in that push (always the latest value), and a
seminar is pushed at most a few times per second however many bookings arrive. One computation per push, one
pre-encoded frame per rank group, one Redis PUBLISH per seminar; each websocket process writes the
frames to its own sockets (booking/fanout.py), whatever the number of watchers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django_tenants.utils import get_public_schema_name, schema_context

from booking.clients import cache_client
from booking.keys import seats_window_key
from tenants.selectors import current_schema
from tenants.websocket import tenant_group

logger = logging.getLogger(__name__)

# A change reaches the watchers within this window plus the fan-out (target: 99 % within 1 s); shorter
# windows mean more pushes per seminar while seats change (at most 1 / WINDOW_SECONDS a second), and so
# more of the cores the bookings need (settings.SEAT_PUSH_WINDOW_SECONDS).
WINDOW_SECONDS = settings.SEAT_PUSH_WINDOW_SECONDS
# The push runs a little after the window closes, so a change committed inside it is always seen.
PUSH_DELAY_SECONDS = WINDOW_SECONDS + 0.05

_pending: dict[tuple[str, int], float] = {}
_lock = threading.Lock()
_wake = threading.Event()
_thread: threading.Thread | None = None


def seats_group(*, tenant, seminar_id: int, rank: str) -> str:
    return tenant_group(tenant, f"seats.{seminar_id}.{rank}")


def seats_changed(*, slot_ids: list[int], counters_current: bool = False) -> None:
    """Queue a push of these slots' counts once the current transaction commits.

    Unless the change went through the Redis seat counters (`counters_current`), their copy of these
    slots' seminars is dropped, so the next claim rebuilds it from PostgreSQL.
    """
    schema_name = current_schema()
    ids = sorted(set(slot_ids))
    transaction.on_commit(lambda: seats_dirty(schema_name=schema_name, slot_ids=ids))
    if not counters_current:
        from booking.seatcounter import counters_drop_for_slots  # it imports booking.models

        transaction.on_commit(lambda: counters_drop_for_slots(schema_name=schema_name, slot_ids=ids))


_seminar_of: dict[tuple[str, int], int] = {}


def _seminars_of(*, schema_name: str, slot_ids: list[int]) -> set[int]:
    """The seminars of these slots (a slot never changes seminar, so this is remembered)."""
    from booking.models import Slot

    missing = [slot_id for slot_id in slot_ids if (schema_name, slot_id) not in _seminar_of]
    if missing:
        with schema_context(schema_name):
            for slot_id, seminar_id in Slot.objects.filter(pk__in=missing).values_list("pk", "seminar_id"):
                _seminar_of[(schema_name, slot_id)] = seminar_id
        if len(_seminar_of) > 100_000:
            _seminar_of.clear()
    return {_seminar_of[(schema_name, s)] for s in slot_ids if (schema_name, s) in _seminar_of}


def slots_remember(*, schema_name: str, seminar_id: int, slot_ids: list[int]) -> None:
    """Note which seminar these slots belong to, so the first commits of a rush ask nothing (warm-up)."""
    for slot_id in slot_ids:
        _seminar_of[(schema_name, slot_id)] = seminar_id


def seats_dirty(*, schema_name: str, slot_ids: list[int]) -> None:
    """Coalesce per seminar: one push per window carries every slot of the seminar."""
    seats_dirty_many(slots={schema_name: slot_ids})


def seats_dirty_many(*, slots: dict[str, list[int]]) -> None:
    """seats_dirty for several companies' slots: the windows of all their seminars claimed in one Redis
    round trip (the rush path commits the winners of many companies together)."""
    wanted = [
        (schema_name, seminar_id)
        for schema_name, slot_ids in slots.items()
        for seminar_id in sorted(_seminars_of(schema_name=schema_name, slot_ids=slot_ids))
        # this process pushes that seminar soon anyway: no Redis round trip during a rush
        if (schema_name, seminar_id) not in _pending
    ]
    claimed = _windows_claim(wanted)
    with _lock:
        for key in claimed:
            _pending.setdefault(key, time.monotonic() + PUSH_DELAY_SECONDS)
    _ensure_thread()
    _wake.set()


def _windows_claim(wanted: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """The seminars whose next push this process owns (SET NX PX per seminar, one pipeline)."""
    if not wanted:
        return []
    try:
        pipe = cache_client().pipeline(transaction=False)
        for schema_name, seminar_id in wanted:
            pipe.set(
                seats_window_key(schema=schema_name, seminar_id=seminar_id),
                b"1",
                nx=True,
                px=int(WINDOW_SECONDS * 1000),
            )
        return [key for key, won in zip(wanted, pipe.execute(), strict=True) if won]
    except Exception:
        # Without Redis each process coalesces on its own: more pushes, never a missed one.
        logger.warning("seat push window: redis unavailable, pushing from this process")
        return wanted


def seats_changed_many(*, slots: dict[str, list[int]]) -> None:
    """seats_changed for seats taken through the Redis counters in several companies in one transaction
    (its tables named with their schema): one push queued per seminar once it commits."""
    found = {schema_name: sorted(set(slot_ids)) for schema_name, slot_ids in slots.items()}
    transaction.on_commit(lambda: seats_dirty_many(slots=found))


def _ensure_thread() -> None:
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _thread = threading.Thread(target=_run, name="booking-seat-push", daemon=True)
        _thread.start()


def _run() -> None:
    while True:
        with _lock:
            now = time.monotonic()
            due = [key for key, at in _pending.items() if at <= now]
            for key in due:
                del _pending[key]
            next_at = min(_pending.values(), default=None)
        if due:
            try:
                seats_push(due=due)
            except Exception:
                logger.exception("seat push failed")
            finally:
                connections.close_all()
        timeout = None if next_at is None else max(next_at - time.monotonic(), 0.0)
        if timeout is None or timeout > 0:
            _wake.wait(timeout)
            _wake.clear()


def seats_push(*, due: list[tuple[str, int]]) -> int:
    """Compute the counts of these seminars once and publish each (one message); returns frames.

    The counts of every company's due seminars come from one query and go out in one Redis pipeline: with
    hundreds of companies opening together a push round is two round trips, not a few per company."""
    from booking.fanout import fanouts_publish

    close_old_connections()
    by_schema: dict[str, list[int]] = {}
    for schema_name, seminar_id in due:
        by_schema.setdefault(schema_name, []).append(seminar_id)
    messages = _messages_for_many(by_schema=by_schema)
    fanouts_publish(messages=messages)
    return sum(len(frames) for frames in messages.values())


# What a push needs besides the counts (the company, the seminar's slots, the ranks that see it) changes only
# when a recruiter edits the seminar: each process keeps it this long, so a push is one query per company
# (with 200 companies opening together, six queries per seminar and push took most of a process's
# interpreter). A rank made visible meanwhile gets pushes within these seconds (its first frame at once).
SHAPE_SECONDS = 5.0
_shapes: dict[tuple[str, int], tuple[float, Any, list[int], list[str]]] = {}


def _shapes_of(*, schema_name: str, seminar_ids: list[int]) -> dict[int, tuple[Any, list[int], list[str]]]:
    """(tenant, slot ids, visible ranks) per seminar, from this process's copy when it is recent."""
    from booking.models import Slot
    from booking.rules import RANKS
    from booking.rush.state import STALE_SECONDS, seminar_state_recent
    from booking.selectors import seminar_visible_ranks

    now = time.monotonic()
    found: dict[int, tuple[Any, list[int], list[str]]] = {}
    missing = []
    for seminar_id in seminar_ids:
        known = _shapes.get((schema_name, seminar_id))
        if known is not None and known[0] > now:
            found[seminar_id] = known[1:]
        else:
            missing.append(seminar_id)
    if not missing:
        return found
    tenant = _tenant_of(schema_name, now=now)
    # A rush process keeps every opening seminar's state (booking/rush/state.py) and decides its bookings
    # with it: its slots and visible ranks are the shape, read without a query, as current as the
    # decisions whose counts are pushed (at an opening, hundreds of seminars' shapes every few seconds were
    # a seventh of the interpreter's time in a rush process).
    for seminar_id in list(missing):
        state = seminar_state_recent(schema=schema_name, seminar_id=seminar_id, within=STALE_SECONDS)
        if state is not None:
            found[seminar_id] = (
                tenant,
                list(state.slots),
                [r for r in RANKS if state.rank_access(r).visible],
            )
            _shapes[(schema_name, seminar_id)] = (now + SHAPE_SECONDS, *found[seminar_id])
            missing.remove(seminar_id)
    if not missing:
        return found
    with schema_context(schema_name):
        slots = (
            Slot.objects.filter(seminar_id__in=missing)
            .select_related("seminar")
            .prefetch_related("seminar__rank_rules")
        )
        by_seminar: dict[int, list[Slot]] = {}
        for slot in slots:
            by_seminar.setdefault(slot.seminar_id, []).append(slot)
        for seminar_id, seminar_slots in by_seminar.items():
            ranks = seminar_visible_ranks(seminar=seminar_slots[0].seminar)
            found[seminar_id] = (tenant, [slot.pk for slot in seminar_slots], ranks)
            _shapes[(schema_name, seminar_id)] = (now + SHAPE_SECONDS, *found[seminar_id])
    if len(_shapes) > 20_000:
        _shapes.clear()
    return found


_tenants: dict[str, tuple[float, Any]] = {}
TENANT_SECONDS = 300.0  # only its id is used (the group name), which never changes


def _tenant_of(schema_name: str, *, now: float) -> Any:
    from tenants.models import Tenant

    known = _tenants.get(schema_name)
    if known is not None and known[0] > now:
        return known[1]
    with schema_context(get_public_schema_name()):
        tenant = Tenant.objects.get(schema_name=schema_name)
    if len(_tenants) > 20_000:
        _tenants.clear()
    _tenants[schema_name] = (now + TENANT_SECONDS, tenant)
    return tenant


def _messages_for_many(*, by_schema: dict[str, list[int]]) -> dict[tuple[str, int], dict[str, str]]:
    from booking.selectors import remaining_for_rank, slots_remaining_many

    shapes = {
        schema_name: _shapes_of(schema_name=schema_name, seminar_ids=seminar_ids)
        for schema_name, seminar_ids in by_schema.items()
    }
    # Every commit before this instant is in the counts below (watchers measure their lag from it).
    as_of = round(time.time(), 4)
    quotas = slots_remaining_many(
        slots={
            schema_name: [pk for _, slot_ids, _ in found.values() for pk in slot_ids]
            for schema_name, found in shapes.items()
        }
    )
    messages: dict[tuple[str, int], dict[str, str]] = {}
    for schema_name, found in shapes.items():
        company = quotas.get(schema_name, {})
        for seminar_id, (tenant, slot_ids, ranks) in found.items():
            frames = messages.setdefault((schema_name, seminar_id), {})
            for rank in ranks:
                counts = {
                    str(pk): remaining_for_rank(quotas=company.get(pk, {}), rank=rank) for pk in slot_ids
                }
                text = json.dumps({"type": "seats", "seminar": seminar_id, "slots": counts, "at": as_of})
                frames[seats_group(tenant=tenant, seminar_id=seminar_id, rank=rank)] = text
    return messages
