"""The rush path speaks the student's language: their choice (the language cookie) or their browser's, on the
threads (Django) and on the rush workers' event loop (uvicorn), Japanese by default."""

# ruff: noqa: F811 - the fixtures are imported from the other rush tests
from __future__ import annotations

import httpx
from django.conf import settings
from django_tenants.utils import schema_context

from booking.models import Seminar
from booking.rush import passes
from tests.booking.conftest import candidate_make, rush_seminar_remove, seminar_make
from tests.booking.test_rush import book, rush, student_client  # noqa: F401
from tests.booking.test_rush_asgi import rush_server  # noqa: F401

BOOKED_EN = "Your booking is confirmed"


def test_the_rush_page_and_answers_follow_the_language_cookie(rush, acme_schema):
    student = candidate_make(rank="A")
    english = student_client(acme_schema, student)
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = english.get(f"/my/rush/{rush.pk}/").content.decode()
    assert ">Book<" in page and "予約する" not in page
    answer = book(english, rush, rush.slots.first())
    assert answer.json()["code"] == "booked" and answer.json()["message"].startswith(BOOKED_EN)
    # The same page for a Japanese student right after: the per-process copy is kept per language.
    japanese = student_client(acme_schema, candidate_make(rank="A")).get(f"/my/rush/{rush.pk}/")
    assert "予約する" in japanese.content.decode()


def test_the_rush_workers_answer_in_the_browsers_language(rush_server, tenants, committed):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(quotas={"A": 2}, capacity=2)
        Seminar.objects.filter(pk=seminar.pk).update(waiting_room="off")
        slot_id = seminar.slots.first().pk
        first, second = candidate_make(rank="A"), candidate_make(rank="A")
    try:

        def cookies(candidate) -> dict[str, str]:
            return passes.student_cookies_issue(
                schema=acme.schema, candidate_id=candidate.pk, rank="A", season_id=candidate.season_id
            )

        with httpx.Client(base_url=rush_server, headers={"Host": acme.host}, timeout=10) as http:
            # Twice each: the first request of a process takes the thread path, the next the event loop.
            for candidate in (first, second):
                page = http.get(
                    f"/my/rush/{seminar.pk}/", headers={"Accept-Language": "en"}, cookies=cookies(candidate)
                )
                assert page.status_code == 200 and ">Book<" in page.text and "予約する" not in page.text
            for candidate, language, expected in (
                (first, "en", BOOKED_EN),
                (second, "ja", "予約が完了しました"),
            ):
                booked = http.post(
                    f"/my/rush/{seminar.pk}/book",
                    json={"slot": slot_id},
                    headers={"X-Requested-With": "rush", "Accept-Language": language},
                    cookies=cookies(candidate),
                )
                assert booked.json()["code"] == "booked" and booked.json()["message"].startswith(expected)
            japanese = http.get(f"/my/rush/{seminar.pk}/", cookies=cookies(first))
            assert "予約する" in japanese.text
    finally:
        rush_seminar_remove(schema=acme.schema, seminar=seminar)
