"""Receivers of other apps' documented signals: attendance starts or stops step mails."""

from __future__ import annotations

import logging

from django.utils import timezone
from django_tenants.utils import schema_context

logger = logging.getLogger(__name__)


def on_attendance_marked(
    sender, *, schema_name: str, booking_id: int, candidate_id: int, attendance: str, **kwargs
):
    if attendance not in ("attended", "no_show"):
        return
    from notifications.services import sequence_trigger

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
