"""Interviews through the API: types and free times, booked and cancelled on a student's behalf by the My Page's
services and rules, scopes, and no reading across companies."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.api.conftest import ApiClient, token_make
from tests.api.test_tokens import _problem
from tests.factories import CandidateFactory, UserFactory

pytestmark = pytest.mark.django_db
_numbers = itertools.count(1)


def interview_make(*, step: str = "interview", capacity: int = 1, **fields):
    """An interview type with one interviewer free 10:00–12:00 Japan time, three days from now."""
    from booking.services.interviews import availability_add, interview_type_create
    from seasons.selectors import season_default

    interviewer = UserFactory(email=f"api-interviewer{next(_numbers)}@example.jp", role="recruiter")
    local = timezone.localtime(timezone.now() + timedelta(days=3))
    start = local.replace(hour=10, minute=0, second=0, microsecond=0)
    kind = interview_type_create(
        name=fields.pop("name", "一次面接"),
        step=step,
        interviewers=[interviewer],
        capacity=capacity,
        season=season_default(),
        **fields,
    )
    availability_add(interviewer=interviewer, starts_at=start, ends_at=start + timedelta(hours=2))
    return kind, start


def test_interviews_are_listed_with_their_free_times(acme_api):
    kind, start = interview_make(duration_minutes=30, buffer_minutes=10)
    listed = acme_api.get("/interviews")
    assert listed.status_code == 200
    mine = next(item for item in listed.json() if item["id"] == kind.pk)
    assert (mine["name"], mine["step"], mine["duration_minutes"]) == ("一次面接", "interview", 30)
    detail = acme_api.get(f"/interviews/{kind.pk}").json()
    starts = [time["starts_at"] for time in detail["times"]]
    assert starts == [
        timezone.localtime(start + timedelta(minutes=minutes)).isoformat() for minutes in (0, 40, 80)
    ]
    assert starts[0].endswith("+09:00")
    missing = acme_api.get("/interviews/999999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert missing.json()["detail"] == "面接 #999999999 は見つかりません。"
    english = acme_api.get("/interviews/999999999", headers={"Accept-Language": "en"}).json()
    assert english["detail"] == "Interview #999999999 was not found." and english["title_en"] == "Not found"


def test_book_and_cancel_an_interview_for_a_student_through_the_my_page_services(acme_api):
    from booking.models import InterviewBooking, InterviewSession
    from candidates.models import AuditEntry

    kind, start = interview_make()
    student = CandidateFactory(status="interview")
    body = {"candidate_id": student.pk, "interview_id": kind.pk, "starts_at": start.isoformat()}
    booked = acme_api.post("/interview-bookings", body, headers={"Idempotency-Key": "iv-1"})
    assert booked.status_code == 201, booked.content
    answer = booked.json()
    assert answer["status"] == "active" and answer["starts_at"] == timezone.localtime(start).isoformat()
    replay = acme_api.post("/interview-bookings", body, headers={"Idempotency-Key": "iv-1"})
    assert replay.json() == answer and replay["Idempotent-Replayed"] == "true"
    assert InterviewBooking.objects.filter(candidate=student).count() == 1
    assert InterviewSession.objects.get(interview_type=kind).taken == 1
    # The service's own refusals, with the booking app's codes.
    twice = acme_api.post(
        "/interview-bookings", {**body, "starts_at": (start + timedelta(minutes=40)).isoformat()}
    )
    assert twice.status_code == 409 and twice.json()["code"] == "already_booked"
    taken = acme_api.post(
        "/interview-bookings", {**body, "candidate_id": CandidateFactory(status="interview").pk}
    )
    assert taken.status_code == 409 and taken.json()["code"] == "time_taken"
    wrong_step = acme_api.post(
        "/interview-bookings", {**body, "candidate_id": CandidateFactory(status="entry").pk}
    )
    assert wrong_step.status_code == 404 and wrong_step.json()["code"] == "interview_not_allowed"
    listed = acme_api.get("/interview-bookings", candidate_id=student.pk).json()
    assert [item["id"] for item in listed["items"]] == [answer["id"]] and listed["next_cursor"] is None
    listing = AuditEntry.objects.filter(action="list", target__contains="/api/v1/interview-bookings").latest(
        "id"
    )
    assert listing.candidate_ids == [student.pk]
    cancelled = acme_api.post(f"/interview-bookings/{answer['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert InterviewSession.objects.get(interview_type=kind).taken == 0
    again = acme_api.post(f"/interview-bookings/{answer['id']}/cancel")
    assert again.status_code == 404 and again.json()["code"] == "not_booked"
    assert AuditEntry.objects.filter(action="api_write", candidate_ids=[student.pk]).count() >= 2


def test_cancelling_after_the_change_deadline_is_refused_as_on_the_my_page(acme_api):
    kind, start = interview_make(change_deadline_hours=24)
    student = CandidateFactory(status="interview")
    booked = acme_api.post(
        "/interview-bookings",
        {"candidate_id": student.pk, "interview_id": kind.pk, "starts_at": start.isoformat()},
    ).json()
    with time_machine.travel(start - timedelta(hours=2)):
        late = acme_api.post(f"/interview-bookings/{booked['id']}/cancel")
    assert late.status_code == 409 and late.json()["code"] == "cancel_deadline_passed"
    assert (
        acme_api.get("/interview-bookings", candidate_id=student.pk).json()["items"][0]["status"] == "active"
    )


def test_interview_scopes(tenants):
    reader = token_make(schema=tenants["acme"].schema, scopes=["bookings:read"])
    candidates_only = token_make(
        schema=tenants["acme"].schema, scopes=["candidates:read", "candidates:write"]
    )
    with schema_context(tenants["acme"].schema):
        kind, start = interview_make()
        student = CandidateFactory(status="interview")
        body = {"candidate_id": student.pk, "interview_id": kind.pk, "starts_at": start.isoformat()}
        read_only = ApiClient(tenants["acme"].host, reader.secret)
        assert read_only.get(f"/interviews/{kind.pk}").status_code == 200
        refused = _problem(read_only.post("/interview-bookings", body), 403, "insufficient_scope")
        assert refused["required_scope"] == "bookings:write"
        other = ApiClient(tenants["acme"].host, candidates_only.secret)
        _problem(other.get("/interviews"), 403, "insufficient_scope")
        _problem(other.get("/interview-bookings"), 403, "insufficient_scope")
        _problem(other.post("/interview-bookings/1/cancel"), 403, "insufficient_scope")


def test_interviews_with_the_same_ids_in_two_companies_never_cross(tenants):
    from booking.models import InterviewBooking

    shared_id = 770_001
    tokens = {slug: token_make(schema=tenants[slug].schema) for slug in ("acme", "globex")}
    for slug in ("acme", "globex"):
        with schema_context(tenants[slug].schema):
            interview_make(id=shared_id, name=f"{slug}の面接")
            CandidateFactory(id=shared_id, status="interview", email=f"iv-same@{slug}.example.jp")
    with schema_context(tenants["globex"].schema):
        intruder = ApiClient(tenants["globex"].host, tokens["acme"].secret)
        for path in (f"/interviews/{shared_id}", "/interviews", "/interview-bookings"):
            response = _problem(intruder.get(path), 401, "unauthorized")
            assert "globexの面接" not in str(response)
        _problem(
            intruder.post(
                "/interview-bookings",
                {
                    "candidate_id": shared_id,
                    "interview_id": shared_id,
                    "starts_at": "2030-01-01T10:00:00+09:00",
                },
            ),
            401,
            "unauthorized",
        )
        assert not InterviewBooking.objects.filter(candidate_id=shared_id).exists()
        own = ApiClient(tenants["globex"].host, tokens["globex"].secret).get(f"/interviews/{shared_id}")
        assert own.json()["name"] == "globexの面接"
    with schema_context(tenants["acme"].schema):
        own = ApiClient(tenants["acme"].host, tokens["acme"].secret).get(f"/interviews/{shared_id}")
        assert own.json()["name"] == "acmeの面接"


def test_reschedule_takes_the_new_time_first_then_frees_the_old_one(acme_api):
    from booking.models import InterviewSession

    kind, start = interview_make(duration_minutes=30, buffer_minutes=10)
    student = CandidateFactory(status="interview")
    booked = acme_api.post(
        "/interview-bookings",
        {"candidate_id": student.pk, "interview_id": kind.pk, "starts_at": start.isoformat()},
    ).json()
    later = start + timedelta(minutes=40)
    moved = acme_api.post(f"/interview-bookings/{booked['id']}/reschedule", {"starts_at": later.isoformat()})
    assert moved.status_code == 200, moved.content
    assert (
        moved.json()["id"] == booked["id"]
        and moved.json()["starts_at"] == timezone.localtime(later).isoformat()
    )
    taken = dict(InterviewSession.objects.filter(interview_type=kind).values_list("starts_at", "taken"))
    assert taken == {start: 0, later: 1}
    same = acme_api.post(f"/interview-bookings/{booked['id']}/reschedule", {"starts_at": later.isoformat()})
    assert same.status_code == 409 and same.json()["code"] == "same_slot"
    odd = start + timedelta(minutes=7)
    unoffered = acme_api.post(
        f"/interview-bookings/{booked['id']}/reschedule", {"starts_at": odd.isoformat()}
    )
    assert unoffered.status_code == 409 and unoffered.json()["code"] == "time_taken"
    assert (
        acme_api.post(
            "/interview-bookings/999999999/reschedule", {"starts_at": later.isoformat()}
        ).status_code
        == 404
    )
