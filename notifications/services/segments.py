"""Segment mail (セグメント配信): pick students by filters, queue one marketing mail each, now or later."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext

from notifications.errors import NotificationError
from notifications.models import SegmentMail
from notifications.services.outbox import outbox_kick_on_commit
from notifications.services.schedule import mail_settings_get, quiet_adjust
from notifications.services.sequences import candidate_condition_sql
from notifications.services.templating import template_validate
from tenants.selectors import current_schema

if TYPE_CHECKING:
    from seasons.models import Season


def segment_filters_clean(filters: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        "ranks": [str(rank) for rank in filters.get("ranks", []) if str(rank)],
        "graduation_years": [int(year) for year in filters.get("graduation_years", [])],
        "statuses": [str(status) for status in filters.get("statuses", []) if str(status)],
        "require_not_booked": bool(filters.get("require_not_booked", False)),  # type: ignore[dict-item]
        "boards": [str(board) for board in filters.get("boards", []) if str(board)],
        "tags": [str(tag) for tag in filters.get("tags", []) if str(tag)],
        "candidate_ids": [int(candidate_id) for candidate_id in filters.get("candidate_ids", [])],
    }


@transaction.atomic
def segment_create(
    *,
    name: str,
    subject: str,
    body: str,
    filters: dict[str, Any],
    send_at: dt.datetime | None = None,
    season: Season | None = None,
) -> SegmentMail:
    """Save a segment mail of `season` (the default season when None); it reaches students of that season only.

    If it is due now its outbox rows are queued in the same transaction.
    """
    if not name.strip():
        raise NotificationError(gettext("配信名を入力してください。"))
    if not subject.strip() or not body.strip():
        raise NotificationError(gettext("件名と本文を入力するか、テンプレートを選んでください。"))
    template_validate(subject=subject, body=body)
    segment = SegmentMail.objects.create(
        name=name.strip(),
        subject=subject,
        body=body,
        filters=segment_filters_clean(filters),
        send_at=send_at or timezone.now(),
        **({"season": season} if season is not None else {}),
    )
    if segment.send_at <= timezone.now():
        segment_enqueue(segment_id=segment.id)
        segment.refresh_from_db()
    return segment


@transaction.atomic
def segment_enqueue(*, segment_id: int, now: dt.datetime | None = None) -> int:
    """One INSERT … SELECT for every matching student; runs once per segment (conditional update)."""
    now = now or timezone.now()
    claimed = SegmentMail.objects.filter(id=segment_id, enqueued_at__isnull=True).update(enqueued_at=now)
    if not claimed:
        return 0
    segment = SegmentMail.objects.get(id=segment_id)
    window = mail_settings_get()
    send_at = quiet_adjust(at=max(now, segment.send_at), start=window.quiet_start, end=window.quiet_end)
    filters = segment_filters_clean(segment.filters)
    conditions, params = candidate_condition_sql(**filters, season_id=segment.season_id)  # type: ignore[arg-type]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO notifications_outboxmessage
                (idempotency_key, candidate_id, to_address, subject, body, html_body, headers, kind, status,
                 needs_render, render_context, sequence_step_id, segment_id, attempts, next_attempt_at,
                 lease_until, sent_at, error, created_at)
            SELECT 'seg:' || %s || ':' || c.id, c.id, c.email, %s, %s, '', '{{}}'::jsonb, 'marketing', 'queued',
                   true, '{{}}'::jsonb, NULL, %s, 0, %s, NULL, NULL, '', %s
              FROM candidates_candidate c
             WHERE {conditions}
            ON CONFLICT (idempotency_key) DO NOTHING
            """,
            [segment.id, segment.subject, segment.body, segment.id, send_at, now] + params,  # type: ignore[arg-type]
        )
        count = cursor.rowcount
    SegmentMail.objects.filter(id=segment_id).update(recipients=count)
    outbox_kick_on_commit(schema_name=current_schema())
    return count  # type: ignore[no-any-return]


def segment_enqueue_due(*, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    total = 0
    for segment_id in SegmentMail.objects.filter(enqueued_at__isnull=True, send_at__lte=now).values_list(
        "id", flat=True
    ):
        total += segment_enqueue(segment_id=segment_id, now=now)
    return total
