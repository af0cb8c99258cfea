"""Browser: two students on the same seminar page; one books, the other's count drops without reload."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django_tenants.utils import schema_context

from booking.models import POOL, Booking, Seminar
from booking.services.mypage import mypage_token_create
from candidates.models import Candidate
from tests.booking.conftest import candidate_make, seminar_make

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.browser
def test_second_student_sees_the_new_count_within_a_second(live_server_daphne, tenants, committed):
    from playwright.sync_api import expect, sync_playwright

    acme = tenants["acme"]
    server = live_server_daphne
    with schema_context(acme.schema):
        seminar = seminar_make(title="ブラウザ確認用説明会", quotas={"A": 5, POOL: 2}, capacity=7)
        slot = seminar.slots.get()
        first, second = candidate_make(rank="A"), candidate_make(rank="A")
        tokens = [mypage_token_create(candidate=first), mypage_token_create(candidate=second)]
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                pages = []
                for token in tokens:
                    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ja-JP")
                    page = context.new_page()
                    page.goto(server.url(acme.host, f"/my/login/{token}/"))
                    page.get_by_role("button", name="マイページにログインする").click()
                    page.wait_for_url("**/my/")
                    page.goto(server.url(acme.host, f"/my/seminars/{seminar.pk}/"))
                    expect(page.locator("#slots")).to_have_attribute("data-live", "1", timeout=10_000)
                    pages.append(page)
                booker, watcher = pages
                seats = watcher.locator(f'.seats[data-slot="{slot.pk}"]')
                expect(seats).to_have_text("7")
                booker.get_by_role("button", name="予約する").click()
                clicked = time.monotonic()
                expect(booker.locator(".messages")).to_contain_text("予約が完了しました")
                expect(seats).to_have_text("6", timeout=1_000)
                assert time.monotonic() - clicked < 1.5
                # The check-in QR code renders as an image on the booker's My Page.
                qr = booker.locator("img.qr").first
                qr.wait_for()
                booker.wait_for_function(
                    "img => img.complete && img.naturalWidth > 0", arg=qr.element_handle()
                )
                # The watcher never reloaded: the same document is still there.
                assert watcher.evaluate("performance.getEntriesByType('navigation').length") == 1
            finally:
                browser.close()
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk__in=[first.pk, second.pk]).delete()


def _book_in_thread(schema: str, candidate, slot_id: int) -> None:
    from django.db import connection

    from booking.services import booking_create

    try:
        with schema_context(schema):
            booking_create(candidate=candidate, slot_id=slot_id)
    finally:
        connection.close()


@pytest.mark.browser
def test_page_falls_back_to_polling_when_the_socket_is_blocked(live_server_daphne, tenants, committed):
    from playwright.sync_api import expect, sync_playwright

    acme = tenants["acme"]
    server = live_server_daphne
    with schema_context(acme.schema):
        seminar = seminar_make(title="ポーリング確認用説明会", quotas={"B": 3}, capacity=3)
        slot = seminar.slots.get()
        watcher_student, booker = candidate_make(rank="B"), candidate_make(rank="B")
        token = mypage_token_create(candidate=watcher_student)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(locale="ja-JP")
                # A network that drops websockets: every connection attempt fails at once.
                context.add_init_script(
                    "window.WebSocket = function () { throw new Error('websocket blocked'); };"
                )
                page = context.new_page()
                page.goto(server.url(acme.host, f"/my/login/{token}/"))
                page.get_by_role("button", name="マイページにログインする").click()
                page.wait_for_url("**/my/")
                page.goto(server.url(acme.host, f"/my/seminars/{seminar.pk}/"))
                seats = page.locator(f'.seats[data-slot="{slot.pk}"]')
                expect(seats).to_have_text("3")
                expect(page.locator("#live-status")).to_contain_text("再接続")
                # Another student books meanwhile (Django's ORM runs outside Playwright's event loop).
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(_book_in_thread, acme.schema, booker, slot.pk).result()
                # The JSON endpoint is polled every 5 seconds meanwhile.
                expect(seats).to_have_text("2", timeout=7_000)
                assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
            finally:
                browser.close()
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk__in=[watcher_student.pk, booker.pk]).delete()
