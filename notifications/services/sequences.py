"""Step mails: events enroll students in sequences; a set-based scan turns due steps into outbox rows."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import connection, transaction
from django.db.models import Subquery
from django.utils import timezone

from candidates.models import Candidate
from notifications.errors import SequenceError
from notifications.models import CandidateEvent, Enrollment, Sequence, SequenceStep, Trigger
from notifications.services.outbox import outbox_kick_on_commit
from notifications.services.schedule import mail_settings_get, quiet_adjust
from tenants.selectors import current_schema

logger = logging.getLogger(__name__)

EVENTS = frozenset(
    {
        Trigger.ENTRY_IMPORTED,
        Trigger.SEMINAR_BOOKED,
        Trigger.ATTENDED,
        Trigger.NO_SHOW,
        Trigger.STATUS_CHANGED,
        "booking_cancelled",
    }
)
BOOKING_CANCELLED = "booking_cancelled"  # an event only: stops the "N days before" mails of that booking


def _json_safe(context: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, dt.datetime | dt.date) else value
        for key, value in context.items()
    }


@transaction.atomic
def sequence_trigger(
    *, event: str, candidate_id: int, occurred_at: dt.datetime, context: dict[str, Any] | None = None
) -> list[Enrollment]:
    """Record an event for a student (current tenant), start matching sequences, stop those it ends.

    context keys used: "occurrence" or "booking_id" (makes a repeat of the same event a no-op),
    "status" (status_changed), "slot_starts_at" (ISO datetime, seminar_booked: feeds "N days before"),
    "seminar_name" and "slot_text" (template variables 説明会名 and 日時).
    Events: entry_imported, seminar_booked, attended, no_show, status_changed, booking_cancelled.
    """
    if event not in EVENTS:
        raise SequenceError(f"unknown event {event!r}")
    context = _json_safe(dict(context or {}))
    occurrence = str(context.get("occurrence") or context.get("booking_id") or occurred_at.isoformat())
    CandidateEvent.objects.create(
        candidate_id=candidate_id, event=event, occurred_at=occurred_at, context=context
    )
    starts: list[tuple[Sequence, dt.datetime]] = []
    # A student runs through the sequences of their own season only.
    season_sequences = Sequence.objects.filter(
        is_active=True, season_id=Subquery(Candidate.objects.filter(pk=candidate_id).values("season_id")[:1])
    )
    for sequence in season_sequences.filter(trigger=event):
        if event == Trigger.STATUS_CHANGED and sequence.trigger_status not in ("", context.get("status")):
            continue
        starts.append((sequence, occurred_at))
    slot = context.get("slot_starts_at")
    if event == Trigger.SEMINAR_BOOKED and slot:
        slot_at = dt.datetime.fromisoformat(str(slot))
        for sequence in season_sequences.filter(trigger=Trigger.BEFORE_SLOT):
            anchor = slot_at - dt.timedelta(days=sequence.days_before or 0)
            if slot_at > occurred_at:
                starts.append((sequence, anchor))
    enrolled = []
    for sequence, anchor in starts:
        enrollment, _ = Enrollment.objects.get_or_create(
            sequence=sequence,
            candidate_id=candidate_id,
            occurrence=f"{event}:{occurrence}",
            defaults={"anchor_at": anchor, "context": context, "created_at": occurred_at},
        )
        enrolled.append(enrollment)
    _stop_for_event(event=event, candidate_id=candidate_id, context=context, occurred_at=occurred_at)
    schema_name = current_schema()
    transaction.on_commit(lambda: _scan_kick(schema_name=schema_name))
    return enrolled


def _stop_for_event(
    *, event: str, candidate_id: int, context: dict[str, Any], occurred_at: dt.datetime
) -> None:
    running = Enrollment.objects.filter(candidate_id=candidate_id, stopped_at__isnull=True)
    if event == Trigger.SEMINAR_BOOKED:
        # i18n: data — the reason is recorded on the enrolment as it happened
        running.filter(sequence__stop_on_booked=True).exclude(
            sequence__trigger__in=[Trigger.SEMINAR_BOOKED, Trigger.BEFORE_SLOT]
        ).update(stopped_at=occurred_at, stop_reason="説明会を予約")
    if event == BOOKING_CANCELLED and context.get("booking_id"):
        # i18n: data — the reason is recorded on the enrolment as it happened
        running.filter(occurrence=f"{Trigger.SEMINAR_BOOKED}:{context['booking_id']}").update(
            stopped_at=occurred_at, stop_reason="予約を取り消し"
        )
    status = context.get("status")
    if event == Trigger.STATUS_CHANGED and status:
        # i18n: data — the reason is recorded on the enrolment as it happened
        running.filter(sequence__stop_on_statuses__contains=[status]).update(
            stopped_at=occurred_at, stop_reason=f"ステータス {status}"
        )


@transaction.atomic
def sequence_trigger_many(
    *, event: str, candidate_ids: list[int], occurred_at: dt.datetime, occurrence: str
) -> int:
    """The same event for many students at once (an import batch): set-based, two INSERTs per sequence.

    For entry_imported, attended and no_show (events that carry no per-student context); returns enrollments added.
    """
    if event not in (Trigger.ENTRY_IMPORTED, Trigger.ATTENDED, Trigger.NO_SHOW):
        raise SequenceError(f"use sequence_trigger for {event!r}")
    ids = list(candidate_ids)
    if not ids:
        return 0
    added = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_candidateevent (candidate_id, event, occurred_at, context)"
            " SELECT c.id, %s, %s, '{}'::jsonb FROM candidates_candidate c WHERE c.id = ANY(%s)",
            [event, occurred_at, ids],
        )
        for sequence_id in Sequence.objects.filter(is_active=True, trigger=event).values_list(
            "id", flat=True
        ):
            cursor.execute(
                """
                INSERT INTO notifications_enrollment
                    (sequence_id, candidate_id, occurrence, anchor_at, context, created_at, stopped_at, stop_reason)
                SELECT s.id, c.id, %s, %s, '{}'::jsonb, %s, NULL, ''
                  FROM candidates_candidate c JOIN notifications_sequence s ON s.season_id = c.season_id
                 WHERE s.id = %s AND c.id = ANY(%s)
                ON CONFLICT (sequence_id, candidate_id, occurrence) DO NOTHING
                """,
                [f"{event}:{occurrence}", occurred_at, occurred_at, sequence_id, ids],
            )
            added += cursor.rowcount
    schema_name = current_schema()
    transaction.on_commit(lambda: _scan_kick(schema_name=schema_name))
    return added


def _scan_kick(*, schema_name: str) -> None:
    try:
        from django_redis import get_redis_connection

        from notifications.keys import sequence_scan_key
        from notifications.tasks import sequence_scan_tenant

        # A bulk import fires thousands of events: one scan per tenant per second covers them all.
        if not get_redis_connection("default").set(
            sequence_scan_key(schema_name=schema_name), 1, nx=True, px=1000
        ):
            return
        sequence_scan_tenant.apply_async(args=[schema_name], countdown=1)
    except Exception:
        logger.warning("could not queue the sequence scan; beat will run it", extra={"tenant": schema_name})


def candidate_condition_sql(
    *,
    ranks: list[str],
    graduation_years: list[int],
    statuses: list[str],
    require_not_booked: bool,
    boards: list[str] | None = None,
    tags: list[str] | None = None,
    season_id: int | None = None,
    candidate_ids: list[int] | None = None,
    alias: str = "c",
) -> tuple[str, list[Any]]:
    """SQL conditions on candidates_candidate (aliased) for a step or a segment: empty lists mean any.

    `season_id` keeps a mail inside its season; `candidate_ids` (a bulk action on a list) names the students.
    """
    clauses: list[str] = [
        f"{alias}.email <> ''",
        f"NOT {alias}.email_undeliverable",
        f"{alias}.merged_into_id IS NULL",  # a merged-away record is hidden; its survivor gets the mail
    ]
    params: list[Any] = []
    if season_id is not None:
        clauses.append(f"{alias}.season_id = %s")
        params.append(int(season_id))
    if candidate_ids:
        clauses.append(f"{alias}.id = ANY(%s)")
        params.append([int(candidate_id) for candidate_id in candidate_ids])
    if boards:
        clauses.append(
            f"EXISTS (SELECT 1 FROM candidates_entry en WHERE en.candidate_id = {alias}.id AND en.board = ANY(%s))"
        )
        params.append(list(boards))
    if tags:
        clauses.append(
            "EXISTS (SELECT 1 FROM candidates_candidate_tags ct JOIN candidates_tag tg ON tg.id = ct.tag_id"
            f" WHERE ct.candidate_id = {alias}.id AND tg.name = ANY(%s))"
        )
        params.append(list(tags))
    if ranks:
        clauses.append(f"{alias}.rank = ANY(%s)")
        params.append(list(ranks))
    if graduation_years:
        clauses.append(f"{alias}.graduation_year = ANY(%s)")
        params.append([int(year) for year in graduation_years])
    if statuses:
        clauses.append(f"{alias}.status = ANY(%s)")
        params.append(list(statuses))
    if require_not_booked:
        clauses.append(
            "NOT EXISTS (SELECT 1 FROM notifications_candidateevent ev"
            f" WHERE ev.candidate_id = {alias}.id AND ev.event = 'seminar_booked')"
        )
    clauses.append(
        f"NOT EXISTS (SELECT 1 FROM notifications_unsubscribe u WHERE u.candidate_id = {alias}.id)"
    )
    return " AND ".join(clauses), params


def _due_sql(step: SequenceStep) -> tuple[str, list[Any]]:
    """When the step falls due for an enrollment `e`, as an SQL expression (Japan time for "at HH:MM")."""
    if step.send_at_time is None:
        return "e.anchor_at + %s", [dt.timedelta(days=step.delay_days, minutes=step.delay_minutes)]
    day = "((((e.anchor_at AT TIME ZONE 'Asia/Tokyo')::date + %s::integer) + %s::time) AT TIME ZONE 'Asia/Tokyo')"
    # "+N days at HH:MM" is that day's HH:MM; a time already past on day 0 means the next day.
    return (
        f"(CASE WHEN {day} < e.anchor_at THEN {day} + interval '1 day' ELSE {day} END)",
        [step.delay_days, step.send_at_time] * 3,
    )


def _step_due_where(
    *, step: SequenceStep, sequence: Sequence, now: dt.datetime, with_template: bool = False
) -> tuple[str, list[Any]]:
    """FROM … WHERE selecting the enrollments (e) and students (c) for which this step is due now."""
    due_expression, due_params = _due_sql(step)
    conditions, condition_params = candidate_condition_sql(
        ranks=step.ranks,
        graduation_years=step.graduation_years,
        statuses=step.statuses,
        require_not_booked=step.require_not_booked or sequence.stop_on_booked,
        boards=step.boards,
        tags=step.tags,
        season_id=sequence.season_id,
    )
    stop_statuses = ""
    stop_params: list[Any] = []
    if sequence.stop_on_statuses:
        stop_statuses = "AND NOT (c.status = ANY(%s))"
        stop_params = [list(sequence.stop_on_statuses)]
    sql = f"""
          FROM notifications_enrollment e
          JOIN candidates_candidate c ON c.id = e.candidate_id
          {"JOIN notifications_mailtemplate t ON t.id = %s" if with_template else ""}
         WHERE e.sequence_id = %s AND e.stopped_at IS NULL
           AND e.anchor_at <= %s
           AND {due_expression} <= %s
           AND {conditions} {stop_statuses}
    """
    coarse_bound = now - dt.timedelta(days=max(step.delay_days - 1, 0))
    template = [step.template_id] if with_template else []
    return sql, [*template, sequence.id, coarse_bound, *due_params, now, *condition_params, *stop_params]


def step_due_count(*, step: SequenceStep, sequence: Sequence, now: dt.datetime) -> int:
    """How many students this step is due for now (whether or not already queued): the computation alone."""
    where, params = _step_due_where(step=step, sequence=sequence, now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {where}", params)
        return int(cursor.fetchone()[0])


def step_due_insert(*, step: SequenceStep, sequence: Sequence, now: dt.datetime, send_at: dt.datetime) -> int:
    """One INSERT … SELECT: every enrollment for which this step is due becomes an outbox row (once)."""
    where, where_params = _step_due_where(step=step, sequence=sequence, now=now, with_template=True)
    sql = f"""
        INSERT INTO notifications_outboxmessage
            (idempotency_key, candidate_id, to_address, subject, body, html_body, headers, kind, status,
             needs_render, render_context, sequence_step_id, segment_id, attempts, next_attempt_at,
             lease_until, sent_at, error, created_at)
        SELECT 'seq:' || e.id || ':' || %s, c.id, c.email, t.subject, t.body, '', '{{}}'::jsonb, 'marketing',
               'queued', true, e.context, %s, NULL, 0, %s, NULL, NULL, '', %s
        {where}
        ON CONFLICT (idempotency_key) DO NOTHING
    """
    params = [step.id, step.id, send_at, now, *where_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount  # type: ignore[no-any-return]


@transaction.atomic
def sequence_due_scan(*, now: dt.datetime | None = None) -> dict[int, int]:
    """Queue every due step of every active sequence of the current tenant; returns rows added per step."""
    now = now or timezone.now()
    window = mail_settings_get()
    send_at = quiet_adjust(at=now, start=window.quiet_start, end=window.quiet_end)
    added: dict[int, int] = {}
    steps = SequenceStep.objects.filter(sequence__is_active=True).select_related("sequence")
    for step in steps:
        added[step.id] = step_due_insert(step=step, sequence=step.sequence, now=now, send_at=send_at)
    if any(added.values()):
        outbox_kick_on_commit(schema_name=current_schema())
    return added
