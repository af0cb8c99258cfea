"""The apps tell the company's webhooks: candidates, bookings (the rush's batches too), attendance, incidents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from booking.rush.state import seminar_state_forget
from booking.services.bookings import booking_cancel, booking_create
from booking.services.seminars import attendance_mark
from candidates.csvsource import CSVSource
from candidates.models import Candidate
from candidates.services.importing import entries_import
from candidates.services.workspace import candidate_status_set
from incidents.models import Scope, Visibility
from incidents.services.lifecycle import incident_create
from tests.booking.conftest import candidate_make, rush_seminar_remove, seminar_make
from tests.booking.test_rush_persist import _winners
from tests.notifications.conftest import make_candidate, smtp_server  # noqa: F401 - the real SMTP server fixture
from webhooks.models import Delivery, Event, Subscription
from webhooks.services.subscriptions import subscription_create

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


def _events(event_type: str) -> list[dict]:
    return [json.loads(e.payload) for e in Event.objects.filter(event_type=event_type).order_by("id")]


@pytest.mark.django_db
def test_bookings_cancellations_and_attendance_are_told(tenants, webhook_receiver):
    with schema_context(tenants["acme"].schema):
        subscription_create(
            url=webhook_receiver.url,
            events=["booking.created", "booking.cancelled", "attendance.recorded"],
            user=None,
        )
        student = candidate_make(rank="A")
        slot = seminar_make(quotas={"A": 3}, capacity=3).slots.get()
        booking = booking_create(candidate=student, slot_id=slot.pk).booking
        attendance_mark(booking_id=booking.pk, attendance="attended")
        booking_cancel(candidate=student, booking_id=booking.pk)
        [created] = _events("booking.created")
        [attended] = _events("attendance.recorded")
        [cancelled] = _events("booking.cancelled")
    assert created["data"] == {
        "booking_id": booking.pk,
        "candidate_id": student.pk,
        "seminar_id": slot.seminar_id,
        "slot_id": slot.pk,
        "status": "active",
    }
    assert attended["data"]["attendance"] == "attended" and attended["data"]["booking_id"] == booking.pk
    assert cancelled["data"]["status"] == "cancelled" and cancelled["data"]["by_recruiter"] is False
    # No personal data in the body: no name, no address.
    assert student.email not in json.dumps([created, attended, cancelled], ensure_ascii=False)


@pytest.mark.django_db
def test_imports_and_edits_of_candidates_are_told(tenants, webhook_receiver):
    with schema_context(tenants["acme"].schema):
        subscription_create(
            url=webhook_receiver.url, events=["candidate.created", "candidate.updated"], user=None
        )
        with open(SAMPLES / "mynavi.csv", "rb") as handle:
            report = entries_import(source=CSVSource.open(fileobj=handle), parallel=False)
        created = _events("candidate.created")
        candidate = Candidate.objects.get(pk=created[0]["data"]["candidate_id"])
        candidate_status_set(candidate=candidate, status="offer", user=None)
        updated = _events("candidate.updated")
    assert report.created > 0 and len(created) == report.created
    assert {event["data"]["source"] for event in created} == {"mynavi"}
    assert updated[-1]["data"] == {"candidate_id": candidate.pk, "changed": ["status"]}


@pytest.fixture
def rush_seminar(tenants, committed):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 5}, capacity=5)
        subscription = subscription_create(
            url="https://93.184.215.14/hook", events=["booking.created"], user=None
        )
    seminar_state_forget()
    yield acme, seminar
    with schema_context(acme.schema):
        Delivery.objects.all().delete()
        Event.objects.all().delete()
        Subscription.objects.filter(pk=subscription.subscription.pk).delete()
    rush_seminar_remove(schema=acme.schema, seminar=seminar)
    seminar_state_forget()


def test_a_rush_batch_is_told_with_one_statement(rush_seminar):
    from booking.rush.persist import persist_batch

    acme, seminar = rush_seminar
    winners = _winners(acme, seminar, 4)
    with CaptureQueriesContext(connection) as queries:
        answers = persist_batch(acme.tenant, winners)
    assert [outcome.payload()["code"] for outcome in answers] == ["booked"] * 4
    inserts = [q["sql"] for q in queries.captured_queries if "INSERT INTO webhooks_event" in q["sql"]]
    assert len(inserts) == 1
    with schema_context(acme.schema):
        told = sorted(json.loads(e.payload)["data"]["candidate_id"] for e in Event.objects.all())
    assert told == sorted(w.plan.student.candidate_id for w in winners)
    connection.set_schema_to_public()


def test_winners_of_several_companies_are_told_each_to_its_own_company(rush_seminar, tenants):
    """One round trip of events for every company of a batch; only a company that subscribed is told."""
    from booking.rush.persist import persist_together

    acme, seminar = rush_seminar
    globex = tenants["globex"]
    with schema_context(globex.schema):
        other = seminar_make(quotas={"A": 5}, capacity=5)
    try:
        ours, theirs = _winners(acme, seminar, 2), _winners(globex, other, 3)
        with CaptureQueriesContext(connection) as queries:
            answers = persist_together([(globex.tenant, theirs), (acme.tenant, ours)])
        assert [[o.payload()["code"] for o in company] for company in answers] == [
            ["booked"] * 3,
            ["booked"] * 2,
        ]
        inserts = [q["sql"] for q in queries.captured_queries if "webhooks_event" in q["sql"]]
        assert len(inserts) == 1 and f'"{acme.schema}".webhooks_event' in inserts[0]
        with schema_context(acme.schema):
            told = sorted(json.loads(e.payload)["data"]["candidate_id"] for e in Event.objects.all())
        with schema_context(globex.schema):
            assert not Event.objects.exists()  # no subscription there
        assert told == sorted(w.plan.student.candidate_id for w in ours)
    finally:
        rush_seminar_remove(schema=globex.schema, seminar=other)
        connection.set_schema_to_public()


@pytest.mark.django_db
def test_an_incident_is_told_to_the_companies_it_affects_only(
    tenants, eager_celery, on_commit, webhook_receiver
):
    for slug in ("acme", "globex"):
        with schema_context(tenants[slug].schema):
            subscription_create(url=f"{webhook_receiver.url}/{slug}", events=["incident.*"], user=None)
    incident = on_commit(
        incident_create,
        actor="ops",
        title="取り込みの遅延",
        message_ja="遅延しています。",
        scope=Scope.CHOSEN,
        tenants=[tenants["acme"].tenant],
        visibility=Visibility.TENANTS,
    )
    with schema_context(tenants["acme"].schema):
        [event] = _events("incident.updated")
    with schema_context(tenants["globex"].schema):
        assert not Event.objects.exists()
    assert event["data"]["incident_id"] == incident.pk and event["data"]["tenant"] == "acme"
    # Delivered at once by the task queued on commit (eager here), to acme's subscription only.
    assert [r["path"] for r in webhook_receiver.requests] == ["/hook/acme"]


@pytest.mark.django_db
def test_a_permanent_bounce_is_told_without_the_address(tenants, smtp_server, webhook_receiver):  # noqa: F811
    from notifications.services import outbox_deliver_due, outbox_enqueue

    schema = tenants["acme"].schema
    smtp_server.recorder.rules["bounce@example.jp"] = "550 5.1.1 No such user"
    with schema_context(schema):
        subscription_create(url=webhook_receiver.url, events=["mail.bounced"], user=None)
        student = make_candidate(email="bounce@example.jp")
        row = outbox_enqueue(
            key="bounce",
            to="bounce@example.jp",
            subject="ご案内",
            body="本文",
            kind="transactional",
            candidate_id=student.id,
        )
        outbox_deliver_due(schema_name=schema)
        [event] = _events("mail.bounced")
    assert event["data"] == {"mail_id": row.id, "candidate_id": student.id, "permanent": True}
    assert "bounce@example.jp" not in json.dumps(event)


@pytest.mark.django_db
def test_booking_moves_and_interviews_are_told(tenants, webhook_receiver):
    from datetime import timedelta

    from django.utils import timezone

    from booking.services.bookings import booking_change
    from booking.services.interviews import (
        availability_add,
        interview_book,
        interview_cancel,
        interview_reschedule,
        interview_type_create,
    )
    from tests.booking.test_interviews import interviewer_make

    with schema_context(tenants["acme"].schema):
        subscription_create(
            url=webhook_receiver.url,
            events=["booking.moved", "interview.booked", "interview.rescheduled", "interview.cancelled"],
            user=None,
        )
        student = candidate_make(rank="A", status="interview")
        seminar = seminar_make(quotas={"A": 3}, capacity=3, slots=2)
        first, second = seminar.slots.order_by("id")
        booking = booking_create(candidate=student, slot_id=first.pk).booking
        booking_change(candidate=student, slot_id=second.pk)
        interviewer = interviewer_make()
        kind = interview_type_create(
            name="一次面接",
            step="interview",
            interviewers=[interviewer],
            duration_minutes=30,
            buffer_minutes=0,
        )
        start = timezone.localtime(timezone.now() + timedelta(days=3)).replace(
            hour=10, minute=0, second=0, microsecond=0
        )
        availability_add(interviewer=interviewer, starts_at=start, ends_at=start + timedelta(hours=2))
        interview = interview_book(candidate=student, interview_type_id=kind.pk, starts_at=start)
        later = start + timedelta(minutes=30)
        interview_reschedule(candidate=student, booking_id=interview.pk, starts_at=later)
        interview_cancel(candidate=student, booking_id=interview.pk, by_company=True)
        [moved] = _events("booking.moved")
        [booked] = _events("interview.booked")
        [rescheduled] = _events("interview.rescheduled")
        [cancelled] = _events("interview.cancelled")
    assert moved["data"] == {
        "booking_id": booking.pk,
        "candidate_id": student.pk,
        "seminar_id": seminar.pk,
        "slot_id": second.pk,
        "previous_slot_id": first.pk,
        "status": "active",
    }
    assert booked["data"] == {
        "interview_booking_id": interview.pk,
        "candidate_id": student.pk,
        "interview_type_id": kind.pk,
        "starts_at": start.isoformat(),
        "status": "active",
    }
    assert rescheduled["data"]["starts_at"] == later.isoformat()
    assert rescheduled["data"]["previous_starts_at"] == start.isoformat()
    assert cancelled["data"]["status"] == "cancelled" and cancelled["data"]["by_company"] is True
    # Ids, times and states only.
    assert student.email not in json.dumps([moved, booked, rescheduled, cancelled], ensure_ascii=False)
