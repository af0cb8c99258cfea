"""Reads for the notifications pages: counts per sequence and step, a student's mail history, previews."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from candidates.models import Candidate, Entry
from notifications.models import (
    MailTemplate,
    OutboxMessage,
    OutboxStatus,
    SegmentMail,
    Sequence,
    SequenceStep,
    Unsubscribe,
)


@dataclass
class StepCounts:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    unsubscribed: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def step_counts(*, step_ids: list[int]) -> dict[int, StepCounts]:
    """Queued (incl. sending), sent, failed (incl. undeliverable/suppressed) and unsubscribes caused, per step."""
    counts: dict[int, StepCounts] = defaultdict(StepCounts)
    rows = (
        OutboxMessage.objects.filter(sequence_step_id__in=step_ids)
        .values("sequence_step_id", "status")
        .annotate(n=Count("id"))
    )
    for row in rows:
        item = counts[row["sequence_step_id"]]
        item.by_status[row["status"]] = row["n"]
        if row["status"] in (OutboxStatus.QUEUED, OutboxStatus.SENDING):
            item.queued += row["n"]
        elif row["status"] == OutboxStatus.SENT:
            item.sent += row["n"]
        else:
            item.failed += row["n"]
    unsubscribes = (
        Unsubscribe.objects.filter(source_message__sequence_step_id__in=step_ids)
        .values("source_message__sequence_step_id")
        .annotate(n=Count("id"))
    )
    for unsubscribed in unsubscribes:
        counts[unsubscribed["source_message__sequence_step_id"]].unsubscribed = unsubscribed["n"]
    return dict(counts)


def sequence_counts(*, sequences: list[Sequence]) -> dict[int, StepCounts]:
    steps = SequenceStep.objects.filter(sequence__in=sequences).values_list("id", "sequence_id")
    per_step = step_counts(step_ids=[step_id for step_id, _ in steps])
    totals: dict[int, StepCounts] = defaultdict(StepCounts)
    for step_id, sequence_id in steps:
        item = per_step.get(step_id)
        if item:
            total = totals[sequence_id]
            total.queued += item.queued
            total.sent += item.sent
            total.failed += item.failed
            total.unsubscribed += item.unsubscribed
    return dict(totals)


def sequence_list(*, season_id: int | None = None) -> QuerySet[Sequence]:
    sequences = Sequence.objects.all() if season_id is None else Sequence.objects.filter(season_id=season_id)
    return sequences.annotate(step_count=Count("steps")).order_by("id")


def sequence_steps(*, sequence: Sequence) -> QuerySet[SequenceStep]:
    return sequence.steps.select_related("template").order_by("position")


def template_list() -> QuerySet[MailTemplate]:
    return MailTemplate.objects.all()


def segment_list(*, season_id: int | None = None) -> QuerySet[SegmentMail]:
    return SegmentMail.objects.all() if season_id is None else SegmentMail.objects.filter(season_id=season_id)


def candidate_mail_history(*, candidate_id: int) -> QuerySet[OutboxMessage]:
    """Every mail to this student, newest first, with its content as sent."""
    return OutboxMessage.objects.filter(candidate_id=candidate_id).select_related(
        "sequence_step__sequence", "segment"
    )


def candidate_filter(
    *,
    ranks: list[str],
    graduation_years: list[int],
    statuses: list[str],
    require_not_booked: bool,
    boards: list[str] | None = None,
    tags: list[str] | None = None,
    season_id: int | None = None,
    candidate_ids: list[int] | None = None,
) -> QuerySet[Candidate]:
    """The students a segment with these filters would reach (same rules as the outbox insert)."""
    from notifications.models import CandidateEvent

    queryset = Candidate.objects.exclude(email="").filter(email_undeliverable=False, merged_into__isnull=True)
    if season_id is not None:
        queryset = queryset.filter(season_id=season_id)
    if candidate_ids:
        queryset = queryset.filter(id__in=candidate_ids)
    if boards:
        queryset = queryset.filter(id__in=Entry.objects.filter(board__in=boards).values("candidate_id"))
    if tags:
        queryset = queryset.filter(
            id__in=Candidate.tags.through.objects.filter(tag__name__in=tags).values("candidate_id")
        )
    if ranks:
        queryset = queryset.filter(rank__in=ranks)
    if graduation_years:
        queryset = queryset.filter(graduation_year__in=graduation_years)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if require_not_booked:
        booked = CandidateEvent.objects.filter(event="seminar_booked").values("candidate_id")
        queryset = queryset.exclude(id__in=booked)
    unsubscribed = Unsubscribe.objects.values("candidate_id")
    return queryset.exclude(id__in=unsubscribed)
