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


def seats_dirty(*, schema_name: str, slot_ids: list[int]) -> None:
    """Coalesce per seminar: one push per window carries every slot of the seminar."""
    for seminar_id in _seminars_of(schema_name=schema_name, slot_ids=slot_ids):
        if (schema_name, seminar_id) in _pending:
            continue  # this process pushes that seminar soon anyway: no Redis round trip during a rush
        if not _window_claim(schema_name=schema_name, seminar_id=seminar_id):
            continue
        with _lock:
            _pending.setdefault((schema_name, seminar_id), time.monotonic() + PUSH_DELAY_SECONDS)
    _ensure_thread()
    _wake.set()


def _window_claim(*, schema_name: str, seminar_id: int) -> bool:
    try:
        return bool(
            cache_client().set(
                seats_window_key(schema=schema_name, seminar_id=seminar_id),
                b"1",
                nx=True,
                px=int(WINDOW_SECONDS * 1000),
            )
        )
    except Exception:
        # Without Redis each process coalesces on its own: more pushes, never a missed one.
        logger.warning("seat push window: redis unavailable, pushing from this process")
        return True


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
    """Compute the counts of these seminars once and publish each (one message); returns frames."""
    from booking.fanout import fanout_publish

    close_old_connections()
    by_schema: dict[str, list[int]] = {}
    for schema_name, seminar_id in due:
        by_schema.setdefault(schema_name, []).append(seminar_id)
    sent = 0
    for schema_name, seminar_ids in by_schema.items():
        for seminar_id, frames in _messages_for(schema_name=schema_name, seminar_ids=seminar_ids).items():
            fanout_publish(schema=schema_name, seminar_id=seminar_id, frames=frames)
            sent += len(frames)
    return sent


def _messages_for(*, schema_name: str, seminar_ids: list[int]) -> dict[int, dict[str, str]]:
    from booking.models import Slot
    from booking.selectors import remaining_for_rank, seminar_visible_ranks, slot_quota_remaining
    from tenants.models import Tenant

    with schema_context(get_public_schema_name()):
        tenant = Tenant.objects.get(schema_name=schema_name)
    messages: dict[int, dict[str, str]] = {}
    with schema_context(schema_name):
        # Every commit before this instant is in the counts below (watchers measure their lag from it).
        as_of = round(time.time(), 4)
        slot_ids = list(Slot.objects.filter(seminar_id__in=seminar_ids).values_list("pk", flat=True))
        quotas = slot_quota_remaining(slot_ids=slot_ids)
        slots = (
            Slot.objects.filter(pk__in=slot_ids)
            .select_related("seminar")
            .prefetch_related("seminar__rank_rules")
        )
        by_seminar: dict[int, list[Slot]] = {}
        for slot in slots:
            by_seminar.setdefault(slot.seminar_id, []).append(slot)
        for seminar_id, seminar_slots in by_seminar.items():
            seminar = seminar_slots[0].seminar
            for rank in seminar_visible_ranks(seminar=seminar):
                counts = {
                    str(slot.pk): remaining_for_rank(quotas=quotas.get(slot.pk, {}), rank=rank)
                    for slot in seminar_slots
                }
                text = json.dumps({"type": "seats", "seminar": seminar_id, "slots": counts, "at": as_of})
                group = seats_group(tenant=tenant, seminar_id=seminar_id, rank=rank)
                messages.setdefault(seminar_id, {})[group] = text
    return messages
