"""Browser: an admin uploads the sample マイナビ export, checks the preview, imports it in the
background (a real Celery worker) and reads the report; then finds a student and exports."""

from __future__ import annotations

import os

import pytest
from django_tenants.utils import schema_context

from candidates.models import AuditEntry, Candidate
from saas.processes import celery_worker_start
from tests.candidates.conftest import SAMPLES
from tests.conftest import DEMO_PASSWORD, server_env, start_daphne, stop_process

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


@pytest.mark.browser
def test_upload_preview_import_and_report_in_the_browser(tenants, globex_baseline, tmp_path, truth):
    from playwright.sync_api import expect, sync_playwright

    globex = tenants["globex"]
    queue = f"candidates-browser-{os.getpid()}"
    extra = {"CANDIDATES_TASK_QUEUE": queue, "MEDIA_ROOT": str(tmp_path)}
    server = start_daphne(extra_env=extra)
    worker = celery_worker_start(env=server_env(extra), queues=[queue])
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(locale="ja-JP", accept_downloads=True).new_page()
                page.goto(server.url(globex.host, "/login/?next=/candidates/imports/"))
                page.fill("#id_username", globex.admin_email)
                page.fill("#id_password", DEMO_PASSWORD)
                page.get_by_role("button", name="ログイン").click()
                expect(page.locator("h1")).to_have_text("求人媒体のCSVを取り込む")

                # Not a CSV: a clear message, nothing imported.
                page.set_input_files(
                    "#id_file",
                    files=[{"name": "a.xlsx", "mimeType": "application/zip", "buffer": b"PK\x03\x04xx"}],
                )
                page.get_by_role("button", name="アップロードして確認").click()
                expect(page.locator(".errorlist")).to_contain_text("CSVファイル")

                page.set_input_files("#id_file", str(SAMPLES / "mynavi.csv"))
                page.get_by_role("button", name="アップロードして確認").click()
                expect(page.locator("main")).to_contain_text("マイナビ")
                expect(page.locator("main")).to_contain_text("cp932")
                expect(page.locator("main")).to_contain_text("MN00000057")
                page.get_by_role("button", name="この内容で取り込む").click()

                expect(page.locator("#import-report")).to_be_visible(timeout=30_000)
                expect(page.locator("#import-status")).to_have_text("完了")
                expect(page.locator("#r-refused")).to_have_text("2")
                expect(page.locator("#refused-table")).to_contain_text("氏名も連絡先")

                # The sample students graduate in 2026: they are in 26卒, picked in the header's season switch.
                page.goto(server.url(globex.host, "/candidates/?q=タカハシ"))
                expect(page.locator("table")).not_to_contain_text("高橋 悠斗")
                page.locator("#season-switch").select_option(label="26卒")
                expect(page.locator("h1")).to_contain_text("26卒")
                expect(page.locator("table")).to_contain_text("高橋")
                page.get_by_role("link", name="高橋 悠斗").first.click()
                expect(page.locator("main")).to_contain_text("MN00000057")
                page.goto(server.url(globex.host, "/candidates/"))
                with page.expect_download() as download:
                    page.get_by_role("link", name="CSV（Excel用 Shift_JIS）").click()
                data = open(download.value.path(), "rb").read().decode("cp932")
                assert "高橋" in data
            finally:
                browser.close()
        with schema_context(globex.schema):
            assert globex_baseline.new(Candidate).count() == truth["mynavi_rows"] - 2  # the two refused rows
            assert set(globex_baseline.new(AuditEntry).values_list("action", flat=True)) >= {
                "import",
                "list",
                "detail",
                "export",
            }
    finally:
        stop_process(worker)
        stop_process(server.process)
