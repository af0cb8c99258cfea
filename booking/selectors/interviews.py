"""Interview reads: which steps a student may book, free start times, who is free when."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from booking.models import (
    BookingStatus,
    InterviewBooking,
    InterviewerAvailability,
    InterviewSession,
    InterviewType,
)

if TYPE_CHECKING:
    from candidates.models import Candidate


@dataclass(frozen=True)
class InterviewTime:
    starts_at: datetime
    ends_at: datetime
    free_interviewers: int
    # Seats left in group sessions already running at this time.
    group_seats: int


def interview_types_for_candidate(*, candidate: Candidate) -> QuerySet[InterviewType]:
    return InterviewType.objects.filter(active=True, season_id=candidate.season_id, step=candidate.status)


def interview_type_for_candidate(
    *, candidate: Candidate, interview_type_id: int | str
) -> InterviewType | None:
    try:
        pk = int(interview_type_id)
    except (TypeError, ValueError):
        return None
    return interview_types_for_candidate(candidate=candidate).filter(pk=pk).first()


def _overlaps(start: datetime, end: datetime, other_start: datetime, other_end: datetime) -> bool:
    return start < other_end and other_start < end


def interviewer_is_free(
    *,
    interview_type: InterviewType,
    interviewer_id: int,
    starts_at: datetime,
    sessions: Iterable[InterviewSession],
    windows: Iterable[InterviewerAvailability],
) -> bool:
    """Inside one of the interviewer's windows and clear of their sessions (buffer included)."""
    ends_at = starts_at + timedelta(minutes=interview_type.duration_minutes)
    if not any(w.starts_at <= starts_at and ends_at <= w.ends_at for w in windows):
        return False
    buffer = timedelta(minutes=interview_type.buffer_minutes)
    for session in sessions:
        if _overlaps(starts_at - buffer, ends_at + buffer, session.starts_at, session.ends_at):
            return False
    return True


def interview_times(
    *, interview_type: InterviewType, now: datetime | None = None, days: int = 60
) -> list[InterviewTime]:
    """Start times a student can pick: inside some interviewer's availability, clear of their sessions."""
    now = now or timezone.now()
    earliest = now + timedelta(hours=interview_type.change_deadline_hours)
    horizon = now + timedelta(days=days)
    interviewer_ids = list(interview_type.interviewers.filter(is_active=True).values_list("id", flat=True))
    windows = defaultdict(list)
    for window in InterviewerAvailability.objects.filter(
        interviewer_id__in=interviewer_ids, ends_at__gt=earliest, starts_at__lt=horizon
    ):
        windows[window.interviewer_id].append(window)
    sessions = defaultdict(list)
    for session in InterviewSession.objects.filter(
        interviewer_id__in=interviewer_ids, ends_at__gt=earliest - timedelta(hours=12), taken__gt=0
    ):
        sessions[session.interviewer_id].append(session)
    duration = timedelta(minutes=interview_type.duration_minutes)
    step = duration + timedelta(minutes=interview_type.buffer_minutes)
    free: dict[datetime, int] = defaultdict(int)
    for interviewer_id, own_windows in windows.items():
        for window in own_windows:
            start = window.starts_at
            while start + duration <= window.ends_at:
                if start >= earliest and interviewer_is_free(
                    interview_type=interview_type,
                    interviewer_id=interviewer_id,
                    starts_at=start,
                    sessions=sessions.get(interviewer_id, []),
                    windows=own_windows,
                ):
                    free[start] += 1
                start += step
    group: dict[datetime, int] = defaultdict(int)
    if interview_type.capacity > 1:
        for own_sessions in sessions.values():
            for session in own_sessions:
                if session.interview_type_id == interview_type.pk and session.taken < session.capacity:
                    if session.starts_at >= earliest:
                        group[session.starts_at] += session.capacity - session.taken
    times = set(free) | set(group)
    return [
        InterviewTime(
            starts_at=t, ends_at=t + duration, free_interviewers=free.get(t, 0), group_seats=group.get(t, 0)
        )
        for t in sorted(times)
    ]


def interviewers_by_load(*, interview_type: InterviewType) -> list[int]:
    """Interviewer ids, fewest active bookings of this interview type first (round-robin fairness)."""
    rows = (
        interview_type.interviewers.filter(is_active=True)
        .annotate(
            load=Count(
                "interview_sessions__bookings",
                filter=Q(
                    interview_sessions__interview_type=interview_type,
                    interview_sessions__bookings__status=BookingStatus.ACTIVE,
                ),
            )
        )
        .order_by("load", "id")
        .values_list("id", flat=True)
    )
    return list(rows)


def interview_bookings_for_candidate(*, candidate: Candidate) -> QuerySet[InterviewBooking]:
    return (
        InterviewBooking.objects.filter(candidate=candidate, status=BookingStatus.ACTIVE)
        .select_related("session", "interview_type", "session__interviewer")
        .order_by("session__starts_at")
    )


def interview_bookings_of_type(*, interview_type: InterviewType) -> QuerySet[InterviewBooking]:
    return (
        InterviewBooking.objects.filter(interview_type=interview_type, status=BookingStatus.ACTIVE)
        .select_related("candidate", "session", "session__interviewer")
        .order_by("session__starts_at")
    )


def interview_reminders_due(*, now: datetime) -> QuerySet[InterviewBooking]:
    """Active bookings starting tomorrow (Japan time) whose reminder has not gone yet."""
    today = timezone.localtime(now).date()
    start = timezone.make_aware(datetime.combine(today + timedelta(days=1), datetime.min.time()))
    return InterviewBooking.objects.filter(
        status=BookingStatus.ACTIVE,
        reminder_sent_at__isnull=True,
        session__starts_at__gte=start,
        session__starts_at__lt=start + timedelta(days=1),
    ).select_related("candidate", "session", "interview_type")
