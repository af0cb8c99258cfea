"""In a real browser: a recruiter's page shows the banner live when support staff publish an incident."""

from __future__ import annotations

import pytest
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from incidents.models import Incident, StaffAuditEntry
from tests.conftest import DEMO_PASSWORD, start_daphne, stop_process
from tests.incidents.conftest import STAFF_PASSWORD, start_redis, start_worker, totp_now

TITLE = "ブラウザ試験: 説明会予約の障害"


def _recruiter_page(browser, server, info):
    context = browser.new_context(locale="ja-JP")  # the pages follow the browser's language
    page = context.new_page()
    page.goto(server.url(info.host, "/login/"))
    page.fill("#id_username", info.admin_email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.goto(server.url(info.host, "/status/"))
    page.wait_for_function("() => document.readyState === 'complete'")
    return page


@pytest.mark.browser
@pytest.mark.slow
def test_recruiter_sees_banner_live_when_staff_publish(tenants, committed):
    assert connection.settings_dict["NAME"].startswith("test"), "refusing to write to a non-test database"
    from playwright.sync_api import expect, sync_playwright

    staff = User.objects.create_user(
        username="browser-ops@example.jp",
        email="browser-ops@example.jp",
        password=STAFF_PASSWORD,
        is_staff=True,
    )
    device = TOTPDevice.objects.create(user=staff, name="test", confirmed=True)
    redis_port, redis = start_redis()
    server = start_daphne(extra_env={"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"})
    worker = start_worker(redis_port=redis_port)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            acme_page = _recruiter_page(browser, server, tenants["acme"])
            globex_page = _recruiter_page(browser, server, tenants["globex"])
            staff_page = browser.new_context(locale="ja-JP").new_page()
            staff_page.goto(server.url("localhost", "/support/login/?next=/support/incidents/"))
            staff_page.fill("#id_username", staff.email)
            staff_page.fill("#id_password", STAFF_PASSWORD)
            staff_page.click("main button[type=submit]")
            staff_page.fill("#id_token", totp_now(device))
            staff_page.click("main button[type=submit]")
            staff_page.fill("#id_title", TITLE)
            staff_page.select_option("#id_impact", "major")
            staff_page.select_option("#id_scope", "chosen")
            staff_page.select_option("#id_tenants", label=str(tenants["acme"].tenant.name))
            staff_page.select_option("#id_visibility", "draft")
            staff_page.fill("#id_message_ja", "説明会の予約ができない状態です。")
            staff_page.click("main form button[type=submit]")
            staff_page.wait_for_selector("#publish")
            staff_page.select_option("select[name=visibility]", "tenants")
            staff_page.click("#publish")
            expect(acme_page.locator("#banners .banner")).to_contain_text(TITLE, timeout=15_000)
            link = acme_page.locator("#banners .banner a")
            assert link.get_attribute("href").startswith("/status/incidents/")
            # The banner's link leads the company admin to the acknowledgement button.
            link.click()
            acme_page.click("main button[type=submit]")
            expect(acme_page.locator("main")).to_contain_text("受領確認済み")
            globex_page.wait_for_timeout(1500)
            assert globex_page.locator("#banners .banner").count() == 0
            browser.close()
    finally:
        stop_process(worker)
        stop_process(server.process)
        stop_process(redis)
        Incident.objects.filter(title=TITLE).delete()
        StaffAuditEntry.objects.filter(actor=staff.email).delete()
        TOTPDevice.objects.filter(user=staff).delete()
        # Raw delete: the ORM's cascade would visit tenant-only tables that the public schema lacks.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM accounts_user WHERE id = %s", [staff.pk])


@pytest.mark.django_db
def test_status_page_loads_the_live_events_script(tenants):
    # Also makes pytest-django set up the test database when this file runs alone (the live test
    # above is not marked django_db, and without a marked test the writes would reach the dev database).
    from tests.incidents.helpers import tenant_client

    page = tenant_client(tenants["acme"]).get("/status/").content.decode()
    assert '<script src="/static/js/events.js"' in page and 'id="banners"' in page
