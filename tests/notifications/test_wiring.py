"""The other apps' events reach the step mails and the outbox: imports, bookings, cancellations, attendance."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.services.bookings import booking_cancel, booking_create
from booking.services.seminars import attendance_mark
from candidates.csvsource import CSVSource
from candidates.models import Candidate
from candidates.services.importing import entries_import
from notifications.models import CandidateEvent, Enrollment, OutboxMessage
from tests.booking.conftest import candidate_make, seminar_make
from tests.notifications.test_sequences import make_sequence

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def test_imported_students_enter_entry_sequences(tenants):
    with schema_context(tenants["acme"].schema):
        sequence, _ = make_sequence(trigger="entry_imported")
        started = timezone.now()
        with open(SAMPLES / "mynavi.csv", "rb") as handle:
            report = entries_import(source=CSVSource.open(fileobj=handle), parallel=False)
        assert report.created > 0
        # Every new student of the sequence's season is enrolled, and no student of another season.
        enrolled = Enrollment.objects.filter(sequence=sequence)
        in_season = Candidate.objects.filter(season_id=sequence.season_id, created_at__gte=started)
        assert 0 < enrolled.count() == in_season.count() < report.created
        assert set(enrolled.values_list("candidate__season_id", flat=True)) == {sequence.season_id}


def test_booking_queues_its_confirmation_and_feeds_the_sequences(tenants, django_capture_on_commit_callbacks):
    with schema_context(tenants["acme"].schema):
        sequence, _ = make_sequence(trigger="seminar_booked")
        student = candidate_make(rank="A", email="wired@example.jp")
        slot = seminar_make(quotas={"A": 3}, capacity=3).slots.get()
        with django_capture_on_commit_callbacks(execute=True):
            outcome = booking_create(candidate=student, slot_id=slot.pk)
        mail = OutboxMessage.objects.get(candidate_id=student.pk)
        assert (
            mail.kind == "transactional"
            and "予約完了" in mail.subject
            and mail.to_address == "wired@example.jp"
        )
        assert Enrollment.objects.filter(sequence=sequence, candidate_id=student.pk).exists()
        with django_capture_on_commit_callbacks(execute=True):
            booking_cancel(candidate=student, booking_id=outcome.booking.pk)
        assert CandidateEvent.objects.filter(candidate_id=student.pk, event="booking_cancelled").exists()


def test_attendance_reaches_the_step_mails(tenants, django_capture_on_commit_callbacks):
    with schema_context(tenants["acme"].schema):
        sequence, _ = make_sequence(trigger="no_show")
        student = candidate_make(rank="A")
        slot = seminar_make(quotas={"A": 3}, capacity=3).slots.get()
        with django_capture_on_commit_callbacks(execute=True):
            booking = booking_create(candidate=student, slot_id=slot.pk).booking
        with django_capture_on_commit_callbacks(execute=True):
            attendance_mark(booking_id=booking.pk, attendance="no_show")
        assert Enrollment.objects.filter(sequence=sequence, candidate_id=student.pk).exists()
