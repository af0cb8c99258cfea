"""Layouts that hold: at 390 px the recruiter pages keep the screen's width (a wide table scrolls inside
itself) and no table cell collapses into a column of single characters."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from booking.models import Booking, Seminar
from booking.services import booking_create
from candidates.models import Candidate
from tests.booking.conftest import candidate_make, seminar_make
from tests.conftest import DEMO_PASSWORD

CHROMIUM = {"executable_path": "/usr/bin/chromium", "args": ["--no-sandbox", "--disable-gpu"]}
WIDTH = 390
# Cells narrower than this hold one or two characters a line.
NARROWEST_CELL = 36


@pytest.mark.browser
def test_recruiter_pages_hold_at_phone_width(live_server_daphne, tenants, committed):
    from playwright.sync_api import sync_playwright

    acme, server = tenants["acme"], live_server_daphne
    with schema_context(acme.schema):
        seminar = seminar_make(
            title="とても長い名前の会社説明会・オンライン開催（全学部全学科対象）",
            quotas={"A": 5},
            capacity=5,
        )
        slot = seminar.slots.get()
        student = candidate_make(
            rank="A", email="a.very.long.address.for.layout.checks@example-university.ac.jp"
        )
        booking_create(candidate=student, slot_id=slot.pk)
    paths = [
        "/home/",
        "/candidates/",
        f"/candidates/{student.pk}/",
        "/booking/seminars/",
        f"/booking/seminars/{seminar.pk}/",
        f"/booking/slots/{slot.pk}/",
        "/mail/sequences/",
        "/candidates/ranks/",
        "/status/",
    ]
    problems: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**CHROMIUM)
            try:
                page = browser.new_context(
                    locale="ja-JP", viewport={"width": WIDTH, "height": 844}
                ).new_page()
                page.goto(server.url(acme.host, "/login/"))
                page.fill("#id_username", acme.admin_email)
                page.fill("#id_password", DEMO_PASSWORD)
                page.click("main button[type=submit]")
                page.wait_for_url("**/home/")
                for path in paths:
                    page.goto(server.url(acme.host, path))
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    if wide > WIDTH:
                        problems.append(f"{path}: the page is {wide} px wide")
                    narrow = page.evaluate(
                        """(least) => [...document.querySelectorAll('td, th')]
                            .filter(c => c.offsetParent && c.innerText.trim().length > 2 && c.offsetWidth < least)
                            .map(c => c.innerText.trim().slice(0, 20))""",
                        NARROWEST_CELL,
                    )
                    if narrow:
                        problems.append(f"{path}: collapsed cells {narrow[:3]}")
            finally:
                browser.close()
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk=student.pk).delete()
    assert problems == []
