"""What the rush path needs to know about a seminar, read from PostgreSQL at most every few seconds per process.

Thousands of requests a second ask the same questions (which quota rows does this slot have for rank B, is
booking open for rank B, is the waiting room on); the answers change only when a recruiter edits the
seminar, so each process keeps them for STATE_SECONDS and the hot path runs no query at all.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from cachetools import LRUCache

from booking.models import Seminar, SlotQuota
from booking.rules import RANKS, Audience, RankAccess, audience_of, rank_access, seat_ranks

if TYPE_CHECKING:
    from booking.rush.passes import StudentPass

STATE_SECONDS = 2.0
# After STATE_SECONDS an event-loop caller keeps answering from the state it has for up to this long while
# one refresh waits its turn and runs on a thread (booking/rush/refresh.py paces them: with hundreds of
# seminars opening together a turn comes every few seconds), never every request of that moment falling
# back to the slow way at once.
STALE_SECONDS = 60.0


@dataclass(frozen=True)
class SlotState:
    slot_id: int
    starts_at: datetime
    ends_at: datetime
    quotas: dict[str, int]  # rank (or POOL) -> quota row id

    def quota_ids_for(self, rank: str) -> list[int]:
        return [self.quotas[r] for r in seat_ranks(rank) if r in self.quotas]


@dataclass(frozen=True)
class SeminarState:
    schema: str
    seminar_id: int
    title: str
    place: str
    online_url: str
    booking_deadline: datetime | None
    waiting_room: str
    admission_per_second: int
    latency_ms: int
    slots: dict[int, SlotState]
    audience: Audience
    access: dict[str, RankAccess] = field(default_factory=dict)
    loaded_at: float = 0.0

    def rank_access(self, rank: str) -> RankAccess:
        found = self.access.get(rank)
        return found if found is not None else RankAccess(visible=False, opens_at=None)

    def open_to(self, student: StudentPass) -> bool:
        """The student's rank sees the seminar and it is for them (their season; booking/rules.py's Audience)."""
        return self.rank_access(student.rank).visible and self.audience.admits(
            season_id=student.season_id, offer_holder=student.offer_holder
        )

    @functools.cached_property
    def version(self) -> str:
        """Changes when anything the rush page shows changes (not on every reload); computed once per copy."""
        shown = (
            self.title,
            self.place,
            self.online_url,
            tuple((s.slot_id, s.starts_at, s.ends_at) for s in self.slots.values()),
            tuple((rank, a.visible, a.opens_at) for rank, a in sorted(self.access.items())),
        )
        return str(hash(shown))


# Per process, bounded with LRU eviction (cachetools): made-up seminar ids push out only the least used
# entries. A seminar known to be missing stays answered from memory: ids are handed out in order, so an id
# above the company's newest (read at most once a second) cannot exist, and a missing id below it never will.
_cache: LRUCache[tuple[str, int], tuple[float, SeminarState | None]] = LRUCache(maxsize=5_000)
_newest: dict[str, tuple[float, int]] = {}  # schema -> (read at, newest seminar id)
_lock = threading.Lock()
NEWEST_SECONDS = 1.0
MISSING_SECONDS = 10.0  # an id below the newest may still commit late (ids are taken at insert)


def seminar_state(
    *, schema: str, seminar_id: int, now: float | None = None, fresh: bool = False
) -> SeminarState | None:
    """The seminar as the rush path sees it (None if it does not exist); call inside the company's schema.

    `fresh` reads PostgreSQL even when the cached state is still current.
    """
    now = now if now is not None else time.monotonic()
    key = (schema, seminar_id)
    with _lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] > now and not fresh:
        return cached[1]
    if seminar_id > _newest_id(schema=schema, now=now):
        # Not yet: nothing to keep (no cache entry for a made-up id), asked again with the newest id.
        return None
    state = _load(schema=schema, seminar_id=seminar_id)
    seconds = STATE_SECONDS if state is not None else MISSING_SECONDS
    with _lock:
        _cache[key] = (now + seconds, state)
    return state


def _newest_id(*, schema: str, now: float) -> int:
    """The company's newest seminar id, read again when older than NEWEST_SECONDS."""
    known = _newest.get(schema)
    if known is not None and now - known[0] < NEWEST_SECONDS:
        return known[1]
    newest = Seminar.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with _lock:
        _newest[schema] = (now, newest)
        if len(_newest) > 20_000:
            _newest.pop(next(iter(_newest)))
    return newest


def seminar_created(*, schema: str, seminar_id: int) -> None:
    """A new seminar is seen at once in this process (other processes within NEWEST_SECONDS)."""
    with _lock:
        _newest.pop(schema, None)
        _cache.pop((schema, seminar_id), None)


def seminar_state_cached(*, schema: str, seminar_id: int) -> SeminarState | None:
    """The cached state if it is fresh, without touching the database (None otherwise)."""
    with _lock:
        cached = _cache.get((schema, seminar_id))
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def seminar_state_recent(*, schema: str, seminar_id: int, within: float) -> SeminarState | None:
    """This process's copy if it was read from PostgreSQL less than `within` seconds ago (no I/O)."""
    with _lock:
        cached = _cache.get((schema, seminar_id))
    if cached is None or cached[1] is None or time.time() - cached[1].loaded_at >= within:
        return None
    return cached[1]


def seminar_state_or_stale(*, schema: str, seminar_id: int) -> tuple[SeminarState | None, bool]:
    """The cached state, even a little past its time, and whether it should be refreshed now.

    (None, True) when nothing usable is cached. A refresh is asked for once per expiry: the caller that
    gets True starts it (seminar_state() on a thread), the others keep using what is there meanwhile.
    """
    key = (schema, seminar_id)
    with _lock:
        cached = _cache.get(key)
    now = time.monotonic()
    if cached is None or cached[0] + STALE_SECONDS <= now:
        newest = _newest.get(schema)
        if newest is not None and now - newest[0] < NEWEST_SECONDS and seminar_id > newest[1]:
            return None, False  # above the company's newest seminar: no such seminar, from memory
        return None, True
    if cached[0] > now:
        return cached[1], False
    with _lock:
        # Claim the refresh: push the expiry a little so the next callers do not ask for it again.
        current = _cache.get(key)
        if current is not cached:
            return (current[1], False) if current is not None else (None, True)
        _cache[key] = (now + STATE_SECONDS / 2, cached[1])
    return cached[1], True


def seminar_state_forget() -> None:
    with _lock:
        _cache.clear()
        _newest.clear()


def _load(*, schema: str, seminar_id: int) -> SeminarState | None:
    seminar = Seminar.objects.filter(pk=seminar_id).prefetch_related("rank_rules", "slots").first()
    if seminar is None:
        return None
    rules = list(seminar.rank_rules.all())
    quotas: dict[int, dict[str, int]] = {}
    for quota_id, slot_id, rank in SlotQuota.objects.filter(slot__seminar_id=seminar_id).values_list(
        "id", "slot_id", "rank"
    ):
        quotas.setdefault(slot_id, {})[rank] = quota_id
    slots = {
        slot.pk: SlotState(
            slot_id=slot.pk,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            quotas=quotas.get(slot.pk, {}),
        )
        for slot in seminar.slots.all()
    }
    return SeminarState(
        schema=schema,
        seminar_id=seminar.pk,
        title=seminar.title,
        place=seminar.place,
        online_url=seminar.online_url,
        booking_deadline=seminar.booking_deadline,
        waiting_room=seminar.waiting_room,
        admission_per_second=max(int(seminar.admission_per_second), 1),
        latency_ms=int(seminar.waiting_room_latency_ms),
        slots=slots,
        audience=audience_of(seminar),
        access={rank: rank_access(seminar=seminar, rank=rank, rules=rules) for rank in RANKS},
        loaded_at=time.time(),
    )
