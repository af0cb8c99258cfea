"""Celery entry points of the selection app (their beat schedule is saas/celery.py's)."""

from __future__ import annotations

from saas.celery import app
from tenants.context import for_each_tenant


@app.task(name="selection.offer_reminders")
def offer_reminders_task() -> dict[str, dict[str, int]]:
    """Every company's offer deadline reminders and expiries (beat, every 15 minutes)."""
    from selection.services.offers import offer_reminders_send

    return for_each_tenant(lambda _schema: offer_reminders_send())
