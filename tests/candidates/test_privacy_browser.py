"""Browser: a student asks for deletion on a phone-sized My Page; an admin carries it out; nothing is left."""

from __future__ import annotations

import io

import pytest
from django_tenants.utils import schema_context

from tests.candidates.conftest import Baseline, csv_bytes
from tests.conftest import DEMO_PASSWORD

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ROW = "マイナビID,氏名,氏名（カナ）,生年月日,メールアドレス,携帯電話番号,学校名\n"


def _student(schema: str):
    from booking.services import booking_create
    from booking.services.mypage import mypage_token_create
    from candidates.models import Entry
    from candidates.services.importing import entries_import_file
    from notifications.services import outbox_enqueue
    from tests.booking.conftest import seminar_make

    with schema_context(schema):
        entries_import_file(
            fileobj=io.BytesIO(
                csv_bytes(
                    ROW
                    + "MB1,削除　希望子,サクジョ　キボウコ,2004/05/06,kibouko@example.ac.jp,090-5151-0001,京都大学\n"
                )
            ),
            board="mynavi",
        )
        student = Entry.objects.get(board_member_id="MB1").candidate
        seminar = seminar_make(title="削除確認用説明会", quotas={"*": 3}, capacity=3)
        booking_create(candidate=student, slot_id=seminar.slots.get().pk)
        outbox_enqueue(
            key=f"browser-privacy:{student.pk}",
            to=student.email,
            subject="希望子さんへのご案内",
            body="削除 希望子 様",
            kind="marketing",
            candidate_id=student.pk,
        )
        return student, seminar, mypage_token_create(candidate=student)


@pytest.mark.browser
def test_student_asks_for_deletion_and_an_admin_carries_it_out(live_server_daphne, tenants, committed):
    from playwright.sync_api import expect, sync_playwright

    from booking.models import Booking, Seminar
    from candidates.models import AuditEntry, Candidate, ImportJob, PrivacyRequest
    from notifications.models import OutboxMessage

    acme = tenants["acme"]
    server = live_server_daphne
    baseline = Baseline(acme.schema)
    with schema_context(acme.schema):
        last_mail = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        last_request = PrivacyRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    student, seminar, token = _student(acme.schema)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                phone = browser.new_context(
                    viewport={"width": 375, "height": 812}, locale="ja-JP", is_mobile=True
                )
                my = phone.new_page()
                my.goto(server.url(acme.host, f"/my/login/{token}/"))
                my.get_by_role("button", name="マイページにログインする").click()
                expect(my.locator("h1")).to_contain_text("削除 希望子 さんのマイページ")
                my.get_by_role("link", name="個人情報", exact=True).click()
                expect(my.locator("h1")).to_have_text("あなたの個人情報について")
                assert my.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                my.locator('input[name="kind"][value="deletion"]').check()
                my.fill("#id_details", "就職先が決まったため")
                my.get_by_role("button", name="請求する").click()
                expect(my.locator("#id_understood_error")).to_contain_text("チェック")  # beside the box, first
                my.locator('input[name="kind"][value="deletion"]').check()
                my.locator('input[name="understood"]').check()
                my.get_by_role("button", name="請求する").click()
                expect(my.locator(".messages")).to_contain_text("受け付けました（受付番号 P-")
                expect(my.locator("#privacy-requests")).to_contain_text("削除 ・ 対応待ち")
                number = my.locator("#privacy-requests strong").first.inner_text()

                office = browser.new_context(
                    viewport={"width": 1366, "height": 900}, locale="ja-JP", accept_downloads=True
                )
                page = office.new_page()
                page.goto(server.url(acme.host, "/login/?next=/candidates/privacy/"))
                page.fill("#id_username", acme.admin_email)
                page.fill("#id_password", DEMO_PASSWORD)
                page.get_by_role("button", name="ログイン").click()
                expect(page.locator("#privacy-open")).to_contain_text(number)
                expect(page.locator("#privacy-open")).to_contain_text("0 日")
                page.get_by_role("link", name=number).click()
                expect(page.locator("main")).to_contain_text("就職先が決まったため")
                with page.expect_download() as download:
                    page.locator("#export-json").click()
                disclosed = open(download.value.path(), encoding="utf-8").read()
                assert "kibouko@example.ac.jp" in disclosed and "削除確認用説明会" in disclosed
                page.fill("#id_confirm", number)
                page.get_by_role("button", name="削除を実行").click()
                expect(page.locator("#receipt")).to_contain_text("個人情報の削除の記録")
                expect(page.locator("#receipt")).to_contain_text(f"#{student.pk}")

                # Nothing of her is found: search, her page, her mail history, the CSV export.
                for query in ("サクジョ", "削除", "kibouko@example.ac.jp"):
                    page.goto(server.url(acme.host, f"/candidates/?q={query}"))
                    expect(page.locator("main")).not_to_contain_text("希望子")
                response = page.goto(server.url(acme.host, f"/candidates/{student.pk}/"))
                assert response is not None and response.status == 404
                response = page.goto(server.url(acme.host, f"/mail/candidates/{student.pk}/"))
                assert response is not None and response.status == 404
                page.goto(server.url(acme.host, "/candidates/"))
                with page.expect_download() as download:
                    page.get_by_role("link", name="CSV（Excel用 Shift_JIS）").click()
                assert "希望子" not in open(download.value.path(), "rb").read().decode("cp932")
                # Her phone is signed out: the link and the session went with her.
                my.goto(server.url(acme.host, "/my/"))
                expect(my.locator("main")).to_contain_text("ログインしていない")
            finally:
                browser.close()
        with schema_context(acme.schema):
            assert not Candidate.objects.filter(pk=student.pk).exists()
            assert not Booking.objects.filter(seminar=seminar).exists()
            mails = OutboxMessage.objects.filter(pk__gt=last_mail)
            assert (
                not mails.filter(body__contains="希望子")
                .exclude(idempotency_key__startswith="privacy-erased:")
                .exists()
            )
            request = PrivacyRequest.objects.get(pk__gt=last_request, candidate_ref=student.pk)
            assert (
                request.status == "done"
                and request.details == ""
                and request.receipt["counts"]["candidates"] == 1
            )
            assert AuditEntry.objects.filter(action="privacy_erase", candidate_ids=[student.pk]).exists()
            assert not ImportJob.objects.filter(report__icontains="kibouko").exists()
    finally:
        with schema_context(acme.schema):
            Booking.objects.filter(seminar=seminar).delete()
            Seminar.objects.filter(pk=seminar.pk).delete()
            PrivacyRequest.objects.filter(pk__gt=last_request).delete()
            OutboxMessage.objects.filter(pk__gt=last_mail).delete()
            Candidate.objects.filter(pk=student.pk).delete()
        baseline.clean()
