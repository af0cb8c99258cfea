"""Outbox writes: enqueue a message (idempotent on its key) and wake a worker after commit."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from notifications.models import MailKind, OutboxMessage, OutboxStatus
from notifications.services.schedule import mail_settings_get, quiet_adjust
from tenants.selectors import current_schema

logger = logging.getLogger(__name__)


def outbox_enqueue(
    *,
    key: str,
    to: str,
    subject: str,
    body: str,
    kind: str,
    candidate_id: int | None = None,
    html_body: str = "",
    headers: dict[str, str] | None = None,
    send_at: dt.datetime | None = None,
    render_context: dict[str, Any] | None = None,
    needs_render: bool = False,
    sequence_step_id: int | None = None,
    segment_id: int | None = None,
) -> OutboxMessage:
    """Queue one mail in the current tenant's outbox; the same key twice yields the first row."""
    row = _outbox_row(
        key=key,
        to=to,
        subject=subject,
        body=body,
        kind=kind,
        candidate_id=candidate_id,
        html_body=html_body,
        headers=headers,
        send_at=send_at,
        render_context=render_context,
        needs_render=needs_render,
        sequence_step_id=sequence_step_id,
        segment_id=segment_id,
    )
    # ON CONFLICT DO NOTHING never raises, so no savepoint is needed around it.
    OutboxMessage.objects.bulk_create([row], ignore_conflicts=True)
    existing = OutboxMessage.objects.get(idempotency_key=key)
    outbox_kick_on_commit(schema_name=current_schema())
    return existing


def outbox_enqueue_many(*, messages: list[dict[str, Any]]) -> int:
    """`outbox_enqueue` for several mails of the current tenant (each dict holds its keyword arguments):
    one INSERT and one wake-up, and no read-back of the rows; returns how many were given.

    For senders that queue many companies' mail in a row (an incident to 1,000 companies), where the
    read-back and the per-row wake-up were a third of the time.
    """
    rows = [_outbox_row(**message) for message in messages]
    if rows:
        OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True)
        outbox_kick_on_commit(schema_name=current_schema())
    return len(rows)


def _outbox_row(
    *,
    key: str,
    to: str,
    subject: str,
    body: str,
    kind: str,
    candidate_id: int | None = None,
    html_body: str = "",
    headers: dict[str, str] | None = None,
    send_at: dt.datetime | None = None,
    render_context: dict[str, Any] | None = None,
    needs_render: bool = False,
    sequence_step_id: int | None = None,
    segment_id: int | None = None,
) -> OutboxMessage:
    if kind not in MailKind.values:
        raise ValueError(f"unknown mail kind {kind!r}")
    due = send_at or timezone.now()
    if kind == MailKind.MARKETING:
        window = mail_settings_get()
        due = quiet_adjust(at=due, start=window.quiet_start, end=window.quiet_end)
    row = OutboxMessage(
        idempotency_key=key,
        candidate_id=candidate_id,
        to_address=to.strip(),
        subject=subject,
        body=body,
        html_body=html_body,
        headers=headers or {},
        kind=kind,
        next_attempt_at=due,
        render_context=render_context or {},
        needs_render=needs_render,
        sequence_step_id=sequence_step_id,
        segment_id=segment_id,
    )
    if not row.to_address:
        row.status = OutboxStatus.UNDELIVERABLE
        row.error = gettext_noop("宛先メールアドレスがありません")
    return row


def outbox_kick_on_commit(*, schema_name: str) -> None:
    transaction.on_commit(lambda: outbox_kick(schema_name=schema_name))


def outbox_kick(*, schema_name: str) -> bool:
    """Ask a worker to deliver this tenant's due rows now; without Redis the rows wait for the next scan."""
    try:
        from django_redis import get_redis_connection

        from notifications.keys import outbox_kick_key
        from notifications.tasks import outbox_deliver

        # One wake-up per tenant per second is enough: a running task drains everything due.
        if not get_redis_connection("default").set(
            outbox_kick_key(schema_name=schema_name), 1, nx=True, px=1000
        ):
            return False
        outbox_deliver.apply_async(args=[schema_name])
        return True
    except Exception:
        logger.warning("could not wake the outbox worker; rows stay queued", extra={"tenant": schema_name})
        return False
