"""The one place booking sends from: e-mails through the notifications outbox, events to the step mails."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from saas.dates import when
from tenants.selectors import current_schema

logger = logging.getLogger(__name__)


def booking_mail_send(*, candidate, subject: str, body: str, key: str, needs_render: bool = False) -> None:
    """Queue one transactional mail to a student in the tenant's outbox (idempotent on `key`); with
    `needs_render` the outbox fills the template variables (the My Page link) when it sends."""
    from notifications.services import outbox_enqueue

    address = candidate.email
    if not address or getattr(candidate, "email_undeliverable", False):
        logger.info("booking mail skipped, no deliverable address key=%s", key)
        return
    outbox_enqueue(
        key=key,
        to=address,
        subject=subject,
        body=body,
        kind="transactional",
        candidate_id=candidate.pk,
        needs_render=needs_render,
    )


def booking_event(*, event: str, booking) -> None:
    """Tell the step mails that a student booked or cancelled (after the booking commits)."""
    from notifications.services import sequence_trigger

    slot = booking.slot
    context = {
        "booking_id": booking.pk,
        "slot_starts_at": slot.starts_at.isoformat(),
        "seminar_name": booking.seminar.title,
        "slot_text": when(slot.starts_at, "full_time"),
    }
    candidate_id = booking.candidate_id

    def record() -> None:
        try:
            sequence_trigger(
                event=event, candidate_id=candidate_id, occurred_at=timezone.now(), context=context
            )
        except Exception:
            # A booking never fails because a step mail could not be scheduled; the error is logged.
            logger.exception("step-mail trigger failed event=%s booking=%s", event, booking.pk)

    transaction.on_commit(record)


def attendance_event(*, booking, attendance: str) -> None:
    """Attendance starts or stops step mails ("attended" / "no_show"), once the transaction commits."""
    from notifications.services import sequence_trigger

    if attendance not in ("attended", "no_show"):
        return
    schema_name = current_schema()
    booking_id, candidate_id = booking.pk, booking.candidate_id

    def record() -> None:
        try:
            with schema_context(schema_name):
                sequence_trigger(
                    event=attendance,
                    candidate_id=candidate_id,
                    occurred_at=timezone.now(),
                    context={"occurrence": f"attendance:{booking_id}:{attendance}"},
                )
        except Exception:
            logger.exception("step-mail trigger failed event=%s booking=%s", attendance, booking_id)

    transaction.on_commit(record)


def student_page_push(*, candidate_id: int, event: dict) -> None:
    """Show something on the student's open My Pages at once (after the transaction commits); best effort:
    the mail and the page on its next load say the same."""
    from notifications.services import student_push
    from tenants.models import Tenant

    schema_name = current_schema()

    def push() -> None:
        try:
            tenant = Tenant.objects.only("pk", "schema_name").get(schema_name=schema_name)
            student_push(tenant=tenant, candidate_id=candidate_id, event=event)
        except Exception:
            logger.warning("My Page push failed event=%s", event.get("type"))

    transaction.on_commit(push)
