"""My Page over HTTP: personal links (scope, expiry, revocation), pages, bad input, .ics and QR."""

from __future__ import annotations

import re
from datetime import timedelta

import icalendar
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.models import POOL, Booking, BookingStatus, MyPageToken, Slot
from booking.services import mypage_tokens_revoke
from booking.services.mypage import mypage_token_create, mypage_url, token_hash
from booking.services.seminars import rank_rules_set
from tests.booking.conftest import candidate_make, seminar_make

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


def _signed_in(client, info, candidate):
    with schema_context(info.schema):
        token = mypage_token_create(candidate=candidate)
    response = client.post(f"/my/login/{token}/", HTTP_HOST=info.host)
    assert response.status_code == 302 and response["Location"] == "/my/"
    return token


def test_link_signs_in_and_only_the_hash_is_stored(client, acme):
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        token = mypage_token_create(candidate=student)
        assert MyPageToken.objects.get(candidate=student).token_hash == token_hash(token)
        assert not MyPageToken.objects.filter(token_hash=token).exists()
    assert client.get("/my/", HTTP_HOST=acme.host).status_code == 403
    response = client.post(f"/my/login/{token}/", HTTP_HOST=acme.host, follow=True)
    assert response.status_code == 200
    assert f"{student.full_name} さんのマイページ" in response.content.decode()


def test_token_of_company_a_opens_nothing_on_company_b(client, tenants, db):
    acme, globex = tenants["acme"], tenants["globex"]
    with schema_context(acme.schema):
        token = mypage_token_create(candidate=candidate_make(rank="A"))
    refused = client.get(f"/my/login/{token}/", HTTP_HOST=globex.host)
    assert refused.status_code == 403 and "無効" in refused.content.decode()
    assert client.get("/my/", HTTP_HOST=globex.host).status_code == 403
    # Signed in on acme, the same cookie jar is a stranger on globex.
    assert client.post(f"/my/login/{token}/", HTTP_HOST=acme.host).status_code == 302
    assert client.get("/my/", HTTP_HOST=acme.host).status_code == 200
    assert client.get("/my/", HTTP_HOST=globex.host).status_code == 403


def test_tampered_expired_and_revoked_tokens(client, acme):
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        token = mypage_token_create(candidate=student)
        old = mypage_token_create(candidate=student, now=timezone.now() - timedelta(days=30))
    for bad in (token[:-2] + "xx", old, "x" * 300):
        response = client.get(f"/my/login/{bad}/", HTTP_HOST=acme.host)
        assert response.status_code == 403 and "有効期限" in response.content.decode()
    assert client.post(f"/my/login/{token}/", HTTP_HOST=acme.host).status_code == 302
    assert client.get("/my/", HTTP_HOST=acme.host).status_code == 200
    with schema_context(acme.schema):
        assert mypage_tokens_revoke(candidate=student) == 2
    # Revocation ends the session opened with the link, at the next request.
    assert client.get("/my/", HTTP_HOST=acme.host).status_code == 403
    assert client.get(f"/my/login/{token}/", HTTP_HOST=acme.host).status_code == 403


def test_fresh_link_same_answer_whether_or_not_the_address_exists(
    client, acme, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from booking.services.mypage import token_hash

    with schema_context(acme.schema):
        candidate_make(rank="B", email="hanako@example.jp")
        cache.delete(f"booking:link-request:{token_hash('hanako@example.jp')}")
    with django_capture_on_commit_callbacks(execute=True):
        known = client.post("/my/link/", {"email": "Hanako@Example.jp"}, HTTP_HOST=acme.host)
        unknown = client.post("/my/link/", {"email": "nobody@example.jp"}, HTTP_HOST=acme.host)
    assert known.status_code == unknown.status_code == 200

    def without_csrf(response) -> str:
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())

    assert without_csrf(known) == without_csrf(unknown)
    assert "リンクをお送りしました" in without_csrf(known)
    assert [mail.to for mail in mailoutbox] == [["hanako@example.jp"]]
    # The link itself is minted when the mail leaves (tests/notifications/test_links_withheld.py).
    assert "{{ マイページURL }}" in mailoutbox[0].body


def test_book_change_cancel_without_javascript(client, acme, mailoutbox, django_capture_on_commit_callbacks):
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        seminar = seminar_make(quotas={"A": 2, POOL: 1}, slots=2, capacity=3, title="春の会社説明会")
        first, second = seminar.slots.all()
    _signed_in(client, acme, student)
    page = client.get(f"/my/seminars/{seminar.pk}/", HTTP_HOST=acme.host).content.decode()
    assert "春の会社説明会" in page and f'data-slot="{first.pk}">3<' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/my/book/", {"slot": first.pk}, HTTP_HOST=acme.host, follow=True)
    assert "予約が完了しました" in response.content.decode()
    assert any("予約完了" in mail.subject for mail in mailoutbox)
    again = client.post("/my/book/", {"slot": second.pk}, HTTP_HOST=acme.host)
    assert again.status_code == 409 and "すでに予約済み" in again.content.decode()
    changed = client.post("/my/book/", {"slot": second.pk, "change": "1"}, HTTP_HOST=acme.host, follow=True)
    assert "日程を変更しました" in changed.content.decode()
    with schema_context(acme.schema):
        booking = Booking.objects.get(candidate=student, status=BookingStatus.ACTIVE)
        assert booking.slot_id == second.pk
    cancel = client.post(f"/my/bookings/{booking.pk}/cancel/", HTTP_HOST=acme.host, follow=True)
    assert "キャンセルしました" in cancel.content.decode()
    with schema_context(acme.schema):
        assert not Booking.objects.filter(candidate=student, status=BookingStatus.ACTIVE).exists()


@pytest.mark.parametrize(
    "slot_value, status, message",
    [("999999", 404, "見つかりません"), ("abc", 404, "見つかりません"), ("", 404, "見つかりません")],
)
def test_bad_slot_ids_are_clear_4xx(client, acme, slot_value, status, message):
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
    _signed_in(client, acme, student)
    response = client.post("/my/book/", {"slot": slot_value}, HTTP_HOST=acme.host)
    assert response.status_code == status and message in response.content.decode()
    answer = client.post("/my/book/", {"slot": slot_value}, HTTP_HOST=acme.host, **JSON).json()
    assert answer == {"ok": False, "code": "not_found", "message": "指定された日程が見つかりません。"}


def test_another_tenants_slot_and_hidden_seminar(client, tenants, db):
    acme, globex = tenants["acme"], tenants["globex"]
    with schema_context(globex.schema):
        foreign = seminar_make(capacity=5, title="グローベックス説明会").slots.get()
    with schema_context(acme.schema):
        student = candidate_make(rank="D")
        hidden = seminar_make(capacity=5, title="Dには非公開")
        rank_rules_set(seminar=hidden, rules={"D": (False, None)})
        # Ids are per schema: globex's slot id may name one of acme's own slots, never globex's.
        acme_has_same_id = Slot.objects.filter(pk=foreign.pk).exists()
    _signed_in(client, acme, student)
    hidden_slot = hidden.slots.get()
    refused = client.post("/my/book/", {"slot": hidden_slot.pk}, HTTP_HOST=acme.host, **JSON)
    assert refused.status_code == 404 and refused.json()["code"] == "not_visible"
    assert client.get(f"/my/seminars/{hidden.pk}/", HTTP_HOST=acme.host).status_code == 404
    assert client.get(f"/my/seminars/{hidden.pk}/seats.json", HTTP_HOST=acme.host).status_code == 404
    home = client.get("/my/", HTTP_HOST=acme.host).content.decode()
    assert "Dには非公開" not in home
    if not acme_has_same_id:
        foreign_answer = client.post("/my/book/", {"slot": foreign.pk}, HTTP_HOST=acme.host, **JSON)
        assert foreign_answer.status_code == 404
    with schema_context(globex.schema):
        assert not Booking.objects.filter(slot=foreign).exists()


def test_full_answer_then_waiting_list(client, acme):
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 1}, capacity=1)
        slot = seminar.slots.get()
        holder, late = candidate_make(rank="A"), candidate_make(rank="A")
    _signed_in(client, acme, holder)
    assert client.post("/my/book/", {"slot": slot.pk}, HTTP_HOST=acme.host, **JSON).json()["code"] == "booked"
    client.cookies.clear()
    _signed_in(client, acme, late)
    full = client.post("/my/book/", {"slot": slot.pk}, HTTP_HOST=acme.host, **JSON)
    assert full.status_code == 409 and full.json()["code"] == "full"
    full_page = client.post("/my/book/", {"slot": slot.pk}, HTTP_HOST=acme.host)
    assert full_page.status_code == 409 and "満席" in full_page.content.decode()
    assert 'action="/my/waitlist/join/"' in full_page.content.decode()
    page = client.get(f"/my/seminars/{seminar.pk}/", HTTP_HOST=acme.host).content.decode()
    assert "キャンセル待ちに登録" in page
    joined = client.post("/my/waitlist/join/", {"slot": slot.pk}, HTTP_HOST=acme.host, **JSON)
    assert joined.json()["code"] == "waitlisted"
    seats = client.get(f"/my/seminars/{seminar.pk}/seats.json", HTTP_HOST=acme.host).json()
    assert seats["slots"] == {str(slot.pk): 0}


def test_ics_and_qr_of_a_booking(client, acme):
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        seminar = seminar_make(capacity=5, title="秋のインターン説明会")
        slot = seminar.slots.get()
        other = candidate_make(rank="A")
        from booking.services import booking_create

        foreign_booking = booking_create(candidate=other, slot_id=slot.pk).booking
    _signed_in(client, acme, student)
    booking_id = client.post("/my/book/", {"slot": slot.pk}, HTTP_HOST=acme.host, **JSON).json()["booking"]
    ics = client.get(f"/my/bookings/{booking_id}/calendar.ics", HTTP_HOST=acme.host)
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(ics.content)
    event = next(iter(calendar.walk("VEVENT")))
    assert str(event["summary"]) == "秋のインターン説明会"
    assert event.decoded("dtstart") == slot.starts_at and event.decoded("dtend") == slot.ends_at
    assert str(event["location"]) == "東京本社"
    qr = client.get(f"/my/bookings/{booking_id}/qr.svg", HTTP_HOST=acme.host)
    assert (
        qr.status_code == 200
        and qr["Content-Type"] == "image/svg+xml"
        and b'xmlns="http://www.w3.org/2000/svg"' in qr.content
    )
    # Another student's booking: not theirs to download.
    assert (
        client.get(f"/my/bookings/{foreign_booking.pk}/calendar.ics", HTTP_HOST=acme.host).status_code == 404
    )
    assert client.get(f"/my/bookings/{foreign_booking.pk}/qr.svg", HTTP_HOST=acme.host).status_code == 404


def test_profile_is_read_only(client, acme):
    with schema_context(acme.schema):
        student = candidate_make(rank="B", university="東京大学")
    _signed_in(client, acme, student)
    page = client.get("/my/profile/", HTTP_HOST=acme.host)
    html = page.content.decode()
    assert page.status_code == 200 and "東京大学" in html and "採用担当" in html
    assert f"mailto:{acme.tenant.admin_email}" in html
    assert 'action="/my/profile/"' not in html and 'type="text"' not in html
    assert client.post("/my/profile/", HTTP_HOST=acme.host).status_code == 405


def test_fresh_links_are_rate_limited_per_address(
    client, acme, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from booking.services.mypage import token_hash

    with schema_context(acme.schema):
        candidate_make(rank="B", email="limit@example.jp")
        cache.delete(f"booking:link-request:{token_hash('limit@example.jp')}")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            client.post("/my/link/", {"email": "limit@example.jp"}, HTTP_HOST=acme.host).status_code
            for _ in range(5)
        ]
    assert answers == [200] * 5
    assert len(mailoutbox) == 3


def test_offer_shows_on_my_page_and_is_confirmed_there(
    client, acme, mailoutbox, django_capture_on_commit_callbacks
):
    from booking.services import booking_cancel, booking_create, waitlist_join

    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 1}, capacity=1, title="キャンセル待ち説明会")
        slot = seminar.slots.get()
        holder, waiting = candidate_make(rank="A"), candidate_make(rank="A")
        booking = booking_create(candidate=holder, slot_id=slot.pk).booking
        entry = waitlist_join(candidate=waiting, slot_id=slot.pk)
        with django_capture_on_commit_callbacks(execute=True):
            booking_cancel(candidate=holder, booking_id=booking.pk)
    offer_mail = next(mail for mail in mailoutbox if "空席のご案内" in mail.subject)
    assert offer_mail.to == [waiting.email] and "までにマイページで予約を確定" in offer_mail.body
    _signed_in(client, acme, waiting)
    home = client.get("/my/", HTTP_HOST=acme.host).content.decode()
    assert "空席のご案内" in home and f"/my/waitlist/{entry.pk}/accept/" in home
    accepted = client.post(f"/my/waitlist/{entry.pk}/accept/", HTTP_HOST=acme.host, follow=True)
    assert "予約が完了しました" in accepted.content.decode()
    with schema_context(acme.schema):
        assert Booking.objects.get(candidate=waiting, status=BookingStatus.ACTIVE).slot_id == slot.pk
    again = client.post(f"/my/waitlist/{entry.pk}/accept/", HTTP_HOST=acme.host)
    assert again.status_code == 404 and "ご案内が見つかりません" in again.content.decode()


def test_booking_request_query_budget(client, acme, django_assert_max_num_queries):
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        slot = seminar_make(quotas={"A": 5}, capacity=5).slots.get()
    _signed_in(client, acme, student)
    with schema_context(acme.schema):
        mypage_url(path="/my/")  # the company's host is looked up once per process
    # Session, token + student, slot + seminar, rank rule, one statement deciding and inserting, the
    # booking.created event (one INSERT that writes nothing without a subscriber), commit, and the
    # confirmation mail queued in the outbox in the same transaction (insert + read back).
    with django_assert_max_num_queries(11):
        answer = client.post("/my/book/", {"slot": slot.pk}, HTTP_HOST=acme.host, **JSON)
    assert answer.json()["code"] == "booked"


def test_one_client_asking_for_many_addresses_is_stopped(
    client, acme, mailoutbox, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    from booking.services.mypage import LINK_REQUESTS_PER_CLIENT_HOUR, token_hash

    with schema_context(acme.schema):
        candidate_make(rank="B", email="flood-target@example.jp")
        cache.delete(f"booking:link-request-client:{token_hash('203.0.113.9')}")
        cache.delete(f"booking:link-request:{token_hash('flood-target@example.jp')}")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            client.post(
                "/my/link/",
                {"email": f"student{number}@example.jp"},
                HTTP_HOST=acme.host,
                REMOTE_ADDR="203.0.113.9",
            ).status_code
            for number in range(150)
        ]
        blocked = client.post(
            "/my/link/", {"email": "flood-target@example.jp"}, HTTP_HOST=acme.host, REMOTE_ADDR="203.0.113.9"
        )
    assert answers.count(200) == LINK_REQUESTS_PER_CLIENT_HOUR and answers.count(429) == 150 - answers.count(
        200
    )
    assert blocked.status_code == 429 and "多すぎます" in blocked.content.decode()
    assert len(mailoutbox) == 0
    # Another client is not held back by this one.
    with django_capture_on_commit_callbacks(execute=True):
        other = client.post(
            "/my/link/", {"email": "flood-target@example.jp"}, HTTP_HOST=acme.host, REMOTE_ADDR="198.51.100.7"
        )
    assert other.status_code == 200 and [mail.to for mail in mailoutbox] == [["flood-target@example.jp"]]
