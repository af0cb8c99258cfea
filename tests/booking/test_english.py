"""Booking in English: the My Page, a seminar's booking page and the recruiters' seminar pages read in English
when the browser or the language cookie asks for it, with dates written the English way; Japanese is left
only in what students and companies typed (names, seminar titles, places)."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.services import booking_create
from booking.services.mypage import mypage_token_create
from tests.booking.conftest import candidate_make, seminar_make
from tests.conftest import DEMO_PASSWORD
from tests.test_i18n import JAPANESE

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


# The language menu names each language in itself.
LANGUAGE_NAMES = ["日本語"]


def _japanese_left(html: str, *, data: list[str]) -> list[str]:
    """Lines still holding Japanese once the students' and the company's own words (and the language menu's
    names) are taken out."""
    for value in sorted(data + LANGUAGE_NAMES, key=len, reverse=True):
        html = html.replace(value, "")
    return [line.strip() for line in html.splitlines() if JAPANESE.search(line)]


def _signed_in(client, info, candidate) -> None:
    with schema_context(info.schema):
        token = mypage_token_create(candidate=candidate)
    assert client.post(f"/my/login/{token}/", HTTP_HOST=info.host, **ENGLISH).status_code == 302


def test_my_page_and_seminar_page_in_english(client, acme):
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        seminar = seminar_make(title="夏の会社説明会", place="東京本社", quotas={"A": 5})
        slot = seminar.slots.get()
        booking_create(candidate=student, slot_id=slot.pk)
    _signed_in(client, acme, student)
    data = [
        student.full_name,
        student.family_name,
        student.given_name,
        student.family_kana,
        student.given_kana,
        "夏の会社説明会",
        "東京本社",
        acme.tenant.name,
    ]
    start = timezone.localtime(slot.starts_at)
    english_day = f"{start:%a} {start.day} {start:%b} {start:%Y} {start:%H:%M}–"

    home = client.get("/my/", HTTP_HOST=acme.host, **ENGLISH).content.decode()
    assert '<html lang="en">' in home
    assert f"{student.full_name}'s My Page" in home
    assert "Your bookings" in home and "Add to calendar (.ics)" in home and "Cancel booking" in home
    assert english_day in home, "dates read Sat 19 Dec 2026 14:00–15:00 in English"
    assert not re.search(r"\d+月\d+日", home)
    assert _japanese_left(home, data=data) == []

    page = client.get(f"/my/seminars/{seminar.pk}/", HTTP_HOST=acme.host, **ENGLISH).content.decode()
    assert "You have booked this date" in page and "seats left" in page and "← My Page" in page
    assert f"{start:%a} {start.day} {start:%b} {start:%H:%M}–" in page
    assert _japanese_left(page, data=data) == []

    # The same pages in Japanese are as they were: the source language needs no catalogue.
    japanese = client.get("/my/", HTTP_HOST=acme.host, HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    weekday = "月火水木金土日"[start.weekday()]
    assert f"{student.full_name} さんのマイページ" in japanese
    assert f"{start:%Y}年{start.month}月{start.day}日({weekday}) {start:%H:%M}〜" in japanese


def test_recruiter_seminar_pages_in_english(client, acme):
    with schema_context(acme.schema):
        seminar = seminar_make(title="秋の会社説明会", quotas={"A": 4, "*": 6})
        slot = seminar.slots.get()
    client.cookies["django_language"] = "en"
    response = client.post(
        "/login/", {"username": acme.admin_email, "password": DEMO_PASSWORD}, HTTP_HOST=acme.host
    )
    assert response.status_code == 302
    data = ["秋の会社説明会", "東京本社", acme.tenant.name]

    listing = client.get("/booking/seminars/", HTTP_HOST=acme.host).content.decode()
    content = listing[listing.index("<h1>") :]
    assert "<h1>Seminars</h1>" in content and "Create a seminar" in content and "1 date" in content
    assert _japanese_left(content, data=data) == []

    detail = client.get(f"/booking/seminars/{seminar.pk}/", HTTP_HOST=acme.host).content.decode()
    content = detail[detail.index("<h1>") :]
    assert "Dates and seats" in content and "Seminar settings" in content and "Booking deadline" in content
    assert _japanese_left(content, data=data) == []

    slot_page = client.get(f"/booking/slots/{slot.pk}/", HTTP_HOST=acme.host).content.decode()
    content = slot_page[slot_page.index("<h1>") :]
    assert "Shared pool" in content and "No one is on the waiting list." in content
    assert _japanese_left(content, data=data) == []

    # A form error comes back in English too.
    refused = client.post(
        f"/booking/slots/{slot.pk}/quotas/", {"capacity": "10", "quotas_0": "x"}, HTTP_HOST=acme.host
    ).content.decode()
    assert "Enter a whole number." in refused
