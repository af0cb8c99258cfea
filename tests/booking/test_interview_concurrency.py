"""Interview bookings from many threads at once: no interviewer is double-booked, no group overfills."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from booking import errors
from booking.models import BookingStatus, InterviewBooking, InterviewSession, InterviewType
from booking.services.interviews import availability_add, interview_book, interview_type_create
from candidates.models import Candidate
from tests.booking.conftest import candidate_make
from tests.booking.test_interviews import interviewer_make


@pytest.mark.slow
@pytest.mark.parametrize("capacity, interviewers, students, expected", [(1, 2, 12, 2), (3, 2, 12, 6)])
def test_simultaneous_interview_bookings(tenants, committed, capacity, interviewers, students, expected):
    acme = tenants["acme"]
    start = timezone.localtime(timezone.now() + timedelta(days=5)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    with schema_context(acme.schema):
        people = [interviewer_make() for _ in range(interviewers)]
        kind = interview_type_create(
            name="同時面接テスト",
            step="interview",
            interviewers=people,
            capacity=capacity,
            duration_minutes=60,
        )
        for person in people:
            availability_add(interviewer=person, starts_at=start, ends_at=start + timedelta(hours=1))
        candidates = [candidate_make(status="interview") for _ in range(students)]
    answers: list[str] = []
    barrier = threading.Barrier(students)

    def attempt(candidate) -> None:
        try:
            with schema_context(acme.schema):
                barrier.wait()
                try:
                    interview_book(candidate=candidate, interview_type_id=kind.pk, starts_at=start)
                    answers.append("booked")
                except errors.BookingError as error:
                    answers.append(error.code)
                except Exception as error:  # reported in the assertion below, never swallowed
                    answers.append(f"error:{type(error).__name__}:{error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(c,)) for c in candidates]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(answers) == students
        assert answers.count("booked") == expected
        assert set(answers) <= {"booked", "time_taken"}
        with schema_context(acme.schema):
            sessions = InterviewSession.objects.filter(interview_type=kind, taken__gt=0)
            assert sessions.count() == interviewers
            assert len({s.interviewer_id for s in sessions}) == interviewers
            assert all(s.taken == capacity for s in sessions)
            active = InterviewBooking.objects.filter(interview_type=kind, status=BookingStatus.ACTIVE)
            assert active.count() == expected
    finally:
        with schema_context(acme.schema):
            InterviewBooking.objects.filter(interview_type=kind).delete()
            InterviewSession.objects.filter(interview_type=kind).delete()
            InterviewType.objects.filter(pk=kind.pk).delete()
            Candidate.objects.filter(pk__in=[c.pk for c in candidates]).delete()
            User.objects.filter(pk__in=[p.pk for p in people]).delete()
