"""The student journey closes: the recruiter mails the My Page link from the candidate page; confirmations
carry the student's own sign-in link and the online meeting's address; recruiters see each slot's waiting list;
a waiting-list offer appears on the open My Page live."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from booking.models import Booking, Seminar, WaitlistEntry
from booking.services import booking_create
from booking.services.bookings import booking_cancel
from booking.services.mypage import mypage_token_create
from booking.services.waitlist import waitlist_join
from candidates.models import Candidate
from notifications.models import OutboxMessage
from tests.booking.conftest import candidate_make, seminar_make
from tests.booking.test_browser import CHROMIUM_ARGS
from tests.incidents.helpers import tenant_client

MEETING = "https://meet.example.jp/seminar-42"


@pytest.mark.django_db
def test_the_recruiter_mails_the_my_page_link_from_the_candidate_page(tenants, mailoutbox):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        student = candidate_make(rank="A", email="link.student@example.jp")
    recruiter = tenant_client(acme)
    page = recruiter.get(f"/candidates/{student.pk}/").content.decode()
    action = f"/booking/students/{student.pk}/mypage/send/"
    assert f'action="{action}"' in page and "マイページのリンクを送る" in page
    response = recruiter.post(action, {"next": f"/candidates/{student.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/candidates/{student.pk}/"
    [mail] = list(mailoutbox)
    assert mail.to == ["link.student@example.jp"] and mail.subject == "マイページへのリンク"
    assert "{{ マイページURL }}" in mail.body


@pytest.mark.django_db
def test_confirmations_carry_the_sign_in_link_and_the_meeting_address(
    acme_schema, mailoutbox, django_capture_on_commit_callbacks
):
    seminar = seminar_make(
        title="オンライン説明会", quotas={"A": 3}, capacity=3, place="", online_url=MEETING
    )
    student = candidate_make(rank="A")
    with django_capture_on_commit_callbacks(execute=True):
        booking_create(candidate=student, slot_id=seminar.slots.get().pk)
    row = OutboxMessage.objects.filter(candidate_id=student.pk, subject__contains="予約完了").get()
    assert f"オンライン: {MEETING}" in row.body
    # The link is the student's own sign-in link, minted when the mail leaves (never stored).
    assert "{{ マイページURL }}" in row.body and row.needs_render


@pytest.mark.django_db
def test_recruiters_see_each_slots_waiting_list_in_order(tenants):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(title="満席の説明会", quotas={"A": 1}, capacity=1)
        slot = seminar.slots.get()
        booking_create(candidate=candidate_make(rank="A"), slot_id=slot.pk)
        first, second = candidate_make(rank="A"), candidate_make(rank="A")
        waitlist_join(candidate=first, slot_id=slot.pk)
        waitlist_join(candidate=second, slot_id=slot.pk)
    page = tenant_client(acme).get(f"/booking/slots/{slot.pk}/").content.decode()
    section = page[page.index('id="waitlist"') :]
    assert "キャンセル待ち（2 名）" in section
    assert section.index(first.full_name) < section.index(second.full_name)


@pytest.mark.browser
def test_a_waiting_list_offer_appears_on_the_open_my_page(live_server_daphne, tenants, committed):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from playwright.sync_api import expect, sync_playwright

    acme, server = tenants["acme"], live_server_daphne
    with schema_context(acme.schema):
        seminar = seminar_make(title="空席案内の説明会", quotas={"A": 1}, capacity=1)
        slot = seminar.slots.get()
        holder, waiting = candidate_make(rank="A"), candidate_make(rank="A")
        held = booking_create(candidate=holder, slot_id=slot.pk).booking
        waitlist_join(candidate=waiting, slot_id=slot.pk)
        token = mypage_token_create(candidate=waiting)

    def cancel() -> None:
        try:
            with schema_context(acme.schema):
                booking_cancel(candidate=holder, booking_id=held.pk)
        finally:
            connection.close()

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(locale="ja-JP", viewport={"width": 375, "height": 812}).new_page()
                page.goto(server.url(acme.host, f"/my/login/{token}/"))
                page.get_by_role("button", name="マイページにログインする").click()
                page.wait_for_url("**/my/")
                expect(page.locator("#banners")).to_have_attribute("data-live", "1", timeout=10_000)
                assert page.locator(".offer").count() == 0
                with ThreadPoolExecutor(1) as pool:
                    pool.submit(cancel).result()
                offer = page.locator("section.offer")
                expect(offer).to_contain_text("空席案内の説明会", timeout=3_000)
                assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
                offer.get_by_role("button", name="予約を確定する").click()
                expect(page.locator(".messages")).to_contain_text("予約")
            finally:
                browser.close()
        with schema_context(acme.schema):
            assert Booking.objects.filter(candidate=waiting, slot=slot, status="active").exists()
    finally:
        with schema_context(acme.schema):
            WaitlistEntry.objects.filter(slot=slot).delete()
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk__in=[holder.pk, waiting.pk]).delete()


@pytest.mark.django_db
def test_a_viewer_gets_no_link_button(tenants):
    from accounts.models import User

    acme = tenants["acme"]
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        viewer = User.objects.create_user(
            username="viewer.journey@acme.example.jp", email="viewer.journey@acme.example.jp", role="viewer"
        )
    client = Client(HTTP_HOST=acme.host)
    with schema_context(acme.schema):
        client.force_login(viewer)
    page = client.get(f"/candidates/{student.pk}/").content.decode()
    assert "マイページのリンクを送る" not in page
