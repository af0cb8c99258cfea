"""One season end to end in the browser, through the pages only: a recruiter (Japanese UI, 1366 px) defines
the rounds, a form and the ES; a student (390×844) books a seminar, submits the ES and books an interview on
the My Page; the recruiter marks attendance and passes the ES; the interviewer evaluates on a phone on
今日の面接; the recruiter issues a 内定; the student accepts; the dashboard's funnel counts every step.

Seeded without the pages: the company (acme), its users (a recruiter, an interviewer, two students of 31卒
with their My Page links), a seminar slot and the interviewer's free time today. The interview is booked for
today, so the walk needs a few minutes left of the Japanese day: in the last ten minutes before midnight,
Japan time, it waits for the new day first. `make screenshots` runs it with SAAS_SCREENSHOTS=1 to write docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.booking.test_browser import CHROMIUM_ARGS
from tests.conftest import DEMO_PASSWORD
from tests.selection.conftest import PHONE, screenshot

YEAR = 2031  # a season no other test uses: the dashboard counts this walk's students only
DESKTOP = {"viewport": {"width": 1366, "height": 768}, "locale": "ja-JP"}


# The walk takes a few minutes; the interview it books must still be today's when the interviewer looks.
DAY_LEFT_NEEDED = dt.timedelta(minutes=10)


def _day_with_room_left() -> None:
    """Wait past midnight, Japan time, if less than DAY_LEFT_NEEDED of the day is left."""
    now = timezone.localtime()
    next_day = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=5, microsecond=0)
    if next_day - now < DAY_LEFT_NEEDED:
        time.sleep((next_day - now).total_seconds())


@pytest.fixture
def season_seed(tenants, committed):
    """Committed in acme (the browser talks to another process); removed afterwards."""
    _day_with_room_left()
    from booking.services.interviews import availability_add, interview_type_create
    from booking.services.mypage import mypage_token_create
    from tests.booking.conftest import seminar_make
    from tests.factories import CandidateFactory, UserFactory

    acme = tenants["acme"]
    tag = os.getpid()
    with schema_context(acme.schema):
        student = CandidateFactory(
            family_name="季節",
            given_name="花子",
            email=f"walk-{tag}@example.jp",
            graduation_year=YEAR,
            status="entry",
            university="東北大学",
        )
        bystander = CandidateFactory(
            family_name="見送",
            given_name="一郎",
            email=f"walk-other-{tag}@example.jp",
            graduation_year=YEAR,
            status="entry",
        )
        season = student.season
        interviewer = UserFactory(
            email=f"walk-interviewer-{tag}@acme.example.jp", role="interviewer", password=DEMO_PASSWORD
        )
        interview = interview_type_create(
            name="一次面接",
            step="interview",
            interviewers=[interviewer],
            season=season,
            duration_minutes=5,
            buffer_minutes=0,
            change_deadline_hours=0,
        )
        # Free time from a few minutes from now to the end of the Japanese day: the interview is today's.
        now = timezone.localtime()
        start = (now + dt.timedelta(minutes=3)).replace(second=0, microsecond=0)
        availability_add(
            interviewer=interviewer,
            starts_at=start,
            ends_at=max(start + dt.timedelta(minutes=5), now.replace(hour=23, minute=59, second=0)),
        )
        seminar = seminar_make(title="31卒 会社説明会", season=season)
        seeded = {
            "acme": acme,
            "season": season,
            "student": student,
            "bystander": bystander,
            "token": mypage_token_create(candidate=student),
            "interviewer": interviewer,
            "interview": interview,
            "seminar": seminar,
            "slot": seminar.slots.get(),
        }
    yield seeded
    with schema_context(acme.schema):
        _remove(seeded)


def _remove(seeded) -> None:
    from booking.models import Booking, InterviewBooking, InterviewerAvailability, InterviewSession
    from candidates.models import Candidate
    from notifications.models import OutboxMessage
    from seasons.models import Season
    from selection.models import EntrySheet, Evaluation, Offer, Round, Submission

    season, students = seeded["season"], [seeded["student"].pk, seeded["bystander"].pk]
    Offer.objects.filter(season=season).delete()
    Evaluation.objects.filter(candidate_id__in=students).delete()
    Submission.objects.filter(candidate_id__in=students).delete()
    EntrySheet.objects.filter(season=season).delete()
    Round.objects.filter(season=season).delete()
    InterviewBooking.objects.filter(candidate_id__in=students).delete()
    InterviewSession.objects.filter(interviewer=seeded["interviewer"]).delete()
    InterviewerAvailability.objects.filter(interviewer=seeded["interviewer"]).delete()
    seeded["interview"].delete()
    Booking.objects.filter(candidate_id__in=students).delete()
    seeded["seminar"].delete()
    OutboxMessage.objects.filter(candidate_id__in=students).delete()
    Candidate.objects.filter(pk__in=students).delete()
    seeded["interviewer"].delete()
    if not Season.objects.get(pk=season.pk).is_default:
        Season.objects.filter(pk=season.pk).delete()


def _sign_in(page, url: str, email: str) -> None:
    page.goto(url)
    page.fill("#id_username", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.get_by_role("button", name="ログイン").click()


def _funnel(page) -> dict[str, int]:
    rows = page.locator("#funnel table.dashboard-table tbody tr")
    return {
        rows.nth(index).locator("td").nth(0).inner_text(): int(
            rows.nth(index).locator("td").nth(1).inner_text().replace(",", "")
        )
        for index in range(rows.count())
    }


@pytest.mark.browser
def test_a_season_end_to_end_in_the_browser(live_server_daphne, season_seed, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from selection.models import Evaluation, Offer

    seeded, server = season_seed, live_server_daphne
    acme, student = seeded["acme"], seeded["student"]
    url = lambda path: server.url(acme.host, path)  # noqa: E731 - a short local helper
    deadline = (timezone.localtime() + dt.timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            # The recruiter: the season, its rounds and their forms, the ES.
            recruiter = browser.new_context(**DESKTOP).new_page()
            recruiter.on("dialog", lambda dialog: dialog.accept())
            _sign_in(recruiter, url("/login/?next=/selection/rounds/"), acme.admin_email)
            expect(recruiter.locator("h1")).to_contain_text("選考フロー")
            with recruiter.expect_navigation():
                recruiter.select_option("#season-switch", label=f"{YEAR % 100}卒")
            expect(recruiter.locator("h1")).to_have_text(f"選考フロー（{YEAR % 100}卒）")
            recruiter.fill("#id_name", "書類選考")
            recruiter.select_option("#id_step_key", "entry")
            recruiter.get_by_role("button", name="追加").click()
            expect(recruiter.locator("h1")).to_contain_text("書類選考 の評価フォーム")
            recruiter.goto(url("/selection/rounds/"))
            recruiter.fill("#id_name", "一次面接")
            recruiter.select_option("#id_step_key", "interview")
            recruiter.select_option("#id_interview_type", str(seeded["interview"].pk))
            recruiter.get_by_role("button", name="追加").click()
            expect(recruiter.locator("h1")).to_contain_text("一次面接 の評価フォーム")
            recruiter.fill("#id_label", "論理性")
            recruiter.select_option("#id_kind", "scale")
            recruiter.get_by_role("button", name="追加").click()
            expect(recruiter.locator("table")).to_contain_text("論理性")
            recruiter.fill("#id_label", "志望度")
            recruiter.select_option("#id_kind", "choice")
            recruiter.fill("#id_choices_text", "高, 中, 低")
            recruiter.get_by_role("button", name="追加").click()
            expect(recruiter.locator("table")).to_contain_text("高 / 中 / 低")
            recruiter.goto(url("/selection/entry-sheet/"))
            settings_form = recruiter.locator("form", has=recruiter.locator("input[value=sheet]"))
            settings_form.locator("#id_title").fill("31卒 エントリーシート")
            settings_form.locator("#id_deadline").fill(deadline)
            settings_form.locator("#id_is_open").check()
            settings_form.locator("#id_round").select_option(label="書類選考")
            settings_form.get_by_role("button", name="保存").click()
            expect(recruiter.locator("h1")).to_contain_text("31卒 エントリーシート")
            question_form = recruiter.locator("form", has=recruiter.locator("input[value=question]"))
            question_form.locator("#id_label").fill("志望動機を教えてください")
            question_form.get_by_role("button", name="追加").click()
            expect(recruiter.locator("table")).to_contain_text("志望動機を教えてください")

            # The student, on a phone: a seminar, then the ES.
            phone = browser.new_context(**PHONE).new_page()
            phone.on("dialog", lambda dialog: dialog.accept())
            phone.goto(url(f"/my/login/{seeded['token']}/"))
            phone.get_by_role("button", name="マイページにログインする").click()
            phone.wait_for_url("**/my/")
            phone.goto(url(f"/my/seminars/{seeded['seminar'].pk}/"))
            phone.get_by_role("button", name="予約する").click()
            expect(phone.locator("main")).to_contain_text("31卒 会社説明会")
            phone.goto(url("/my/"))
            phone.get_by_role("link", name="エントリーシートを記入・提出する").click()
            phone.locator("textarea").fill("人の暮らしを支える仕事がしたいからです。")
            phone.get_by_role("button", name="提出する（提出後は変更できません）").click()
            expect(phone.locator("main")).to_contain_text("提出済み")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390

            # The recruiter: attendance at the seminar, the ES passed.
            recruiter.goto(url(f"/booking/slots/{seeded['slot'].pk}/"))
            recruiter.get_by_role("button", name="出席", exact=True).click()
            expect(recruiter.locator("main")).to_contain_text("出席")
            recruiter.goto(url("/selection/entry-sheet/"))
            recruiter.get_by_role("link", name="評価する").click()
            expect(recruiter.locator("#entry-sheet")).to_contain_text(
                "人の暮らしを支える仕事がしたいからです。"
            )
            recruiter.check('input[name="decision"][value="pass"]')
            recruiter.get_by_role("button", name="評価を保存").click()
            expect(recruiter.locator(".messages")).to_contain_text("評価を保存しました")

            # The student books the interview the pass opened.
            phone.goto(url("/my/"))
            phone.get_by_role("link", name="一次面接の日時を選ぶ").click()
            phone.locator('input[name="starts_at"]').first.check()
            phone.get_by_role("button", name="予約する").click()
            expect(phone.locator("main")).to_contain_text("一次面接")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390

            # The interviewer, on a phone: 今日の面接, the form.
            interviewer = browser.new_context(**PHONE).new_page()
            _sign_in(interviewer, url("/login/?next=/selection/today/"), seeded["interviewer"].email)
            expect(interviewer.locator("h1")).to_have_text("今日の面接")
            expect(interviewer.locator("main")).to_contain_text("季節 花子")
            interviewer.get_by_role("link", name="評価する").click()
            interviewer.locator("fieldset", has_text="論理性").locator('input[value="4"]').check()
            interviewer.locator("fieldset", has_text="志望度").locator('input[value="高"]').check()
            interviewer.check('input[name="decision"][value="pass"]')
            interviewer.fill("#id_comment", "具体例を挙げて話せる。")
            interviewer.get_by_role("button", name="評価を保存").click()
            expect(interviewer.locator("main")).to_contain_text("評価を保存しました")
            expect(interviewer.get_by_role("link", name="評価を見直す")).to_be_visible()
            assert interviewer.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(interviewer, "interviews-today.png", tmp_path)

            # The recruiter issues the 内定; the student accepts it on the My Page.
            recruiter.goto(url(f"/candidates/{student.pk}/"))
            recruiter.fill("#offers input[name=deadline]", deadline)
            recruiter.fill("#offers input[name=start_date]", f"{YEAR}-04-01")
            recruiter.get_by_role("button", name="内定を出す（内定通知メールを送る）").click()
            expect(recruiter.locator(".messages")).to_contain_text("内定を出しました")
            phone.goto(url("/my/"))
            phone.get_by_role("link", name="内定通知書とご回答").click()
            expect(phone.locator("main")).to_contain_text("季節 花子 様")
            phone.get_by_role("button", name="内定を承諾する").click()
            expect(phone.locator("#answer")).to_contain_text("内定を承諾いただきました")

            # The dashboard counts every step of the season (the other student only entered).
            recruiter.goto(url("/dashboard/"))
            expect(recruiter.locator("h1")).to_have_text(f"ダッシュボード（{YEAR % 100}卒）")
            assert _funnel(recruiter) == {
                "エントリー": 2,
                "説明会予約": 1,
                "説明会出席": 1,
                "ES提出": 1,
                "書類選考 通過": 1,
                "一次面接 通過": 1,
                "内定": 1,
                "承諾": 1,
            }
            screenshot(recruiter, "dashboard.png", tmp_path)
        finally:
            browser.close()
    with schema_context(acme.schema):
        decisions = Evaluation.objects.filter(candidate=student).order_by("round__position")
        assert [(row.round.name, row.decision) for row in decisions] == [
            ("書類選考", "pass"),
            ("一次面接", "pass"),
        ]
        assert decisions[1].evaluator_id == seeded["interviewer"].pk
        assert Offer.objects.get(candidate=student).status == "accepted"
