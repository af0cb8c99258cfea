"""Students' notices: the company's status page for students (/my/status/, no sign-in), its JSON, and the rush
page drawing the notices (start time, link to that page) from the same cached source as the My Page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.models import Seminar
from booking.services.mypage import mypage_token_create
from candidates.models import Candidate
from incidents.banners import STUDENT_STATUS_PATH, Audience, banners_for
from incidents.context_processors import STUDENT_CACHE_KEY
from incidents.models import Component, Impact, Incident, Scope, Visibility
from incidents.services.lifecycle import incident_create
from tests.booking.conftest import candidate_make, seminar_make
from tests.booking.test_browser import CHROMIUM_ARGS
from tests.booking.test_seats_browser import _student_page

TITLE = "内部向け: 予約 API のエラー率上昇"


def _incident(tenants, *, tenant: str = "acme") -> Incident:
    return incident_create(
        actor="watchdog",
        title=TITLE,
        message_ja="エラー率が上がっています。",
        impact=Impact.MAJOR,
        scope=Scope.CHOSEN,
        tenants=[tenants[tenant].tenant],
        visibility=Visibility.TENANTS,
        components=list(Component.objects.filter(slug="mypage")),
    )


def _forget_cached(*infos) -> None:
    for info in infos:
        with schema_context(info.schema):
            cache.delete(STUDENT_CACHE_KEY)


@pytest.mark.django_db
def test_the_student_notice_carries_its_start_and_links_the_companys_status_page(tenants):
    acme, globex = tenants["acme"], tenants["globex"]
    _forget_cached(acme, globex)
    incident = _incident(tenants)
    [banner] = banners_for(tenant=acme.tenant, audience=Audience.STUDENTS)
    assert banner.url == STUDENT_STATUS_PATH == "/my/status/"
    assert banner.started_at == (incident.published_at or incident.created_at)

    page = Client(HTTP_HOST=acme.host).get("/my/status/")  # no sign-in: a student from a notice's link
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-notice="incident-{incident.pk}"' in html and "説明会の予約・マイページの一部機能" in html
    assert banner.started_label in html and "発生" in html
    assert TITLE not in html  # the internal title stays with the recruiters

    other = Client(HTTP_HOST=globex.host).get("/my/status/").content.decode()
    assert "通常どおりご利用いただけます" in other and "data-notice=" not in other


@pytest.mark.django_db
def test_the_notices_json_is_the_my_pages_cached_banners(tenants, django_assert_max_num_queries):
    acme, globex = tenants["acme"], tenants["globex"]
    _forget_cached(acme, globex)
    incident = _incident(tenants)
    client = Client(HTTP_HOST=acme.host)
    first = client.get("/my/status.json")
    assert first["Cache-Control"].startswith("private, max-age=")
    [event] = first.json()["banners"]
    assert event["key"] == f"incident-{incident.pk}" and event["url"] == "/my/status/"
    assert event["started"] and event["started_iso"] and TITLE not in event["text"]
    with django_assert_max_num_queries(1):  # the tenant lookup at most: the banners come from the cache
        again = client.get("/my/status.json")
    assert again.json() == first.json()
    assert Client(HTTP_HOST=globex.host).get("/my/status.json").json() == {"banners": []}


@pytest.mark.browser
def test_the_rush_page_shows_the_companys_active_incident(live_server_daphne, tenants, committed):
    from playwright.sync_api import expect, sync_playwright

    acme, server = tenants["acme"], live_server_daphne
    _forget_cached(acme)
    with schema_context(acme.schema):
        seminar = seminar_make(
            title="障害表示の確認", quotas={"A": 5}, capacity=5, opens_at=timezone.now() + timedelta(hours=1)
        )
        student = candidate_make(rank="A")
        token = mypage_token_create(candidate=student)
    incident = _incident(tenants)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = _student_page(browser, server, acme, token)
                page.goto(server.url(acme.host, f"/my/rush/{seminar.pk}/"))
                banner = page.locator(f'#banners .banner[data-banner="incident-{incident.pk}"]')
                expect(banner).to_contain_text("説明会の予約・マイページの一部機能", timeout=10_000)
                started = (incident.published_at or incident.created_at).isoformat()
                expect(banner.locator("time").first).to_have_attribute("datetime", started)
                assert TITLE not in page.content()
                banner.get_by_role("link").click()
                page.wait_for_url("**/my/status/")
                expect(page.locator(f'[data-notice="incident-{incident.pk}"]')).to_be_visible()
            finally:
                browser.close()
    finally:
        Incident.objects.filter(pk=incident.pk).delete()
        _forget_cached(acme)
        with schema_context(acme.schema):
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk=student.pk).delete()
