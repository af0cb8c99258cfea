"""Celery entry points of booking (each takes the schema name and ids, and runs inside that schema)."""

from __future__ import annotations

from django_tenants.utils import get_public_schema_name, schema_context

from saas.celery import app


@app.task(name="booking.waitlist_offer_expire")
def waitlist_offer_expire_task(schema_name: str, entry_id: int) -> int | None:
    from booking.services import waitlist_offer_expire

    with schema_context(schema_name):
        entry = waitlist_offer_expire(entry_id=entry_id)
        return entry.pk if entry is not None else None


@app.task(name="booking.waitlist_offers_sweep")
def waitlist_offers_sweep_task() -> int:
    """Periodic safety net: expire every due offer in every company (beat, every minute)."""
    from booking.services import waitlist_offers_expire_due
    from tenants.models import Tenant

    with schema_context(get_public_schema_name()):
        schemas = list(
            Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list("schema_name", flat=True)
        )
    total = 0
    for schema_name in schemas:
        with schema_context(schema_name):
            total += waitlist_offers_expire_due()
    return total


@app.task(name="booking.reminders")
def reminders_task() -> int:
    """Reminder mails for tomorrow's seminars and interviews in every company (beat, hourly; each goes once)."""
    from booking.services.interviews import interview_reminders_send
    from booking.services.reminders import seminar_reminders_send
    from tenants.models import Tenant

    with schema_context(get_public_schema_name()):
        schemas = list(
            Tenant.objects.exclude(schema_name=get_public_schema_name()).values_list("schema_name", flat=True)
        )
    total = 0
    for schema_name in schemas:
        with schema_context(schema_name):
            total += seminar_reminders_send() + interview_reminders_send()
    return total


# Periodic work of this app, merged into whatever schedule the project defines.
app.conf.beat_schedule = {
    **(app.conf.beat_schedule or {}),
    "booking-waitlist-offers-sweep": {"task": "booking.waitlist_offers_sweep", "schedule": 60.0},
    "booking-reminders": {"task": "booking.reminders", "schedule": 3600.0},
    "booking-rush-confirmations": {"task": "booking.rush_confirmations", "schedule": 1.0},
    "booking-rush-confirmations-sweep": {"task": "booking.rush_confirmations_sweep", "schedule": 60.0},
}


@app.task(name="booking.rush_confirmations")
def rush_confirmations_task() -> int:
    """Queue the confirmation mails of seats booked on the rush path (beat, every second)."""
    from booking.rush.confirm import confirmations_drain

    return confirmations_drain()


@app.task(name="booking.rush_confirmations_sweep")
def rush_confirmations_sweep_task() -> int:
    """Safety net: recent bookings without a confirmation get one (beat, every minute)."""
    from booking.rush.confirm import confirmations_sweep

    return confirmations_sweep()
