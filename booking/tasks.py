"""Celery entry points of booking (each takes the schema name and ids, and runs inside that schema)."""

from __future__ import annotations

from django_tenants.utils import schema_context

from saas.celery import app
from tenants.context import for_each_tenant


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

    return sum(for_each_tenant(lambda _schema: waitlist_offers_expire_due()).values())


@app.task(name="booking.reminders")
def reminders_task() -> int:
    """Reminder mails for tomorrow's seminars and interviews in every company (beat, hourly; each goes once)."""
    from booking.services.interviews import interview_reminders_send
    from booking.services.reminders import seminar_reminders_send

    return sum(
        for_each_tenant(lambda _schema: seminar_reminders_send() + interview_reminders_send()).values()
    )


@app.task(name="booking.rush_confirmations")
def rush_confirmations_task() -> int:
    """Queue the confirmation mails of seats booked on the rush path (beat, every second)."""
    from booking.services.confirmations import confirmations_drain

    return confirmations_drain()


@app.task(name="booking.rush_confirmations_sweep")
def rush_confirmations_sweep_task() -> int:
    """Safety net: recent bookings without a confirmation get one (beat, every minute)."""
    from booking.services.confirmations import confirmations_sweep

    return confirmations_sweep()
