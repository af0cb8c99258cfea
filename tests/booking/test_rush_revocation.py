# ruff: noqa: F811 - the rush fixture is imported from tests/booking/test_rush.py
"""A rush pass ends with the My Page session and with the student's rank, and holds while Redis is away;
a client cannot switch the waiting room on with its own X-Request-Start."""

from __future__ import annotations

import json

import pytest
import redis
from django.test import Client

from booking import clients
from booking.models import Booking, Seminar
from booking.rush import passes
from booking.rush.gate import Gate, room_keys
from booking.rush.state import seminar_state_forget
from saas.processes import free_port
from tests.booking.conftest import candidate_make
from tests.booking.test_rush import book, rush, student_client  # noqa: F401 - the rush seminar fixture
from tests.booking.test_rush_admission import mypage_client


@pytest.fixture
def redis_away(rush):  # noqa: F811 - set up after the seminar, given back before its clean-up
    """The rush path's Redis client pointed at a port where nothing listens (connections are refused)."""
    kept = clients.counter_client()
    clients._counters = redis.Redis(port=free_port(), socket_timeout=0.3, socket_connect_timeout=0.3)
    try:
        yield
    finally:
        clients._counters = kept


def _room_on(info, seminar) -> bool:
    gate = Gate(schema=info.schema, seminar_id=seminar.pk)
    return bool(gate.client.exists(room_keys(schema=info.schema, seminar_id=seminar.pk)["on"]))


def test_a_client_supplied_request_start_does_not_switch_the_room_on(rush, acme_schema, settings):  # noqa: F811
    Seminar.objects.filter(pk=rush.pk).update(waiting_room="auto", waiting_room_latency_ms=500)
    seminar_state_forget()
    slot = rush.slots.first()
    book(student_client(acme_schema, candidate_make(rank="A")), rush, slot, HTTP_X_REQUEST_START="t=0")
    assert not _room_on(acme_schema, rush)
    # From a configured proxy the header is believed (and t=0 means "waited for ages").
    settings.TRUSTED_PROXIES = ["127.0.0.0/8"]
    book(student_client(acme_schema, candidate_make(rank="A")), rush, slot, HTTP_X_REQUEST_START="t=0")
    assert _room_on(acme_schema, rush)


def _pass_of(client: Client) -> str:
    return client.get("/my/").cookies[passes.STUDENT_COOKIE].value


def test_signing_out_of_the_my_page_ends_the_rush_pass(rush, acme_schema, django_capture_on_commit_callbacks):  # noqa: F811
    student = candidate_make(rank="A")
    client = mypage_client(acme_schema, student)
    value = _pass_of(client)
    with django_capture_on_commit_callbacks(execute=True):
        out = client.post("/my/logout/")
    assert out.cookies[passes.STUDENT_COOKIE].value == ""  # the browser drops it
    stolen = Client(HTTP_HOST=acme_schema.host)
    stolen.cookies[passes.STUDENT_COOKIE] = value
    answer = book(stolen, rush, rush.slots.first())
    assert answer.status_code == 403 and answer.json()["code"] == "signed_out"
    assert stolen.get(f"/my/rush/{rush.pk}/").status_code == 302  # no rank page either
    assert not Booking.objects.filter(candidate=student).exists()


def test_a_new_rank_ends_the_rush_pass(rush, acme_schema, django_capture_on_commit_callbacks):  # noqa: F811
    from candidates.services.ranks import candidate_rank_override

    student = candidate_make(rank="A")
    client = student_client(acme_schema, student)
    with django_capture_on_commit_callbacks(execute=True):
        candidate_rank_override(candidate=student, rank="D", user=None)
    answer = book(client, rush, rush.slots.first())
    assert answer.status_code == 403 and answer.json()["code"] == "signed_out"


def test_a_revoked_pass_stays_revoked_while_redis_is_away(
    rush,
    acme_schema,
    django_capture_on_commit_callbacks,
    redis_away,  # noqa: F811
):
    student = candidate_make(rank="A")
    client = mypage_client(acme_schema, student)
    value = _pass_of(client)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/my/logout/")  # recorded in PostgreSQL (Redis cannot take it now)
    stolen = Client(HTTP_HOST=acme_schema.host)
    stolen.cookies[passes.STUDENT_COOKIE] = value
    answer = book(stolen, rush, rush.slots.first())
    assert answer.status_code == 403 and answer.json()["code"] == "signed_out"
    assert stolen.get(f"/my/rush/{rush.pk}/queue").json()["code"] == "signed_out"
    assert not Booking.objects.filter(candidate=student).exists()
    # A pass that was never revoked still books through PostgreSQL alone.
    other = candidate_make(rank="A")
    assert book(student_client(acme_schema, other), rush, rush.slots.first()).json()["code"] == "booked"


def test_a_rank_changed_while_redis_is_away_ends_the_pass(
    rush,
    acme_schema,
    django_capture_on_commit_callbacks,
    redis_away,  # noqa: F811
):
    from candidates.models import Candidate

    student = candidate_make(rank="A")
    client = student_client(acme_schema, student)
    Candidate.objects.filter(pk=student.pk).update(rank="B")  # even without a revocation row
    answer = book(client, rush, rush.slots.first())
    assert answer.status_code == 403 and answer.json()["code"] == "signed_out"
    assert json.loads(answer.content)["ok"] is False
