"""One admission rule on every booking entrance (booking/admission.py): the waiting room and the opening time."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from booking.models import Booking, Seminar
from booking.rush import passes
from booking.rush.gate import Gate, room_keys
from booking.rush.state import seminar_state_forget
from booking.services.mypage import SESSION_KEY, mypage_token_create, mypage_token_exchange
from tests.booking.conftest import candidate_make
from tests.booking.test_rush import rush, student_client  # noqa: F401 - the rush seminar fixture


def mypage_client(info, candidate) -> Client:
    """A student signed in to the My Page (the session the personal link opens)."""
    client = Client(HTTP_HOST=info.host)
    row = mypage_token_exchange(token=mypage_token_create(candidate=candidate))
    session = client.session
    session[SESSION_KEY] = row.pk
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def form_book(client: Client, slot):
    return client.post("/my/book/", {"slot": slot.pk}, HTTP_ACCEPT="application/json")


@pytest.mark.parametrize("mode", ["on", "auto"])
def test_the_my_page_form_waits_in_the_room_like_the_rush_path(rush, acme_schema, mode):  # noqa: F811
    Seminar.objects.filter(pk=rush.pk).update(waiting_room=mode)
    seminar_state_forget()
    gate = Gate(schema=acme_schema.schema, seminar_id=rush.pk)
    if mode == "auto":
        gate.room_switch_on()
    slot = rush.slots.first()
    student = candidate_make(rank="A")
    client = mypage_client(acme_schema, student)
    refused = form_book(client, slot)
    assert refused.status_code == 409 and refused.json()["code"] == "waiting_room"
    assert "待合室" in refused.json()["message"]
    assert not Booking.objects.filter(candidate=student).exists()
    # Another student's room pass does not let this one in.
    other = candidate_make(rank="A")
    client.cookies[passes.ROOM_COOKIE] = passes.room_pass_issue(
        schema=acme_schema.schema, seminar_id=rush.pk, candidate_id=other.pk, ticket=1
    )
    assert form_book(client, slot).json()["code"] == "waiting_room"
    # The student's own pass, as the waiting room hands it out: the form books.
    client.cookies[passes.ROOM_COOKIE] = passes.room_pass_issue(
        schema=acme_schema.schema, seminar_id=rush.pk, candidate_id=student.pk, ticket=1
    )
    assert form_book(client, slot).json()["code"] == "booked"


def test_the_my_page_form_books_while_the_auto_room_is_off(rush, acme_schema):  # noqa: F811
    Seminar.objects.filter(pk=rush.pk).update(waiting_room="auto")
    gate = Gate(schema=acme_schema.schema, seminar_id=rush.pk)
    gate.client.delete(room_keys(schema=acme_schema.schema, seminar_id=rush.pk)["on"])
    student = candidate_make(rank="A")
    assert form_book(mypage_client(acme_schema, student), rush.slots.first()).json()["code"] == "booked"


def test_the_queue_admits_nobody_before_the_opening_time(rush, acme_schema):  # noqa: F811
    Seminar.objects.filter(pk=rush.pk).update(
        waiting_room="on", admission_per_second=1000, opens_at=timezone.now() + timedelta(hours=1)
    )
    seminar_state_forget()
    client = student_client(acme_schema, candidate_make(rank="A"))
    early = client.get(f"/my/rush/{rush.pk}/queue")
    assert early.status_code == 409 and early.json()["code"] == "not_open"
    assert passes.ROOM_COOKIE not in early.cookies
    # No ticket was taken either: the line starts at the opening.
    assert not Gate(schema=acme_schema.schema, seminar_id=rush.pk).client.exists(
        room_keys(schema=acme_schema.schema, seminar_id=rush.pk)["tail"]
    )
    # Open: the same student is admitted (the rate lets a quiet room straight in) and gets the pass.
    Seminar.objects.filter(pk=rush.pk).update(opens_at=timezone.now() - timedelta(seconds=1))
    seminar_state_forget()
    admitted = client.get(f"/my/rush/{rush.pk}/queue")
    assert admitted.json()["code"] == "admitted" and passes.ROOM_COOKIE in admitted.cookies
    booked = client.post(
        f"/my/rush/{rush.pk}/book",
        data=json.dumps({"slot": rush.slots.first().pk}),
        content_type="application/json",
        HTTP_X_REQUESTED_WITH="rush",
    )
    assert booked.json()["code"] == "booked"
