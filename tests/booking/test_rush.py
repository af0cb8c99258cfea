"""The rush path: signed passes, one Redis call per decision, PostgreSQL persistence, the waiting room."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.models import POOL, Booking, BookingStatus, Seminar, SlotQuota
from booking.rush import passes
from booking.rush.gate import Gate, room_keys
from booking.rush.state import seminar_state_forget
from booking.seatcounter import SeatCounter
from tests.booking.conftest import candidate_make, seminar_make


@pytest.fixture
def rush(acme_schema):
    seminar = seminar_make(quotas={"A": 2, "B": 1}, capacity=3, slots=2)
    Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
    seminar_state_forget()
    yield seminar
    client = SeatCounter(seminar_id=seminar.pk, schema=acme_schema.schema).client
    for pattern in (
        f"*seats:{acme_schema.schema}:{seminar.pk}:*",
        f"*room:{acme_schema.schema}:{seminar.pk}:*",
    ):
        keys = client.keys(pattern)
        if keys:
            client.delete(*keys)
    seminar_state_forget()


def student_client(info, candidate, *, schema: str | None = None) -> Client:
    client = Client(HTTP_HOST=info.host)
    client.cookies[passes.STUDENT_COOKIE] = passes.student_pass_issue(
        schema=schema or info.schema,
        candidate_id=candidate.pk,
        rank=candidate.rank,
        season_id=candidate.season_id,
    )
    return client


def book(client: Client, seminar, slot, **headers):
    headers.setdefault("HTTP_X_REQUESTED_WITH", "rush")
    return client.post(
        f"/my/rush/{seminar.pk}/book",
        data=json.dumps({"slot": slot.pk}),
        content_type="application/json",
        **headers,
    )


def test_books_until_the_rank_quota_is_gone_then_answers_full(rush, acme_schema):
    slot = rush.slots.first()
    students = [candidate_make(rank="A") for _ in range(3)]
    answers = [book(student_client(acme_schema, s), rush, slot) for s in students]
    assert [a.status_code for a in answers] == [200, 200, 409]
    assert [a.json()["code"] for a in answers] == ["booked", "booked", "full"]
    assert answers[0].json()["committed_at"] <= time.time()
    assert "満席" in answers[2].json()["message"]
    # The other slot still has rank A seats: the answer says so, and that slot books.
    assert answers[2].json()["others"] is True
    other = rush.slots.exclude(pk=slot.pk).first()
    assert book(student_client(acme_schema, students[2]), rush, other).json()["code"] == "booked"
    booked = Booking.objects.filter(seminar=rush, status=BookingStatus.ACTIVE)
    assert sorted(booked.values_list("candidate_id", flat=True)) == sorted(s.pk for s in students)
    assert SlotQuota.objects.get(slot=slot, rank="A").taken == 2
    assert SeatCounter(seminar_id=rush.pk, schema=acme_schema.schema).reconcile() == []
    fourth = book(student_client(acme_schema, candidate_make(rank="A")), rush, slot).json()
    assert fourth["code"] == "full" and fourth["others"] is True  # one A seat left on the other slot
    # Rank B keeps its own seat.
    assert book(student_client(acme_schema, candidate_make(rank="B")), rush, slot).json()["code"] == "booked"


def test_one_seat_per_student_and_seminar(rush, acme_schema):
    first, second = rush.slots.all()[:2]
    client = student_client(acme_schema, candidate_make(rank="A"))
    assert book(client, rush, first).status_code == 200
    again = book(client, rush, second)
    assert again.status_code == 409 and again.json()["code"] == "already_booked"


def test_forged_foreign_and_missing_passes_are_refused(rush, acme_schema, tenants):
    slot = rush.slots.first()
    student = candidate_make(rank="A")
    assert book(Client(HTTP_HOST=acme_schema.host), rush, slot).json()["code"] == "signed_out"
    foreign = student_client(acme_schema, student, schema=tenants["globex"].schema)
    assert book(foreign, rush, slot).status_code == 403
    tampered = student_client(acme_schema, student)
    value = tampered.cookies[passes.STUDENT_COOKIE].value
    flipped = value[:20] + ("A" if value[20] != "A" else "B") + value[21:]
    tampered.cookies[passes.STUDENT_COOKIE] = flipped
    assert book(tampered, rush, slot).status_code == 403
    # Without the custom header (a cross-site form) or from another origin: refused before anything else.
    honest = student_client(acme_schema, student)
    assert book(honest, rush, slot, HTTP_X_REQUESTED_WITH="").status_code == 403
    assert book(honest, rush, slot, HTTP_ORIGIN="http://evil.example").status_code == 403
    assert not Booking.objects.filter(candidate=student).exists()


def test_revoked_links_stop_the_pass(rush, acme_schema, django_capture_on_commit_callbacks):
    from booking.services import mypage_tokens_revoke

    student = candidate_make(rank="A")
    client = student_client(acme_schema, student)
    time.sleep(1.05)  # the revocation must be later than the pass's issue second
    with django_capture_on_commit_callbacks(execute=True):
        mypage_tokens_revoke(candidate=student)
    answer = book(client, rush, rush.slots.first())
    assert answer.status_code == 403 and answer.json()["code"] == "signed_out"


def test_not_open_and_unknown_slot(rush, acme_schema):
    Seminar.objects.filter(pk=rush.pk).update(opens_at=timezone.now() + timedelta(hours=1))
    seminar_state_forget()
    client = student_client(acme_schema, candidate_make(rank="A"))
    answer = book(client, rush, rush.slots.first())
    assert answer.status_code == 409 and answer.json()["code"] == "not_open"
    missing = client.post(
        f"/my/rush/{rush.pk}/book",
        data=json.dumps({"slot": 999_999}),
        content_type="application/json",
        HTTP_X_REQUESTED_WITH="rush",
    )
    assert missing.status_code == 404 and "見つかりません" in missing.json()["message"]


def test_waiting_room_fifo_keeps_the_place_and_admits_with_a_pass(rush, acme_schema):
    Seminar.objects.filter(pk=rush.pk).update(waiting_room="on", admission_per_second=1)
    seminar_state_forget()
    slot = rush.slots.first()
    first, second, third = (candidate_make(rank="A") for _ in range(3))
    c1, c2, c3 = (student_client(acme_schema, s) for s in (first, second, third))
    assert book(c1, rush, slot).json()["code"] == "booked"  # one second's worth goes straight in
    queued2 = book(c2, rush, slot)
    queued3 = book(c3, rush, slot)
    assert queued2.status_code == 202 and queued2.json()["code"] == "queued"
    assert queued3.json()["position"] > queued2.json()["position"] >= 1
    assert "混み合って" in queued2.json()["message"]
    # Reloading keeps the ticket.
    again = c3.get(f"/my/rush/{rush.pk}/queue")
    assert again.json()["ticket"] == queued3.json()["ticket"]
    # Another student cannot use the second student's room pass once it is issued.
    deadline = time.monotonic() + 5
    while True:
        status = c2.get(f"/my/rush/{rush.pk}/queue").json()
        if status["code"] == "admitted" or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert status["code"] == "admitted"
    room_pass = c2.cookies["rush_room"].value
    c3.cookies["rush_room"] = room_pass
    assert book(c3, rush, slot).json()["code"] == "queued"
    assert book(c2, rush, slot).json()["code"] == "booked"
    assert passes.room_pass_valid(
        schema=acme_schema.schema, value=room_pass, seminar_id=rush.pk, candidate_id=second.pk
    )
    assert not passes.room_pass_valid(
        schema="t_globex", value=room_pass, seminar_id=rush.pk, candidate_id=second.pk
    )


def test_queue_answers_full_once_the_rank_is_sold_out(rush, acme_schema):
    Seminar.objects.filter(pk=rush.pk).update(waiting_room="on", admission_per_second=1)
    seminar_state_forget()
    # Rank B has one seat per slot; two B students take them, then a third B student in line hears "full".
    slots = list(rush.slots.all())
    for slot in slots:
        client = student_client(acme_schema, candidate_make(rank="B"))
        while (answer := book(client, rush, slot).json())["code"] == "queued":
            time.sleep(0.3)
            client.get(f"/my/rush/{rush.pk}/queue")
        assert answer["code"] == "booked"
    late = student_client(acme_schema, candidate_make(rank="B"))
    status = late.get(f"/my/rush/{rush.pk}/queue")
    assert status.status_code == 409 and status.json()["code"] == "full"


def test_auto_mode_opens_the_room_when_answers_are_slow(rush, acme_schema):
    Seminar.objects.filter(pk=rush.pk).update(waiting_room="auto", waiting_room_latency_ms=0)
    seminar_state_forget()
    gate = Gate(schema=acme_schema.schema, seminar_id=rush.pk)
    assert not gate.client.exists(room_keys(schema=acme_schema.schema, seminar_id=rush.pk)["on"])
    client = student_client(acme_schema, candidate_make(rank="A"))
    assert book(client, rush, rush.slots.first()).status_code == 200
    assert gate.client.get(room_keys(schema=acme_schema.schema, seminar_id=rush.pk)["on"]) == b"auto"


def test_page_is_served_from_the_pass_and_my_page_hands_it_out(rush, acme_schema):
    from booking.services.mypage import mypage_token_create

    student = candidate_make(rank="A")
    page = student_client(acme_schema, student).get(f"/my/rush/{rush.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert all(f'data-slot="{slot.pk}"' in html for slot in rush.slots.all())
    assert page["X-Frame-Options"] == "DENY"
    anonymous = Client(HTTP_HOST=acme_schema.host).get(f"/my/rush/{rush.pk}/")
    assert anonymous.status_code == 302 and anonymous["Location"] == f"/my/seminars/{rush.pk}/"
    client = Client(HTTP_HOST=acme_schema.host)
    token = mypage_token_create(candidate=student)
    client.post(f"/my/login/{token}/")
    seminar_page = client.get(f"/my/seminars/{rush.pk}/")
    issued = passes.student_pass_read(
        schema=acme_schema.schema, value=seminar_page.cookies[passes.STUDENT_COOKIE].value
    )
    assert issued is not None and issued.candidate_id == student.pk and issued.rank == "A"
    assert Client(HTTP_HOST=acme_schema.host).get("/my/rush/health").content == b"ok"


def test_rush_keys_and_passes_of_one_tenant_do_not_work_on_another(rush, acme_schema, tenants):
    globex = tenants["globex"]
    student = candidate_make(rank="A")
    slot_id = rush.slots.first().pk
    # acme's pass presented on globex's host: globex's salt rejects it.
    client = Client(HTTP_HOST=globex.host)
    client.cookies[passes.STUDENT_COOKIE] = passes.student_pass_issue(
        schema=acme_schema.schema, candidate_id=student.pk, rank="A", season_id=student.season_id
    )
    with schema_context(globex.schema):
        answer = client.post(
            f"/my/rush/{rush.pk}/book",
            data=json.dumps({"slot": slot_id}),
            content_type="application/json",
            HTTP_X_REQUESTED_WITH="rush",
        )
    assert answer.status_code == 403
    assert (
        room_keys(schema=acme_schema.schema, seminar_id=1)["tail"]
        != room_keys(schema=globex.schema, seminar_id=1)["tail"]
    )


def test_pool_seats_go_to_any_rank_after_its_own(acme_schema):
    seminar = seminar_make(quotas={"A": 1, POOL: 1}, capacity=2)
    Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
    seminar_state_forget()
    try:
        slot = seminar.slots.first()
        codes = [
            book(student_client(acme_schema, candidate_make(rank="A")), seminar, slot).json()["code"]
            for _ in range(3)
        ]
        assert codes == ["booked", "booked", "full"]
        assert SlotQuota.objects.get(slot=slot, rank=POOL).taken == 1
    finally:
        client = SeatCounter(seminar_id=seminar.pk, schema=acme_schema.schema).client
        keys = client.keys(f"*seats:{acme_schema.schema}:{seminar.pk}:*")
        if keys:
            client.delete(*keys)


def test_confirmations_leave_the_hot_path_and_a_lost_list_is_swept_up(rush, acme_schema):
    from booking.keys import confirm_list_key
    from booking.services.confirmations import confirmations_drain, confirmations_sweep
    from notifications.models import OutboxMessage

    slot = rush.slots.first()
    first, second = candidate_make(rank="A"), candidate_make(rank="A")
    one = book(student_client(acme_schema, first), rush, slot).json()["booking"]
    # Nothing is in the outbox yet: the request only queued the booking id.
    assert not OutboxMessage.objects.filter(idempotency_key=f"booking-confirm:{one}:{slot.pk}").exists()
    assert confirmations_drain() >= 1
    mail = OutboxMessage.objects.get(idempotency_key=f"booking-confirm:{one}:{slot.pk}")
    assert mail.to_address == first.email and "予約完了" in mail.subject
    # The list is lost (Redis restarted before a worker drained it): the sweep finds the booking anyway.
    two = book(student_client(acme_schema, second), rush, slot).json()["booking"]
    SeatCounter(seminar_id=rush.pk, schema=acme_schema.schema).client.delete(
        confirm_list_key(schema=acme_schema.schema)
    )
    assert confirmations_sweep() >= 1
    assert OutboxMessage.objects.filter(idempotency_key=f"booking-confirm:{two}:{slot.pk}").count() == 1
    confirmations_sweep()
    assert OutboxMessage.objects.filter(idempotency_key=f"booking-confirm:{two}:{slot.pk}").count() == 1


def test_drain_skips_the_list_of_a_company_that_no_longer_exists(rush, acme_schema):
    from booking.keys import confirm_list_key, confirm_schemas_key
    from booking.services.confirmations import confirm_later, confirmations_drain

    client = SeatCounter(seminar_id=rush.pk, schema=acme_schema.schema).client
    confirm_later(schema="t_gone_company", booking_id=1)
    slot = rush.slots.first()
    booked = book(student_client(acme_schema, candidate_make(rank="A")), rush, slot).json()["booking"]
    assert confirmations_drain() >= 1  # the live company's booking is confirmed despite the gone one
    from notifications.models import OutboxMessage

    assert OutboxMessage.objects.filter(idempotency_key=f"booking-confirm:{booked}:{slot.pk}").exists()
    assert not client.exists(confirm_list_key(schema="t_gone_company"))
    assert not client.sismember(confirm_schemas_key(), "t_gone_company")


def test_pass_signatures_are_djangos_own_both_ways(settings):
    """The signer that derives its HMAC key once signs exactly as django.core.signing does."""
    from django.core import signing

    settings.SECRET_KEY_FALLBACKS = ["an-older-key-" + "x" * 40]
    salt = "booking.rush.student:t_acme"
    ours = passes._signer(salt, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))
    django_signer = signing.TimestampSigner(salt=salt)
    value = ours.sign("42.A.1700000000")
    assert django_signer.unsign(value) == "42.A.1700000000"
    assert ours.unsign(django_signer.sign("7.B.1700000001")) == "7.B.1700000001"
    # A pass signed under the previous key still reads; one signed under an unknown key does not.
    old = signing.TimestampSigner(key=settings.SECRET_KEY_FALLBACKS[0], salt=salt).sign("9.C.1")
    assert ours.unsign(old) == "9.C.1"
    stranger = signing.TimestampSigner(key="k" * 50, salt=salt).sign("9.C.1")
    with pytest.raises(signing.BadSignature):
        ours.unsign(stranger)
    with pytest.raises(signing.BadSignature):
        passes._signer("booking.rush.student:t_other", settings.SECRET_KEY, ()).unsign(value)


def test_auto_room_counts_the_wait_until_the_decision_not_the_winners_write(rush, acme_schema, settings):
    from django.test import RequestFactory

    settings.TRUSTED_PROXIES = ["127.0.0.1"]  # RequestFactory's address: the proxy that set the header

    from booking.rush import pipeline
    from booking.rush.state import seminar_state

    Seminar.objects.filter(pk=rush.pk).update(waiting_room="auto", waiting_room_latency_ms=300)
    seminar_state_forget()
    state = seminar_state(schema=acme_schema.schema, seminar_id=rush.pk)
    gate = Gate(schema=acme_schema.schema, seminar_id=rush.pk)
    on_key = room_keys(schema=acme_schema.schema, seminar_id=rush.pk)["on"]
    gate.client.delete(on_key)
    pipeline._auto_on_at.clear()
    now = time.time()
    # Reached the proxy 1 s ago, decided 0.1 s after that, then the durable write took the rest: no room.
    request = RequestFactory().post("/", HTTP_X_REQUEST_START=f"t={now - 1.0:.3f}")
    pipeline.watch_latency(request, gate=gate, state=state, started=now - 0.95, decided_at=now - 0.9)
    assert not gate.client.exists(on_key)
    # Waited 0.5 s before Redis decided: slower than the threshold, the room opens.
    pipeline.watch_latency(request, gate=gate, state=state, started=now - 0.6, decided_at=now - 0.5)
    assert gate.client.get(on_key) == b"auto"
    gate.client.delete(on_key)
    pipeline._auto_on_at.clear()
