"""No one-tap destruction: cancelling (student), 取消 (recruiter), deleting a rank rule or a step ask first and
say what will happen; a student's own cancellation is confirmed by e-mail (a recruiter's 取消 is not)."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from booking.models import Booking, BookingStatus, Seminar
from booking.services import booking_create
from booking.services.bookings import booking_cancel
from booking.services.mypage import mypage_token_create
from candidates.models import Candidate, RankRule
from candidates.services.ranks import rank_rule_save
from tests.booking.conftest import candidate_make, mypage_session_key, seminar_make
from tests.booking.test_browser import CHROMIUM_ARGS
from tests.incidents.helpers import tenant_client


@pytest.mark.django_db
def test_a_students_cancellation_is_confirmed_by_mail_a_recruiters_is_not(
    acme_schema, mailoutbox, django_capture_on_commit_callbacks
):
    seminar = seminar_make(title="取消確認の説明会", quotas={"A": 5}, slots=1, capacity=5)
    slot = seminar.slots.get()
    student, other = candidate_make(rank="A"), candidate_make(rank="A")
    with django_capture_on_commit_callbacks(execute=True):
        own = booking_create(candidate=student, slot_id=slot.pk).booking
        theirs = booking_create(candidate=other, slot_id=slot.pk).booking
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(candidate=student, booking_id=own.pk)
        booking_cancel(candidate=None, booking_id=theirs.pk, by_recruiter=True)
    [mail] = list(mailoutbox)
    assert mail.to == [student.email] and "キャンセル完了" in mail.subject
    assert "取消確認の説明会" in mail.body and "キャンセルしました" in mail.body


@pytest.mark.django_db
def test_every_destructive_button_says_what_will_happen(tenants):
    acme = tenants["acme"]
    with schema_context(acme.schema):
        seminar = seminar_make(title="確認文の説明会", quotas={"A": 5}, slots=1, capacity=5)
        slot = seminar.slots.get()
        student = candidate_make(rank="A")
        booking_create(candidate=student, slot_id=slot.pk)
        rule = rank_rule_save(university="確認大学", rank="A")
    recruiter = tenant_client(acme)
    slot_page = recruiter.get(f"/booking/slots/{slot.pk}/").content.decode()
    assert f"{student.full_name} さんの予約を取り消します" in slot_page and "元に戻せません" in slot_page
    ranks = recruiter.get("/candidates/ranks/").content.decode()
    assert "「確認大学」のランク規則（A）を削除します" in ranks and "計算し直され" in ranks
    steps = recruiter.get("/candidates/steps/").content.decode()
    assert steps.count("data-confirm=") >= 1 and "を削除します" in steps
    client = Client(HTTP_HOST=acme.host)
    client.cookies["sessionid"] = mypage_session_key(schema=acme.schema, candidate=student)
    home = client.get("/my/").content.decode()
    assert "「確認文の説明会」" in home and "キャンセルの確認メールをお送りします" in home
    with schema_context(acme.schema):
        RankRule.objects.filter(pk=rule.pk).delete()


@pytest.mark.browser
def test_a_student_who_says_no_keeps_the_booking(live_server_daphne, tenants, committed):
    from playwright.sync_api import expect, sync_playwright

    acme, server = tenants["acme"], live_server_daphne
    with schema_context(acme.schema):
        seminar = seminar_make(title="確認ダイアログの説明会", quotas={"A": 5}, slots=1, capacity=5)
        student = candidate_make(rank="A")
        booking = booking_create(candidate=student, slot_id=seminar.slots.get().pk).booking
        token = mypage_token_create(candidate=student)
    asked: list[str] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(locale="ja-JP").new_page()
                page.goto(server.url(acme.host, f"/my/login/{token}/"))
                page.get_by_role("button", name="マイページにログインする").click()
                page.wait_for_url("**/my/")
                answer = {"accept": False}

                def on_dialog(dialog) -> None:
                    asked.append(dialog.message)
                    dialog.accept() if answer["accept"] else dialog.dismiss()

                page.on("dialog", on_dialog)
                cancel = page.locator(f"#booking-{booking.pk}").get_by_role("button", name="キャンセルする")
                cancel.click()
                page.wait_for_timeout(500)
                assert len(asked) == 1 and "確認文" not in asked[0] and "確認ダイアログの説明会" in asked[0]
                expect(page.locator(f"#booking-{booking.pk}")).to_be_visible()  # said no: still booked
                answer["accept"] = True
                cancel.click()
                expect(page.locator(".messages")).to_contain_text("キャンセルしました")
                expect(page.locator(f"#booking-{booking.pk}")).to_have_count(0)
            finally:
                browser.close()
        with schema_context(acme.schema):
            assert Booking.objects.get(pk=booking.pk).status == BookingStatus.CANCELLED
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            Candidate.objects.filter(pk=student.pk).delete()
