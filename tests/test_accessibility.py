"""Accessibility: axe-core (axe-playwright-python) over the main recruiter and student pages in Chromium finds
no serious or critical violation."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from booking.models import Booking, Seminar
from booking.services import booking_create
from booking.services.mypage import mypage_token_create
from candidates.models import Candidate
from tests.booking.conftest import candidate_make, seminar_make
from tests.conftest import DEMO_PASSWORD

CHROMIUM = {"executable_path": "/usr/bin/chromium", "args": ["--no-sandbox", "--disable-gpu"]}
GRAVE = ("serious", "critical")


def _grave(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.response["passes"], page.url  # axe-core ran its rules on this page
    return [
        f"{page.url} {violation['id']} ({violation['impact']}): "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in GRAVE
    ]


@pytest.mark.browser
def test_main_pages_have_no_serious_accessibility_violations(live_server_daphne, tenants, committed):
    from playwright.sync_api import sync_playwright

    acme, server = tenants["acme"], live_server_daphne
    with schema_context(acme.schema):
        seminar = seminar_make(title="アクセシビリティ確認の説明会", quotas={"A": 5}, capacity=5)
        slot = seminar.slots.get()
        student = candidate_make(rank="A")
        booking_create(candidate=student, slot_id=slot.pk)
        token = mypage_token_create(candidate=student)
    recruiter_paths = [
        "/home/",
        "/candidates/",
        f"/candidates/{student.pk}/",
        "/candidates/imports/",
        "/booking/seminars/",
        f"/booking/seminars/{seminar.pk}/",
        f"/booking/slots/{slot.pk}/",
        "/booking/interviews/",
        "/mail/sequences/",
        "/status/",
    ]
    student_paths = ["/my/", f"/my/seminars/{seminar.pk}/", "/my/profile/"]
    found: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**CHROMIUM)
            try:
                page = browser.new_context(locale="ja-JP").new_page()
                page.goto(server.url(acme.host, "/login/"))
                found += _grave(page)
                page.fill("#id_username", acme.admin_email)
                page.fill("#id_password", DEMO_PASSWORD)
                page.click("main button[type=submit]")
                page.wait_for_url("**/home/")
                for path in recruiter_paths:
                    page.goto(server.url(acme.host, path))
                    found += _grave(page)
                phone = browser.new_context(locale="ja-JP", viewport={"width": 375, "height": 812}).new_page()
                phone.goto(server.url(acme.host, f"/my/login/{token}/"))
                found += _grave(phone)
                phone.get_by_role("button", name="マイページにログインする").click()
                phone.wait_for_url("**/my/")
                for path in student_paths:
                    phone.goto(server.url(acme.host, path))
                    found += _grave(phone)
            finally:
                browser.close()
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk=student.pk).delete()
    assert found == []
