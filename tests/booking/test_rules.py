"""One home for the booking rules: a rule changed in booking/rules.py holds at every entrance at once."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from booking import errors, rules
from booking.models import Booking, Seminar
from booking.rush import passes
from booking.rush.state import seminar_state, seminar_state_forget
from booking.services import booking_create, waitlist_join
from booking.services.mypage import mypage_token_create
from tenants.selectors import tenant_for_host
from tests.booking.conftest import candidate_make, rush_seminar_remove, seminar_make

MESSAGE = "開催の14日前を過ぎたため、この日程は予約できません。"


def _two_weeks_ahead(attempt: rules.Attempt) -> errors.BookingError | None:
    """A company's new rule: bookings close two weeks before the slot starts."""
    if attempt.starts_at - attempt.now < timedelta(days=14):
        return errors.DeadlinePassedError(MESSAGE)
    return None


@pytest.fixture
def seminar(tenants, committed):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 3}, capacity=3)  # its slot starts in ten days
        Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
    seminar_state_forget()
    yield acme, seminar
    rush_seminar_remove(schema=acme.schema, seminar=seminar)
    seminar_state_forget()


def _rush_booking(acme, seminar, student, slot_id: int):
    """The rush path on the workers' event loop (booking/rush/loop.py), as uvicorn would call it."""
    from booking.rush.loop import book_on_loop
    from booking.rush.request import RushRequest

    cookie = passes.student_pass_issue(
        schema=acme.schema, candidate_id=student.pk, rank="A", season_id=student.season_id
    )
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/my/rush/{seminar.pk}/book",
        "headers": [
            (b"host", acme.host.encode()),
            (b"cookie", f"{passes.STUDENT_COOKIE}={cookie}".encode()),
            (b"content-type", b"application/json"),
            (b"x-requested-with", b"rush"),
        ],
    }
    request = RushRequest(scope, json.dumps({"slot": slot_id}).encode())
    return asyncio.run(book_on_loop(request, seminar_id=seminar.pk, started=time.time()))


def test_a_rule_changed_in_one_module_holds_at_every_entrance(seminar, monkeypatch):
    acme, seminar = seminar
    monkeypatch.setattr(rules, "BOOKING_RULES", [*rules.BOOKING_RULES, _two_weeks_ahead])
    with schema_context(acme.schema):
        slot = seminar.slots.get()
        students = [candidate_make(rank="A") for _ in range(5)]
        token = mypage_token_create(candidate=students[2])
        # 1. The booking service (My Page, the regular path).
        with pytest.raises(errors.DeadlinePassedError, match="14日前"):
            booking_create(candidate=students[0], slot_id=slot.pk)
        # 2. The waiting list.
        with pytest.raises(errors.DeadlinePassedError, match="14日前"):
            waitlist_join(candidate=students[1], slot_id=slot.pk)
        # Warm what the event-loop path reads from this process's caches.
        tenant_for_host(hostname=acme.host)
        seminar_state(schema=acme.schema, seminar_id=seminar.pk)
    # 3. The My Page booking form, signed in with a personal link.
    page = Client(HTTP_HOST=acme.host)
    assert page.post(f"/my/login/{token}/").status_code == 302
    answer = page.post("/my/book/", {"slot": slot.pk}, HTTP_ACCEPT="application/json")
    assert answer.json()["code"] == "deadline_passed" and answer.json()["message"] == MESSAGE
    # 4. The rush path under Django (RushMiddleware → booking/rush/pipeline.py::book_sync).
    rush = Client(HTTP_HOST=acme.host)
    rush.cookies[passes.STUDENT_COOKIE] = passes.student_pass_issue(
        schema=acme.schema, candidate_id=students[3].pk, rank="A", season_id=students[3].season_id
    )
    answer = rush.post(
        f"/my/rush/{seminar.pk}/book",
        data=json.dumps({"slot": slot.pk}),
        content_type="application/json",
        HTTP_X_REQUESTED_WITH="rush",
    )
    assert answer.status_code == 409 and answer.json()["message"] == MESSAGE
    # 5. The rush path on the workers' event loop (booking/rush/loop.py::book_on_loop).
    answer = _rush_booking(acme, seminar, students[4], slot.pk)
    assert answer.status_code == 409 and json.loads(answer.content)["message"] == MESSAGE
    with schema_context(acme.schema):
        assert not Booking.objects.filter(seminar=seminar).exists()
    # Without the rule, the same student books through the same service.
    monkeypatch.setattr(rules, "BOOKING_RULES", [r for r in rules.BOOKING_RULES if r is not _two_weeks_ahead])
    with schema_context(acme.schema):
        assert booking_create(candidate=students[0], slot_id=slot.pk).kind == "booked"


def test_a_student_of_another_season_is_refused_at_every_entrance(seminar):
    """The season rule (booking/rules.py's Audience) holds on the rush path too, whose pass carries the season."""
    from seasons.models import Season

    acme, seminar = seminar
    with schema_context(acme.schema):
        created_season = not Season.objects.filter(graduation_year=2028).exists()
        slot = seminar.slots.get()
        others = [candidate_make(rank="A", graduation_year=2028) for _ in range(4)]
        own = candidate_make(rank="A")
        assert {student.season_id for student in others} == {Season.objects.get(graduation_year=2028).pk}
        assert own.season_id == seminar.season_id
        token = mypage_token_create(candidate=others[1])
        with pytest.raises(errors.NotVisibleError):
            booking_create(candidate=others[0], slot_id=slot.pk)
        with pytest.raises(errors.NotVisibleError):
            waitlist_join(candidate=others[0], slot_id=slot.pk)
        tenant_for_host(hostname=acme.host)
        seminar_state(schema=acme.schema, seminar_id=seminar.pk)
    try:
        page = Client(HTTP_HOST=acme.host)
        assert page.post(f"/my/login/{token}/").status_code == 302
        answer = page.post("/my/book/", {"slot": slot.pk}, HTTP_ACCEPT="application/json")
        assert answer.json()["code"] == "not_visible"
        rush = Client(HTTP_HOST=acme.host)
        rush.cookies[passes.STUDENT_COOKIE] = passes.student_pass_issue(
            schema=acme.schema, candidate_id=others[2].pk, rank="A", season_id=others[2].season_id
        )
        answer = rush.post(
            f"/my/rush/{seminar.pk}/book",
            data=json.dumps({"slot": slot.pk}),
            content_type="application/json",
            HTTP_X_REQUESTED_WITH="rush",
        )
        assert answer.status_code == 404 and answer.json()["code"] == "not_visible"
        answer = _rush_booking(acme, seminar, others[3], slot.pk)
        assert answer.status_code == 404 and json.loads(answer.content)["code"] == "not_visible"
        with schema_context(acme.schema):
            assert not Booking.objects.filter(seminar=seminar).exists()
        # The seminar's own season books through the same rush path.
        answer = _rush_booking(acme, seminar, own, slot.pk)
        assert answer.status_code == 200, answer.content
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            from candidates.models import Candidate

            Candidate.objects.filter(pk__in=[student.pk for student in [*others, own]]).delete()
            if created_season:
                Season.objects.filter(graduation_year=2028).delete()


def test_a_pass_carries_the_season_and_an_offer_sealed():
    read = passes.student_pass_read(
        schema="t_x",
        value=passes.student_pass_issue(
            schema="t_x", candidate_id=7, rank="B", season_id=3, offer_holder=True
        ),
    )
    assert (read.candidate_id, read.rank, read.season_id, read.offer_holder) == (7, "B", 3, True)
