"""In Chromium: every recruiter section and the My Page show a published incident live within 2 s, and show the
incidents already active when they load; a dismissed banner stays away until the next update."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from booking.models import Seminar
from candidates.models import Candidate
from incidents.models import Component, Impact, Incident, Scope, State, Visibility
from notifications.models import OutboxMessage
from tests.booking.conftest import mypage_session_key
from tests.conftest import DEMO_PASSWORD
from tests.factories import CandidateFactory, SeminarFactory
from tests.pages import recruiter_pages

TITLE = "ブラウザ確認: 全画面への障害バナー"
CHROMIUM = {"executable_path": "/usr/bin/chromium", "args": ["--no-sandbox", "--disable-gpu"]}
LIVE_SECONDS = 2.0


def _in_thread(func, *args, **kwargs):
    """Django's ORM away from Playwright's event loop (and its connection closed after)."""

    def run():
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def _publish(tenant) -> Incident:
    from incidents.services.lifecycle import incident_create

    return incident_create(
        actor="ops",
        title=TITLE,
        message_ja="候補者一覧と説明会予約の表示が遅くなっています。",
        impact=Impact.MAJOR,
        scope=Scope.CHOSEN,
        tenants=[tenant],
        visibility=Visibility.PUBLIC,
        components=[Component.objects.get(slug="mypage")],
    )


def _update(incident: Incident, message: str):
    from incidents.services.lifecycle import incident_update_post

    return incident_update_post(actor="ops", incident=incident, state=State.IDENTIFIED, message_ja=message)


def _paths(seminar, candidate) -> list[str]:
    """Every recruiter page without arguments (from the URLconf), a seminar and a candidate."""
    paths = ["/" + route.route for route in recruiter_pages() if not route.arguments]
    return paths + [f"/booking/seminars/{seminar.pk}/", f"/candidates/{candidate.pk}/"]


@pytest.fixture
def world(tenants, committed, eager_celery, live_server_daphne):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = SeminarFactory(title="バナー確認用説明会", quotas={"A": 5}, slots=1, capacity=5)
        student = CandidateFactory(rank="A")
    cookie = mypage_session_key(schema=acme.schema, candidate=student)
    yield {
        "server": live_server_daphne,
        "acme": acme,
        "seminar": seminar,
        "student": student,
        "cookie": cookie,
    }
    Incident.objects.filter(title=TITLE).delete()
    with schema_context(acme.schema):
        OutboxMessage.objects.filter(subject__contains=TITLE).delete()
        Seminar.objects.filter(pk=seminar.pk).delete()
        Candidate.objects.filter(pk=student.pk).delete()


def _recruiter_context(browser, server, acme):
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.goto(server.url(acme.host, "/login/"))
    page.fill("#id_username", acme.admin_email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/home/")
    page.close()
    return context


def _student_context(browser, server, acme, cookie):
    context = browser.new_context(locale="ja-JP", viewport={"width": 375, "height": 812})
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": server.url(acme.host)}]
    )
    return context


@pytest.mark.browser
@pytest.mark.slow
def test_a_published_incident_reaches_every_open_page_within_two_seconds(world):
    from playwright.sync_api import expect, sync_playwright

    server, acme, seminar = world["server"], world["acme"], world["seminar"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**CHROMIUM)
        try:
            recruiter = _recruiter_context(browser, server, acme)
            student = _student_context(browser, server, acme, world["cookie"])
            pages = {}
            for path in _paths(seminar, world["student"]):
                pages[path] = recruiter.new_page()
                pages[path].goto(server.url(acme.host, path))
            for path in ("/my/", f"/my/seminars/{seminar.pk}/"):
                pages[path] = student.new_page()
                pages[path].goto(server.url(acme.host, path))
            assert len(pages) >= 25
            for path, page in pages.items():
                expect(page.locator("#banners"), path).to_have_attribute("data-live", "1", timeout=15_000)
                assert page.locator("#banners .banner").count() == 0, path

            incident = _in_thread(_publish, acme.tenant)
            published = time.monotonic()
            selector = f'#banners [data-banner="incident-{incident.pk}"]'
            for page in pages.values():
                remaining = max(LIVE_SECONDS - (time.monotonic() - published), 0.05)
                page.wait_for_selector(selector, timeout=remaining * 1000)
            elapsed = time.monotonic() - published
            assert elapsed < LIVE_SECONDS, elapsed

            home = pages["/home/"]
            banner = home.locator(selector)
            expect(banner).to_contain_text(TITLE)
            expect(banner.locator("time").first).to_have_attribute(
                "datetime", incident.published_at.isoformat()
            )
            assert banner.locator("a").get_attribute("href") == f"/status/incidents/{incident.pk}/"
            my_banner = pages["/my/"].locator(selector)
            expect(my_banner).to_contain_text("説明会の予約・マイページの一部機能")
            assert (
                TITLE not in my_banner.inner_text()
            )  # students read the plain notice, not the internal title

            # Dismissed: gone, and still gone after a reload while nothing new was said.
            banner.locator(".banner-close").click()
            expect(home.locator(selector)).to_have_count(0)
            home.reload()
            expect(home.locator("#banners")).to_have_attribute("data-live", "1", timeout=10_000)
            expect(home.locator(selector)).to_have_count(0)
            # The next update shows it again, live, with its words; other pages replace theirs (never two).
            _in_thread(_update, incident, "原因を特定しました。")
            expect(home.locator(selector)).to_contain_text("原因を特定しました", timeout=LIVE_SECONDS * 1000)
            candidates_page = pages["/candidates/"]
            expect(candidates_page.locator(selector)).to_contain_text("原因を特定しました", timeout=2_000)
            expect(candidates_page.locator(selector)).to_have_count(1)
            home.reload()
            expect(home.locator(selector)).to_contain_text("原因を特定しました")
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.slow
def test_pages_opened_while_an_incident_is_active_show_it(world):
    from playwright.sync_api import expect, sync_playwright

    server, acme, seminar = world["server"], world["acme"], world["seminar"]
    incident = _in_thread(_publish, acme.tenant)
    selector = f'#banners [data-banner="incident-{incident.pk}"]'
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**CHROMIUM)
        try:
            page = _recruiter_context(browser, server, acme).new_page()
            for path in _paths(seminar, world["student"]):
                page.goto(server.url(acme.host, path))
                banner = page.locator(selector)
                expect(banner, path).to_contain_text(TITLE)
                expect(banner, path).to_contain_text("発生")
                expect(banner, path).to_contain_text("最終更新")
                assert banner.locator("a").get_attribute("href") == f"/status/incidents/{incident.pk}/", path
            student = _student_context(browser, server, acme, world["cookie"]).new_page()
            for path in ("/my/", f"/my/seminars/{seminar.pk}/", "/my/profile/"):
                student.goto(server.url(acme.host, path))
                expect(student.locator(selector), path).to_contain_text("説明会の予約・マイページの一部機能")
        finally:
            browser.close()
