"""Recruiter pages: seminars, slots, quotas, rank rules, bookings, attendance, check-in; viewer is read-only."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from booking.demo import demo_seed
from booking.models import POOL, Attendance, Booking, Seminar, SeminarRankRule, SlotQuota
from booking.services import booking_create
from booking.signals import attendance_marked
from tests.booking.conftest import candidate_make, rank_seats_post, ranks_in_table, seminar_make
from tests.conftest import DEMO_PASSWORD


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


def _login(client, info, email) -> bool:
    response = client.post("/login/", {"username": email, "password": DEMO_PASSWORD}, HTTP_HOST=info.host)
    return response.status_code == 302


@pytest.fixture
def viewer_client(client, acme):
    with schema_context(acme.schema):
        User.objects.create_user(
            username="viewer@acme.example.jp",
            email="viewer@acme.example.jp",
            password=DEMO_PASSWORD,
            role=Role.VIEWER,
        )
    assert _login(client, acme, "viewer@acme.example.jp")
    return client


def test_pages_need_a_login(client, acme):
    response = client.get("/booking/seminars/", HTTP_HOST=acme.host)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_create_seminar_slot_quotas_and_rules(client, acme):
    assert _login(client, acme, acme.admin_email)
    created = client.post(
        "/booking/seminars/new/",
        {
            "title": "夏の説明会",
            "description": "",
            "place": "大阪",
            "published": "on",
            "default_visible": "on",
            "offer_minutes": "30",
        },
        HTTP_HOST=acme.host,
    )
    assert created.status_code == 302
    with schema_context(acme.schema):
        seminar = Seminar.objects.get(title="夏の説明会")
    ranks_in_table(schema=acme.schema, ranks="ABD")
    form = client.get(f"/booking/seminars/{seminar.pk}/", HTTP_HOST=acme.host).content.decode()
    assert 'name="quotas_0"' in form and "A=40" not in form  # a number box per rank, no mini-language
    slot_answer = client.post(
        f"/booking/seminars/{seminar.pk}/slots/",
        {
            "starts_at": "2027-07-01T10:00",
            "ends_at": "2027-07-01T11:00",
            "capacity": "100",
            **rank_seats_post(schema=acme.schema, seats={"A": 40, "B": 40, POOL: 20}),
        },
        HTTP_HOST=acme.host,
    )
    assert slot_answer.status_code == 302
    with schema_context(acme.schema):
        slot = seminar.slots.get()
        assert {q.rank: q.seats for q in slot.quotas.all()} == {"A": 40, "B": 40, POOL: 20}
    too_many = client.post(
        f"/booking/slots/{slot.pk}/quotas/",
        {"capacity": "100", **rank_seats_post(schema=acme.schema, seats={"A": 90, POOL: 20})},
        HTTP_HOST=acme.host,
    )
    assert too_many.status_code == 400 and "定員（100）を超えています" in too_many.content.decode()
    bad = client.post(
        f"/booking/seminars/{seminar.pk}/slots/",
        {
            "starts_at": "2027-07-01T10:00",
            "ends_at": "2027-07-01T11:00",
            "capacity": "10",
            **rank_seats_post(schema=acme.schema, seats={"A": -3}),
        },
        HTTP_HOST=acme.host,
    )
    assert bad.status_code == 400 and 'id="id_quotas_error"' in bad.content.decode()
    rules = client.post(
        f"/booking/seminars/{seminar.pk}/rules/",
        {"rank_A_0": "shown", "rank_A_1": "2027/03/01 10:00", "rank_D_0": "hidden", "rank_D_1": ""},
        HTTP_HOST=acme.host,
    )
    assert rules.status_code == 302
    with schema_context(acme.schema):
        assert {r.rank: r.visible for r in SeminarRankRule.objects.filter(seminar=seminar)} == {
            "A": True,
            "D": False,
        }
    wrong = client.post(
        f"/booking/seminars/{seminar.pk}/rules/", {"rank_A_0": "", "rank_A_1": "3月1日"}, HTTP_HOST=acme.host
    )
    assert wrong.status_code == 400 and 'id="id_rank_A_error"' in wrong.content.decode()
    detail = client.get(f"/booking/seminars/{seminar.pk}/", HTTP_HOST=acme.host).content.decode()
    assert "*=20" not in detail and "共有枠 20" in detail and "A 40" in detail
    # Opening times read back in Japan time, as typed.
    assert 'name="rank_A_1" value="2027-03-01T10:00"' in detail and "非公開" in detail
    assert "A 2027-03-01 10:00" not in detail  # rows with a picker, no mini-language


def test_bookings_list_attendance_and_check_in(client, acme, django_capture_on_commit_callbacks):
    with schema_context(acme.schema):
        seminar = seminar_make(capacity=5)
        slot = seminar.slots.get()
        student = candidate_make(rank="A", family_name="佐藤")
        booking = booking_create(candidate=student, slot_id=slot.pk).booking
    assert _login(client, acme, acme.admin_email)
    listing = client.get(f"/booking/slots/{slot.pk}/", HTTP_HOST=acme.host).content.decode()
    assert "佐藤" in listing and booking.check_in_code in listing
    heard = []

    def receiver(sender, **details):
        heard.append(details)

    attendance_marked.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                f"/booking/bookings/{booking.pk}/attendance/", {"attendance": "no_show"}, HTTP_HOST=acme.host
            )
    finally:
        attendance_marked.disconnect(receiver)
    assert heard == [
        {
            "signal": attendance_marked,
            "schema_name": acme.schema,
            "booking_id": booking.pk,
            "candidate_id": student.pk,
            "seminar_id": seminar.pk,
            "attendance": "no_show",
        }
    ]
    with schema_context(acme.schema):
        assert Booking.objects.get(pk=booking.pk).attendance == Attendance.NO_SHOW
    bad = client.post(
        f"/booking/bookings/{booking.pk}/attendance/", {"attendance": "maybe"}, HTTP_HOST=acme.host
    )
    assert bad.status_code == 400 and "出欠の値" in bad.content.decode()
    # At the door: the scanned QR content is a URL carrying the code; typing the code works too.
    scanned = f"http://{acme.host}/booking/checkin/?code={booking.check_in_code}"
    found = client.get("/booking/checkin/", {"code": scanned}, HTTP_HOST=acme.host)
    assert found.status_code == 200 and "佐藤" in found.content.decode()
    client.post("/booking/checkin/", {"code": booking.check_in_code, "confirm": "1"}, HTTP_HOST=acme.host)
    with schema_context(acme.schema):
        assert Booking.objects.get(pk=booking.pk).attendance == Attendance.ATTENDED
    unknown = client.get("/booking/checkin/", {"code": "nope"}, HTTP_HOST=acme.host)
    assert unknown.status_code == 404 and "見つかりません" in unknown.content.decode()


def test_viewer_reads_but_cannot_change(viewer_client, acme):
    with schema_context(acme.schema):
        seminar = seminar_make(capacity=5, title="閲覧者テスト")
        slot = seminar.slots.get()
        booking = booking_create(candidate=candidate_make(rank="A"), slot_id=slot.pk).booking
    client = viewer_client
    assert client.get("/booking/seminars/", HTTP_HOST=acme.host).status_code == 200
    assert client.get(f"/booking/slots/{slot.pk}/", HTTP_HOST=acme.host).status_code == 200
    for path, data in [
        ("/booking/seminars/new/", {"title": "x"}),
        (f"/booking/slots/{slot.pk}/quotas/", {"capacity": "5", "quotas_0": "1"}),
        (f"/booking/bookings/{booking.pk}/attendance/", {"attendance": "attended"}),
        ("/booking/checkin/", {"code": booking.check_in_code, "confirm": "1"}),
    ]:
        response = client.post(path, data, HTTP_HOST=acme.host)
        assert response.status_code == 403 and "閲覧のみ" in response.content.decode(), path
    with schema_context(acme.schema):
        assert Booking.objects.get(pk=booking.pk).attendance == Attendance.UNKNOWN
        assert SlotQuota.objects.get(slot=slot).seats == 5


def test_demo_seed_gives_a_link_per_rank(client, acme):
    links = demo_seed(tenant=acme.tenant)
    assert sorted(links) == ["A", "B", "C", "D"]
    again = demo_seed(tenant=acme.tenant)
    assert sorted(again) == ["A", "B", "C", "D"]
    with schema_context(acme.schema):
        assert Seminar.objects.filter(title__startswith="【デモ】").count() == 1
    path = links["A"].split(acme.host, 1)[1].split("/", 1)[1]
    assert client.post("/" + path, HTTP_HOST=acme.host).status_code == 302
    assert "【デモ】" in client.get("/my/", HTTP_HOST=acme.host).content.decode()
    client.cookies.clear()
    d_path = links["D"].split(acme.host, 1)[1].split("/", 1)[1]
    client.post("/" + d_path, HTTP_HOST=acme.host)
    assert "【デモ】" not in client.get("/my/", HTTP_HOST=acme.host).content.decode()


def test_recruiter_cancels_past_the_students_deadline(client, acme):
    from datetime import timedelta

    from django.utils import timezone

    with schema_context(acme.schema):
        seminar = seminar_make(capacity=2, cancellation_deadline=timezone.now() - timedelta(days=1))
        slot = seminar.slots.get()
        booking = booking_create(candidate=candidate_make(rank="A"), slot_id=slot.pk).booking
    assert _login(client, acme, acme.admin_email)
    response = client.post(f"/booking/bookings/{booking.pk}/cancel/", HTTP_HOST=acme.host)
    assert response.status_code == 302
    with schema_context(acme.schema):
        assert Booking.objects.get(pk=booking.pk).status == "cancelled"
        assert SlotQuota.objects.get(slot=slot).taken == 0
    again = client.post(f"/booking/bookings/{booking.pk}/cancel/", HTTP_HOST=acme.host)
    assert again.status_code == 404 and "有効な予約が見つかりません" in again.content.decode()


def test_recruiter_sends_and_revokes_my_page_links(
    client, acme, mailoutbox, django_capture_on_commit_callbacks
):
    from booking.models import MyPageToken

    with schema_context(acme.schema):
        student = candidate_make(rank="B", email="taro@example.jp")
    assert _login(client, acme, acme.admin_email)
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            f"/booking/students/{student.pk}/mypage/send/",
            {"next": "/booking/seminars/"},
            HTTP_HOST=acme.host,
        )
    assert sent.status_code == 302 and sent["Location"] == "/booking/seminars/"
    # The link is minted when the mail leaves (tests/notifications/test_links_withheld.py).
    assert mailoutbox[-1].to == ["taro@example.jp"] and "{{ マイページURL }}" in mailoutbox[-1].body
    revoked = client.post(
        f"/booking/students/{student.pk}/mypage/revoke/", {"next": "//evil.example.com/"}, HTTP_HOST=acme.host
    )
    assert revoked.status_code == 302 and revoked["Location"] == "/booking/seminars/"
    sneaky = client.post(
        f"/booking/students/{student.pk}/mypage/revoke/",
        {"next": "/\\evil.example.com/"},
        HTTP_HOST=acme.host,
    )
    assert sneaky["Location"] == "/booking/seminars/"
    with schema_context(acme.schema):
        assert not MyPageToken.objects.filter(candidate=student, revoked_at__isnull=True).exists()
    assert (
        client.post(f"/booking/students/{student.pk}/mypage/bogus/", HTTP_HOST=acme.host).status_code == 404
    )
    assert client.post("/booking/students/999999/mypage/send/", HTTP_HOST=acme.host).status_code == 404
