"""Celery entry points of the incidents app (public schema; ids only, never model instances)."""

from __future__ import annotations

import logging

from django_tenants.utils import get_public_schema_name, schema_context

from saas.celery import app

logger = logging.getLogger(__name__)

@app.task(ignore_result=True)
def incident_notify_task(*, incident_id: int, update_id: int | None) -> None:
    from incidents.services.notify import incident_fanout

    with schema_context(get_public_schema_name()):
        fanout = incident_fanout(incident_id=incident_id, update_id=update_id)
    # Mail first (the outbox has 5 s, the webhooks 10 s), then the webhooks in a few batches behind it.
    for chunk in fanout.mail_chunks:
        incident_mail_chunk_task.delay(incident_id=incident_id, update_id=update_id, tenant_ids=chunk)
    for batch in fanout.webhook_batches:
        webhook_deliver_batch_task.delay(delivery_ids=batch)


@app.task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=5, max_retries=5)
def incident_mail_chunk_task(
    *, incident_id: int, update_id: int | None, tenant_ids: list[int], renotify: bool = False
) -> None:
    from incidents.services.notify import incident_mail_tenants

    with schema_context(get_public_schema_name()):
        incident_mail_tenants(
            incident_id=incident_id, update_id=update_id, tenant_ids=tenant_ids, renotify=renotify
        )


@app.task(ignore_result=True)
def webhook_deliver_batch_task(*, delivery_ids: list[int]) -> None:
    """First attempt of many deliveries at once; a failed one is retried alone by webhook_deliver_task."""
    from incidents.services.webhooks import retry_delay_seconds, webhook_attempt_many

    with schema_context(get_public_schema_name()):
        pending = webhook_attempt_many(delivery_ids=delivery_ids)
    for delivery_id, attempts in pending:
        webhook_deliver_task.apply_async(
            kwargs={"delivery_id": delivery_id}, countdown=retry_delay_seconds(attempts)
        )


@app.task(bind=True, ignore_result=True, max_retries=6)
def webhook_deliver_task(self, *, delivery_id: int) -> None:
    from incidents.models import DeliveryStatus
    from incidents.services.webhooks import retry_delay_seconds, webhook_attempt

    with schema_context(get_public_schema_name()):
        delivery = webhook_attempt(delivery_id=delivery_id)
    if delivery.status == DeliveryStatus.PENDING:
        raise self.retry(countdown=retry_delay_seconds(delivery.attempts))


@app.task(ignore_result=True)
def ack_escalation_task() -> None:
    from incidents.services.notify import acknowledgements_escalate

    with schema_context(get_public_schema_name()):
        escalated = acknowledgements_escalate()
    for incident_id, tenant_id in escalated:
        incident_mail_chunk_task.delay(
            incident_id=incident_id, update_id=None, tenant_ids=[tenant_id], renotify=True
        )


@app.task(ignore_result=True)
def maintenance_tick_task() -> None:
    from incidents.services.maintenance import maintenance_tick

    with schema_context(get_public_schema_name()):
        maintenance_tick()


@app.task(ignore_result=True)
def data_incident_reminders_task() -> None:
    from incidents.services.appi import data_incident_reminders

    with schema_context(get_public_schema_name()):
        data_incident_reminders()


@app.task(ignore_result=True)
def sentry_alert_task(*, alert_id: int) -> None:
    from incidents.services.sentry import sentry_alert_process

    with schema_context(get_public_schema_name()):
        sentry_alert_process(alert_id=alert_id)


@app.task(ignore_result=True)
def leak_scan_task() -> None:
    from incidents.services.leak import leak_scan_all

    with schema_context(get_public_schema_name()):
        leak_scan_all()


@app.task(ignore_result=True)
def student_notice_task(*, data_incident_id: int, tenant_id: int, subject: str, body: str) -> None:
    from incidents.services.appi import student_notices_send

    with schema_context(get_public_schema_name()):
        student_notices_send(
            data_incident_id=data_incident_id, tenant_id=tenant_id, subject=subject, body=body
        )


@app.task(ignore_result=True)
def maintenance_notify_task(*, maintenance_id: int, phase: str) -> None:
    from incidents.services.maintenance import maintenance_notify

    with schema_context(get_public_schema_name()):
        maintenance_notify(maintenance_id=maintenance_id, phase=phase)
