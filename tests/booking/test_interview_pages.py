"""Interview pages: the My Page flow without JavaScript (.ics validated), and the recruiters' set-up page."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import User
from booking.models import BookingStatus, InterviewBooking, InterviewerAvailability, InterviewType
from booking.services.interviews import availability_add, interview_type_create
from booking.services.mypage import mypage_token_create
from tests.booking.conftest import candidate_make
from tests.booking.test_interviews import interviewer_make
from tests.conftest import DEMO_PASSWORD


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


def test_student_books_moves_and_cancels_an_interview(client, acme):
    start = timezone.localtime(timezone.now() + timedelta(days=4)).replace(
        hour=13, minute=0, second=0, microsecond=0
    )
    with schema_context(acme.schema):
        interviewer = interviewer_make()
        kind = interview_type_create(
            name="一次面接",
            step="interview",
            interviewers=[interviewer],
            duration_minutes=45,
            buffer_minutes=15,
            online_url="https://meet.example.jp/x",
        )
        availability_add(interviewer=interviewer, starts_at=start, ends_at=start + timedelta(hours=3))
        student = candidate_make(rank="C", status="interview")
        outsider = candidate_make(rank="A", status="entry")
        token, outsider_token = (
            mypage_token_create(candidate=student),
            mypage_token_create(candidate=outsider),
        )
    client.post(f"/my/login/{token}/", HTTP_HOST=acme.host)
    home = client.get("/my/", HTTP_HOST=acme.host).content.decode()
    assert "一次面接の日時を選ぶ" in home
    page = client.get(f"/my/interviews/{kind.pk}/", HTTP_HOST=acme.host).content.decode()
    assert page.count('type="radio"') == 3  # 13:00, 14:00, 15:00 (45 min + 15 min buffer)
    booked = client.post(
        f"/my/interviews/{kind.pk}/book/", {"starts_at": start.isoformat()}, HTTP_HOST=acme.host, follow=True
    )
    assert "面接を予約しました" in booked.content.decode()
    with schema_context(acme.schema):
        booking = InterviewBooking.objects.get(candidate=student, status=BookingStatus.ACTIVE)
    ics = client.get(f"/my/interviews/bookings/{booking.pk}/calendar.ics", HTTP_HOST=acme.host)
    event = next(iter(icalendar.Calendar.from_ical(ics.content).walk("VEVENT")))
    assert str(event["summary"]) == "一次面接"
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(minutes=45)
    assert str(event["url"]) == "https://meet.example.jp/x"
    taken = client.post(
        f"/my/interviews/{kind.pk}/book/", {"starts_at": "2020-01-01T10:00:00+09:00"}, HTTP_HOST=acme.host
    )
    assert taken.status_code == 409 and "別の時間" in taken.content.decode()
    moved = client.post(
        f"/my/interviews/{kind.pk}/book/",
        {"starts_at": (start + timedelta(hours=1)).isoformat(), "booking": booking.pk},
        HTTP_HOST=acme.host,
        follow=True,
    )
    assert "日時を変更しました" in moved.content.decode()
    cancel = client.post(f"/my/interviews/bookings/{booking.pk}/cancel/", HTTP_HOST=acme.host, follow=True)
    assert "キャンセルしました" in cancel.content.decode()
    # A student at another step sees nothing of it and cannot book it.
    client.cookies.clear()
    client.post(f"/my/login/{outsider_token}/", HTTP_HOST=acme.host)
    assert client.get(f"/my/interviews/{kind.pk}/", HTTP_HOST=acme.host).status_code == 404
    refused = client.post(
        f"/my/interviews/{kind.pk}/book/", {"starts_at": start.isoformat()}, HTTP_HOST=acme.host
    )
    assert refused.status_code == 404 and "対象外" in refused.content.decode()


def test_recruiter_creates_type_and_availability(client, acme):
    day = timezone.localtime(timezone.now() + timedelta(days=10))
    date = day.strftime("%Y-%m-%d")
    assert (
        client.post(
            "/login/", {"username": acme.admin_email, "password": DEMO_PASSWORD}, HTTP_HOST=acme.host
        ).status_code
        == 302
    )
    with schema_context(acme.schema):
        admin = User.objects.get(email=acme.admin_email)
    created = client.post(
        "/booking/interviews/",
        {
            "form": "type",
            "type-name": "二次面接",
            "type-step": "interview2",
            "type-duration_minutes": "60",
            "type-buffer_minutes": "0",
            "type-capacity": "1",
            "type-change_deadline_hours": "24",
            "type-interviewers": [admin.pk],
        },
        HTTP_HOST=acme.host,
    )
    assert created.status_code == 302
    bad = client.post(
        "/booking/interviews/",
        {
            "form": "availability",
            "availability-interviewer": admin.pk,
            "availability-starts_at": f"{date}T12:00",
            "availability-ends_at": f"{date}T10:00",
        },
        HTTP_HOST=acme.host,
    )
    assert bad.status_code == 400 and "終了は開始より後" in bad.content.decode()
    added = client.post(
        "/booking/interviews/",
        {
            "form": "availability",
            "availability-interviewer": admin.pk,
            "availability-starts_at": f"{date}T10:00",
            "availability-ends_at": f"{date}T12:00",
        },
        HTTP_HOST=acme.host,
    )
    assert added.status_code == 302
    with schema_context(acme.schema):
        kind = InterviewType.objects.get(name="二次面接")
        assert list(kind.interviewers.all()) == [admin]
        assert InterviewerAvailability.objects.filter(interviewer=admin).count() == 1
    listing = client.get("/booking/interviews/", HTTP_HOST=acme.host)
    assert listing.status_code == 200 and "二次面接" in listing.content.decode()
    detail = client.get(f"/booking/interviews/{kind.pk}/", HTTP_HOST=acme.host).content.decode()
    assert f"{day.month}/{day.day}" in detail and "面接官 1 名" in detail
