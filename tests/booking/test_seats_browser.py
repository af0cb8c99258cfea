"""Browser: seats that read right. A full slot reads 満席 and offers the waiting list (never 予約する, also
after a reload and as counts change live); before the opening time the My Page counts down and unlocks at it
without a reload, and the rush page has no active button until then."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from booking.models import Booking, Seminar
from booking.services.mypage import mypage_token_create
from candidates.models import Candidate
from tests.booking.conftest import candidate_make, seminar_make
from tests.booking.test_browser import CHROMIUM_ARGS


def _in_thread(schema: str, func, **kwargs):
    def run():
        try:
            with schema_context(schema):
                return func(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


def _book(**kwargs):
    from booking.services import booking_create

    return booking_create(**kwargs)


def _cancel(**kwargs):
    from booking.services.bookings import booking_cancel

    return booking_cancel(**kwargs)


def _student_page(browser, server, acme, token: str):
    """Signed in as a student does: the link from the mail, then its button."""
    page = browser.new_context(locale="ja-JP", viewport={"width": 375, "height": 812}).new_page()
    page.goto(server.url(acme.host, f"/my/login/{token}/"))
    page.get_by_role("button", name="マイページにログインする").click()
    page.wait_for_url("**/my/")
    return page


@pytest.mark.browser
def test_a_full_slot_reads_full_and_offers_the_waiting_list_live_and_after_reload(
    live_server_daphne, tenants, committed
):
    from playwright.sync_api import expect, sync_playwright

    acme, server = tenants["acme"], live_server_daphne
    with schema_context(acme.schema):
        seminar = seminar_make(title="満席表示の確認", quotas={"A": 1}, slots=2, capacity=1)
        first, second = seminar.slots.order_by("starts_at")
        watcher, booker, other = (candidate_make(rank="A") for _ in range(3))
        taken = _book(candidate=booker, slot_id=first.pk).booking
        token = mypage_token_create(candidate=watcher)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = _student_page(browser, server, acme, token)
                page.goto(server.url(acme.host, f"/my/seminars/{seminar.pk}/"))
                full, free = page.locator(f"#slot-{first.pk}"), page.locator(f"#slot-{second.pk}")
                for _ in range(2):  # as loaded, and again after a reload
                    expect(full.get_by_text("満席")).to_be_visible()
                    expect(full.get_by_role("button", name="予約する")).to_be_hidden()
                    expect(full.get_by_role("button", name="キャンセル待ちに登録")).to_be_visible()
                    expect(free.get_by_role("button", name="予約する")).to_be_visible()
                    expect(free.get_by_text("満席")).to_be_hidden()
                    expect(free.get_by_role("button", name="キャンセル待ちに登録")).to_be_hidden()
                    page.reload()
                expect(page.locator("#slots")).to_have_attribute("data-live", "1", timeout=10_000)
                # Live: the free slot's last seat goes, the full one's seat comes back; no reload.
                _in_thread(acme.schema, _book, candidate=other, slot_id=second.pk)
                expect(free.get_by_text("満席")).to_be_visible(timeout=5_000)
                expect(free.get_by_role("button", name="予約する")).to_be_hidden()
                expect(free.get_by_role("button", name="キャンセル待ちに登録")).to_be_visible()
                _in_thread(acme.schema, _cancel, candidate=booker, booking_id=taken.pk)
                expect(full.get_by_role("button", name="予約する")).to_be_visible(timeout=5_000)
                expect(full.get_by_text("満席")).to_be_hidden()
                assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
            finally:
                browser.close()
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk__in=[watcher.pk, booker.pk, other.pk]).delete()


@pytest.mark.browser
def test_before_opening_the_pages_count_down_and_unlock_at_the_time_without_a_reload(
    live_server_daphne, tenants, committed
):
    from playwright.sync_api import expect, sync_playwright

    acme, server = tenants["acme"], live_server_daphne
    opens_at = timezone.now() + timedelta(seconds=8)
    with schema_context(acme.schema):
        seminar = seminar_make(title="受付開始の確認", quotas={"A": 5}, capacity=5, opens_at=opens_at)
        slot = seminar.slots.get()
        student = candidate_make(rank="A")
        token = mypage_token_create(candidate=student)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = _student_page(browser, server, acme, token)
                page.goto(server.url(acme.host, f"/my/seminars/{seminar.pk}/"))
                rush = page.context.new_page()
                rush.goto(server.url(acme.host, f"/my/rush/{seminar.pk}/"))
                # Before the time: nothing to press on either page, and the time counts down.
                expect(page.locator("#countdown")).to_contain_text("開始まで")
                expect(page.get_by_role("button", name="予約する")).to_be_hidden()
                rush_button = rush.locator(f'button.book[data-slot="{slot.pk}"]')
                expect(rush_button).to_be_disabled()
                expect(rush.locator("#countdown")).to_contain_text("あと")
                assert timezone.now() < opens_at, "the machine was too slow to see the page before opening"
                # At the time: both unlock by themselves.
                expect(page.get_by_role("button", name="予約する")).to_be_visible(timeout=15_000)
                expect(page.locator("#opening")).to_contain_text("予約受付を開始しました")
                expect(rush_button).to_be_enabled(timeout=5_000)
                assert timezone.now() >= opens_at - timedelta(seconds=1)
                assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
                page.get_by_role("button", name="予約する").click()
                expect(page.locator(".messages")).to_contain_text("予約が完了しました")
            finally:
                browser.close()
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk=student.pk).delete()
