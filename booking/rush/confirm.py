"""Confirmation mails of seats booked on the rush path, off the hot path and without losing one.

A winner costs the request one Redis RPUSH (a Celery message costs ten times more); a worker drains the
lists every second and queues each mail in the tenant's outbox (idempotent on the booking). PostgreSQL
stays the truth: a sweep queues the confirmation of any recent booking that has none, so a list lost
with Redis (or a worker killed after popping) delays mails, never drops them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.seatcounter import REDIS_ERRORS, counter_client
from tenants.context import for_each_tenant, tenant_schemas

logger = logging.getLogger(__name__)

DRAIN_BATCH = 500


def _list_key(schema: str) -> str:
    return f"{settings.RUSH_KEY_PREFIX}confirm:{schema}"


def _schemas_key() -> str:
    return f"{settings.RUSH_KEY_PREFIX}confirm:schemas"


def confirm_later(
    *,
    schema: str,
    booking_id: int | None = None,
    booking_ids: list[int] | None = None,
    count_key: str | None = None,
) -> None:
    """Queue the confirmation of bookings just persisted (inline if Redis is away), in one round trip.

    `count_key`, when given, is the per-second "booked" counter of the rush view, bumped in the same trip.
    """
    ids = [*(booking_ids or ()), *(() if booking_id is None else (booking_id,))]
    if not ids:
        return
    try:
        pipe = counter_client().pipeline(transaction=False)
        pipe.rpush(_list_key(schema), *ids)
        pipe.sadd(_schemas_key(), schema)
        if count_key:
            pipe.incrby(count_key, len(ids))
            pipe.expire(count_key, 300)
        pipe.execute()
    except REDIS_ERRORS:
        from booking.services.bookings import booking_confirm_by_id

        logger.warning("rush: confirmation list unavailable, confirming inline")
        with schema_context(schema):
            for one in ids:
                booking_confirm_by_id(booking_id=one)


def confirmations_drain(*, batch: int = DRAIN_BATCH) -> int:
    """Queue the mails of every booking waiting in the lists; returns how many were handled."""
    from booking.services.bookings import booking_confirm_by_id

    client = counter_client()
    done = 0
    existing = set(tenant_schemas())
    for raw in client.smembers(_schemas_key()):
        schema = raw.decode()
        if schema not in existing:
            # The company was deleted (its bookings with it): nothing left to confirm there.
            client.delete(_list_key(schema))
            client.srem(_schemas_key(), schema)
            continue
        while True:
            ids = client.lpop(_list_key(schema), batch) or []
            if not ids:
                break
            with schema_context(schema):
                for booking_id in ids:
                    booking_confirm_by_id(booking_id=int(booking_id))
                    done += 1
    return done


def confirmations_sweep(*, hours: int = 2) -> int:
    """Confirm recent active bookings whose confirmation never reached the outbox (every tenant)."""
    from booking.models import Booking, BookingStatus
    from booking.services.bookings import booking_confirm_by_id
    from notifications.models import OutboxMessage

    since = timezone.now() - timedelta(hours=hours)

    def sweep(_schema: str) -> int:
        confirmed = OutboxMessage.objects.filter(
            idempotency_key__startswith=Concat(
                Value("booking-confirm:"), Cast(OuterRef("pk"), CharField()), Value(":")
            )
        )
        missing = list(
            Booking.objects.filter(status=BookingStatus.ACTIVE, created_at__gte=since)
            .exclude(candidate__email="")
            .exclude(candidate__email_undeliverable=True)
            .exclude(Exists(confirmed))
            .values_list("pk", flat=True)[:5000]
        )
        for booking_id in missing:
            booking_confirm_by_id(booking_id=booking_id)
        return len(missing)

    done = sum(for_each_tenant(sweep).values())
    if done:
        logger.warning("rush: %s confirmation(s) recovered by the sweep", done)
    return done
