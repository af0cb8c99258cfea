"""Booking reads: what a rank may see and book, seats left per slot and rank, a student's bookings."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from booking.models import (
    POOL,
    Booking,
    BookingStatus,
    Seminar,
    Slot,
    SlotQuota,
    WaitlistEntry,
    WaitlistStatus,
)
from booking.rules import RANKS, RankAccess, rank_access, seminar_open_to
from saas.sql import table_in

if TYPE_CHECKING:
    from candidates.models import Candidate


def seminar_visible_ranks(*, seminar: Seminar) -> list[str]:
    rules = list(seminar.rank_rules.all())
    return [rank for rank in RANKS if rank_access(seminar=seminar, rank=rank, rules=rules).visible]


def seminar_list_for_rank(
    *, rank: str, candidate: Candidate | None = None
) -> list[tuple[Seminar, RankAccess]]:
    """Seminars a rank may see; with `candidate`, only those open to that student (season, audience)."""
    seminars = Seminar.objects.filter(published=True).prefetch_related("rank_rules")
    if candidate is not None:
        seminars = seminars.filter(season_id=candidate.season_id)
    result = []
    for seminar in seminars:
        if candidate is not None and not seminar_open_to(seminar=seminar, candidate=candidate):
            continue
        access = rank_access(seminar=seminar, rank=rank, rules=list(seminar.rank_rules.all()))
        if access.visible:
            result.append((seminar, access))
    return result


def seminar_get_for_rank(
    *, seminar_id: int, rank: str, candidate: Candidate | None = None
) -> tuple[Seminar, RankAccess] | None:
    seminar = Seminar.objects.filter(pk=seminar_id).prefetch_related("rank_rules").first()
    if seminar is None or (
        candidate is not None and not seminar_open_to(seminar=seminar, candidate=candidate)
    ):
        return None
    access = rank_access(seminar=seminar, rank=rank, rules=list(seminar.rank_rules.all()))
    return (seminar, access) if access.visible else None


def remaining_for_rank(*, quotas: dict[str, int], rank: str) -> int:
    """Seats a rank can still take: its own quota, then the shared pool."""
    return max(quotas.get(rank, 0), 0) + max(quotas.get(POOL, 0), 0)


def slot_quota_remaining(*, slot_ids: list[int]) -> dict[int, dict[str, int]]:
    """{slot_id: {rank or POOL: seats left}} in one query."""
    result: dict[int, dict[str, int]] = defaultdict(dict)
    for slot_id, rank, seats, taken in SlotQuota.objects.filter(slot_id__in=slot_ids).values_list(
        "slot_id", "rank", "seats", "taken"
    ):
        result[slot_id][rank] = seats - taken
    return dict(result)


def slots_remaining_many(*, slots: dict[str, list[int]]) -> dict[str, dict[int, dict[str, int]]]:
    """slot_quota_remaining for several companies (schema -> slot ids) in one query, their tables named
    with their schema: {schema: {slot_id: {rank or POOL: seats left}}} (the live counts of many companies
    opening together)."""
    wanted = [(schema, ids) for schema, ids in slots.items() if ids]
    result: dict[str, dict[int, dict[str, int]]] = {schema: {} for schema, _ in wanted}
    if not wanted:
        return result
    parts: list[str] = []
    params: list[Any] = []
    for schema, ids in wanted:
        table = table_in(schema, "booking_slotquota")
        parts.append(f"SELECT %s, slot_id, rank, seats - taken FROM {table} WHERE slot_id = ANY(%s)")
        params += [schema, list(ids)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for schema, slot_id, rank, left in cursor.fetchall():
            result[schema].setdefault(slot_id, {})[rank] = left
    return result


def seminar_remaining_for_rank(*, seminar_id: int, rank: str) -> dict[int, int]:
    """{slot_id: seats left for this rank} for every slot of a seminar, in one query."""
    quotas: dict[int, dict[str, int]] = defaultdict(dict)
    rows = SlotQuota.objects.filter(slot__seminar_id=seminar_id).values_list(
        "slot_id", "rank", "seats", "taken"
    )
    for slot_id, quota_rank, seats, taken in rows:
        quotas[slot_id][quota_rank] = seats - taken
    slot_ids = Slot.objects.filter(seminar_id=seminar_id).values_list("id", flat=True)
    return {slot_id: remaining_for_rank(quotas=quotas.get(slot_id, {}), rank=rank) for slot_id in slot_ids}


def slot_list(*, seminar: Seminar) -> QuerySet[Slot]:
    return seminar.slots.all().prefetch_related("quotas")


def booking_list_for_candidate(*, candidate: Candidate) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(candidate=candidate, status=BookingStatus.ACTIVE)
        .select_related("slot", "seminar")
        .order_by("slot__starts_at")
    )


def booking_get_for_candidate(*, candidate: Candidate, booking_id: int) -> Booking | None:
    return (
        Booking.objects.filter(pk=booking_id, candidate=candidate, status=BookingStatus.ACTIVE)
        .select_related("slot", "seminar")
        .first()
    )


def active_booking_in_seminar(*, candidate: Candidate, seminar_id: int) -> Booking | None:
    return (
        Booking.objects.filter(candidate=candidate, seminar_id=seminar_id, status=BookingStatus.ACTIVE)
        .select_related("slot")
        .first()
    )


def waitlist_open_for_candidate(*, candidate: Candidate) -> QuerySet[WaitlistEntry]:
    return (
        WaitlistEntry.objects.filter(
            candidate=candidate, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED]
        )
        .select_related("slot", "slot__seminar")
        .order_by("created_at")
    )


def waitlist_due_offers(*, now: datetime | None = None) -> QuerySet[WaitlistEntry]:
    now = now or timezone.now()
    return WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED, offer_expires_at__lte=now)


def slot_waitlist(*, slot: Slot) -> QuerySet[WaitlistEntry]:
    """The slot's open waiting list in its order (offered first in line, then the waiting)."""
    return (
        WaitlistEntry.objects.filter(slot=slot, status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED])
        .select_related("candidate")
        .order_by("created_at", "id")
    )


def slot_bookings(*, slot: Slot) -> QuerySet[Booking]:
    return (
        Booking.objects.filter(slot=slot, status=BookingStatus.ACTIVE)
        .select_related("candidate", "quota")
        .order_by("candidate__family_kana", "id")
    )


def seminar_list_all(*, season_id: int | None = None) -> QuerySet[Seminar]:
    seminars = Seminar.objects.all()
    if season_id is not None:
        seminars = seminars.filter(season_id=season_id)
    return seminars.prefetch_related("slots", "slots__quotas")


def slot_booked_count(*, slot: Slot) -> int:
    return sum(quota.taken for quota in slot.quotas.all())


def booking_get_by_code(*, code: str) -> Booking | None:
    return (
        Booking.objects.filter(check_in_code=code.strip())
        .select_related("candidate", "slot", "seminar")
        .first()
    )
