"""Interviews: free times from availability, round-robin assignment, groups, deadlines, reminders."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role, User
from booking import errors
from booking.models import BookingStatus, InterviewBooking, InterviewSession
from booking.selectors import interview_times
from booking.services.interviews import (
    availability_add,
    interview_book,
    interview_cancel,
    interview_reminders_send,
    interview_reschedule,
    interview_type_create,
)
from tests.booking.conftest import candidate_make
from tests.factories import UserFactory

_numbers = itertools.count(1)


def interviewer_make() -> User:
    return UserFactory(email=f"interviewer{next(_numbers)}@acme.example.jp", role=Role.RECRUITER)


@pytest.fixture
def day(acme_schema):
    """10:00–12:00 Japan time, three days from now."""
    local = timezone.localtime(timezone.now() + timedelta(days=3))
    start = local.replace(hour=10, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=2)


def test_times_follow_availability_duration_and_buffer(acme_schema, day):
    start, end = day
    interviewer = interviewer_make()
    kind = interview_type_create(
        name="一次面接", step="interview", interviewers=[interviewer], duration_minutes=30, buffer_minutes=10
    )
    availability_add(interviewer=interviewer, starts_at=start, ends_at=end)
    times = [t.starts_at for t in interview_times(interview_type=kind)]
    # 30 minutes + 10 minutes of buffer: 10:00, 10:40, 11:20 (12:00 would end after the window).
    assert times == [start, start + timedelta(minutes=40), start + timedelta(minutes=80)]
    student = candidate_make(status="interview")
    booking = interview_book(candidate=student, interview_type_id=kind.pk, starts_at=start.isoformat())
    assert booking.session.interviewer_id == interviewer.pk
    assert [t.starts_at for t in interview_times(interview_type=kind)] == times[1:]


def test_only_students_at_that_step_may_book(acme_schema, day):
    start, end = day
    interviewer = interviewer_make()
    kind = interview_type_create(name="二次面接", step="interview2", interviewers=[interviewer])
    availability_add(interviewer=interviewer, starts_at=start, ends_at=end)
    with pytest.raises(errors.InterviewNotAllowedError):
        interview_book(candidate=candidate_make(status="entry"), interview_type_id=kind.pk, starts_at=start)
    with pytest.raises(errors.InterviewTimeTakenError):
        interview_book(
            candidate=candidate_make(status="interview2"),
            interview_type_id=kind.pk,
            starts_at=start + timedelta(minutes=7),
        )


def test_round_robin_balances_interviewers(acme_schema, day):
    start, end = day
    people = [interviewer_make() for _ in range(3)]
    kind = interview_type_create(
        name="一次面接", step="interview", interviewers=people, duration_minutes=20, buffer_minutes=0
    )
    for person in people:
        availability_add(interviewer=person, starts_at=start, ends_at=end)
    for index in range(6):
        interview_book(
            candidate=candidate_make(status="interview"),
            interview_type_id=kind.pk,
            starts_at=start + timedelta(minutes=20 * (index // 3)),
        )
    loads = Counter(
        InterviewSession.objects.filter(interview_type=kind).values_list("interviewer_id", flat=True)
    )
    assert sorted(loads.values()) == [2, 2, 2]
    # Three interviewers at 10:00 were all used: no fourth student at that time.
    with pytest.raises(errors.InterviewTimeTakenError):
        interview_book(
            candidate=candidate_make(status="interview"), interview_type_id=kind.pk, starts_at=start
        )


def test_group_interview_fills_one_session_first(acme_schema, day):
    start, end = day
    first, second = interviewer_make(), interviewer_make()
    kind = interview_type_create(
        name="グループ面接", step="interview", interviewers=[first, second], capacity=3, duration_minutes=60
    )
    for person in (first, second):
        availability_add(interviewer=person, starts_at=start, ends_at=end)
    for _ in range(4):
        interview_book(
            candidate=candidate_make(status="interview"), interview_type_id=kind.pk, starts_at=start
        )
    sessions = list(InterviewSession.objects.filter(interview_type=kind).order_by("id"))
    assert [s.taken for s in sessions] == [3, 1] and sessions[0].interviewer_id != sessions[1].interviewer_id
    student = candidate_make(status="interview")
    interview_book(candidate=student, interview_type_id=kind.pk, starts_at=start)
    with pytest.raises(errors.AlreadyBookedError):
        interview_book(candidate=student, interview_type_id=kind.pk, starts_at=start)


def test_reschedule_and_cancel_until_the_deadline(
    acme_schema, day, mailoutbox, django_capture_on_commit_callbacks
):
    start, end = day
    interviewer = interviewer_make()
    kind = interview_type_create(
        name="最終面接",
        step="interview",
        interviewers=[interviewer],
        duration_minutes=30,
        buffer_minutes=0,
        change_deadline_hours=24,
    )
    availability_add(interviewer=interviewer, starts_at=start, ends_at=end)
    student = candidate_make(status="interview")
    with django_capture_on_commit_callbacks(execute=True):
        booking = interview_book(candidate=student, interview_type_id=kind.pk, starts_at=start)
    # The student's confirmation (the interviewer is told too: tests/selection/test_interviewer_notices.py).
    assert "予約完了" in [mail for mail in mailoutbox if mail.to == [student.email]][-1].subject
    moved = interview_reschedule(
        candidate=student, booking_id=booking.pk, starts_at=start + timedelta(minutes=30)
    )
    assert moved.pk == booking.pk and moved.session.starts_at == start + timedelta(minutes=30)
    # The old session is gone: its time is free again.
    assert start in [t.starts_at for t in interview_times(interview_type=kind)]
    late = start - timedelta(hours=2)
    with pytest.raises(errors.CancelDeadlinePassedError) as too_late:
        interview_cancel(candidate=student, booking_id=booking.pk, now=late)
    assert "締切" in too_late.value.message
    with pytest.raises(errors.NotBookedError):
        interview_cancel(candidate=candidate_make(status="interview"), booking_id=booking.pk)
    interview_cancel(candidate=student, booking_id=booking.pk)
    assert InterviewBooking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    assert not InterviewSession.objects.filter(interview_type=kind, taken__gt=0).exists()


def test_reminders_go_once_the_day_before(acme_schema, mailoutbox, django_capture_on_commit_callbacks):
    interviewer = interviewer_make()
    kind = interview_type_create(
        name="一次面接", step="interview", interviewers=[interviewer], change_deadline_hours=1
    )
    local = timezone.localtime(timezone.now() + timedelta(days=1)).replace(
        hour=15, minute=0, second=0, microsecond=0
    )
    availability_add(interviewer=interviewer, starts_at=local, ends_at=local + timedelta(hours=1))
    student = candidate_make(status="interview")
    now = local - timedelta(days=1) + timedelta(hours=-6)  # the day before, 09:00
    interview_book(candidate=student, interview_type_id=kind.pk, starts_at=local, now=now)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert interview_reminders_send(now=local - timedelta(days=2)) == 0  # two days before: not yet
        assert interview_reminders_send(now=now) == 1
        assert interview_reminders_send(now=now + timedelta(hours=1)) == 0  # once only
    assert [mail.subject for mail in mailoutbox] == ["【明日の面接】一次面接"]
    assert mailoutbox[0].to == [student.email]
