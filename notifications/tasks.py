"""Celery entry points: deliver a tenant's outbox, scan every tenant for due rows, steps and segment mails."""

from __future__ import annotations

import logging

from django.db import connection
from django_tenants.utils import schema_context

from saas.celery import app
from tenants.context import for_each_tenant, tenant_schemas

logger = logging.getLogger(__name__)


@app.task(name="notifications.outbox_deliver", bind=True, acks_late=True, ignore_result=True)
def outbox_deliver(self, schema_name: str) -> dict[str, int]:
    from notifications.services.delivery import outbox_deliver_due

    report = outbox_deliver_due(schema_name=schema_name)
    if report.remaining:
        queue = (self.request.delivery_info or {}).get("routing_key")
        options = {"queue": queue} if queue else {}
        outbox_deliver.apply_async(args=[schema_name], countdown=1 if report.rate_limited else 0, **options)
    return {"sent": report.sent, "retried": report.retried, "failed": report.failed}


def _has_due(schema_name: str) -> bool:
    from django.utils import timezone

    with schema_context(schema_name):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT EXISTS (SELECT 1 FROM notifications_outboxmessage WHERE"
                " (status = 'queued' AND next_attempt_at <= %s) OR (status = 'sending' AND lease_until < %s))",
                [timezone.now(), timezone.now()],
            )
            return bool(cursor.fetchone()[0])


@app.task(name="notifications.outbox_scan", ignore_result=True)
def outbox_scan(queue: str | None = None) -> int:
    """Wake a worker for every tenant with due rows (`queue`: keep the work on a dedicated queue)."""
    kicked = 0
    options = {"queue": queue} if queue else {}
    for schema_name in tenant_schemas():
        if _has_due(schema_name):
            outbox_deliver.apply_async(args=[schema_name], **options)
            kicked += 1
    return kicked


@app.task(name="notifications.sequence_scan_tenant", ignore_result=True)
def sequence_scan_tenant(schema_name: str) -> int:
    from notifications.services.segments import segment_enqueue_due
    from notifications.services.sequences import sequence_due_scan

    with schema_context(schema_name):
        added = sum(sequence_due_scan().values())
        added += segment_enqueue_due()
    return added


@app.task(name="notifications.sequence_scan", ignore_result=True)
def sequence_scan() -> None:
    for schema_name in tenant_schemas():
        sequence_scan_tenant.apply_async(args=[schema_name])


@app.task(name="notifications.erased_notices_scrub", ignore_result=True)
def erased_notices_scrub_task() -> int:
    """Blank the address of sent notices to erased students in every company (beat, every 10 minutes)."""
    from notifications.personal_data import erased_notices_scrub

    return sum(for_each_tenant(lambda _schema: erased_notices_scrub()).values())
