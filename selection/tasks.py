"""Celery entry points of the selection app (their beat schedule is saas/celery.py's)."""

from __future__ import annotations

from saas.celery import app
from tenants.context import for_each_tenant


@app.task(name="selection.offer_reminders")
def offer_reminders_task() -> dict[str, dict[str, int]]:
    """Every company's offer deadline reminders and expiries (beat, every 15 minutes)."""
    from selection.services.offers import offer_reminders_send

    return for_each_tenant(lambda _schema: offer_reminders_send())


@app.task(name="selection.step_mails_start")
def step_mails_start_task(schema_name: str, candidate_ids: list[int], status: str) -> int:
    """The step mails of many students' new status (a bulk move), started one student at a time."""
    from django_tenants.utils import schema_context

    from selection.services.moves import step_mails_start

    with schema_context(schema_name):
        for candidate_id in candidate_ids:
            step_mails_start(candidate_id=candidate_id, status=status)
    return len(candidate_ids)
