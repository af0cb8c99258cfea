"""Browser: a recruiter writes a template (refused, then fixed), previews it, and sends a segment mail."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from candidates.models import Candidate
from notifications.models import MailTemplate, OutboxMessage, SegmentMail
from tests.conftest import DEMO_PASSWORD
from tests.notifications.conftest import make_candidate

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.mark.browser
def test_recruiter_template_and_segment_pages(live_server_daphne, tenants, committed):
    from playwright.sync_api import expect, sync_playwright

    acme = tenants["acme"]
    server = live_server_daphne
    with schema_context(acme.schema):
        student = make_candidate(
            family_name="ブラウザ", given_name="確認", email="browser@example.jp", rank="S"
        )
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(locale="ja-JP").new_page()
                page.goto(server.url(acme.host, "/login/?next=/mail/templates/new/"))
                page.fill("#id_username", acme.admin_email)
                page.fill("#id_password", DEMO_PASSWORD)
                page.get_by_role("button", name="ログイン").click()
                expect(page.locator("h1")).to_have_text("新しいテンプレート")
                page.fill("#id_name", "ブラウザ確認テンプレート")
                page.fill("#id_subject", "{{ 姓 }}様へ")
                page.fill("#id_body", "{{ 住所 }} に来てください")
                page.get_by_role("button", name="保存").click()
                # A form-wide error: above the form, announced (templates/forms/form.html).
                expect(page.locator(".form-errors[role=alert]")).to_contain_text("使えない変数があります")
                page.fill("#id_body", "{{ 姓 }} {{ 名 }} 様\n{{ マイページURL }}")
                page.get_by_role("button", name="保存").click()
                expect(page.locator(".messages")).to_contain_text("テンプレートを保存しました")
                page.fill("input[name=candidate]", str(student.id))
                page.get_by_role("button", name="この学生で表示").click()
                expect(page.locator("article.card")).to_contain_text("ブラウザ 確認 様")

                page.goto(server.url(acme.host, "/mail/segments/"))
                page.fill("#id_name", "S ランク向け")
                page.fill("#id_ranks", "S")
                page.select_option("#id_template", label="ブラウザ確認テンプレート")
                page.get_by_role("button", name="プレビュー").click()
                expect(page.locator("main")).to_contain_text("対象：1 名")
                expect(page.locator("article.card")).to_contain_text("ブラウザ様へ")
                page.get_by_role("button", name="送信する").click()
                expect(page.locator(".messages")).to_contain_text(
                    "「S ランク向け」を今すぐ送信します（1 名）"
                )
            finally:
                browser.close()
        with schema_context(acme.schema):
            assert list(
                OutboxMessage.objects.filter(candidate=student).values_list("subject", flat=True)
            ) == [
                "{{ 姓 }}様へ"  # rendered at send time; the row keeps the template until then
            ]
    finally:
        with schema_context(acme.schema):
            OutboxMessage.objects.filter(candidate=student).delete()
            SegmentMail.objects.filter(name="S ランク向け").delete()
            MailTemplate.objects.filter(name="ブラウザ確認テンプレート").delete()
            Candidate.objects.filter(id=student.id).delete()
