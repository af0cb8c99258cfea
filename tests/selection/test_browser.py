"""Browser, phone-sized: an interviewer evaluates from 今日の面接; a student's ES draft saves itself as they
type; the student accepts the offer on the My Page."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.booking.test_browser import CHROMIUM_ARGS
from tests.conftest import DEMO_PASSWORD
from tests.selection.conftest import PHONE, screenshot


@pytest.fixture
def season_flow(tenants, committed):
    """Committed in acme (the browser talks to another process): a flow, an interview today, an ES, an offer."""
    from booking.models import InterviewBooking, InterviewSession, InterviewType
    from booking.services.interviews import interview_type_create
    from booking.services.mypage import mypage_token_create
    from candidates.models import Candidate, SelectionStep
    from notifications.models import OutboxMessage
    from seasons.models import Season
    from selection.models import EntrySheet, Round
    from selection.services import criterion_add, round_create
    from selection.services.entrysheets import question_add, sheet_update
    from selection.services.offers import offer_issue
    from tests.factories import CandidateFactory, UserFactory
    from tests.selection.conftest import interview_booked

    acme = tenants["acme"]
    tag = os.getpid()
    with schema_context(acme.schema):
        season = Season.objects.get(graduation_year=2027)
        had_sheet = EntrySheet.objects.filter(season=season).exists()
        interviewer = UserFactory(
            email=f"browser-interviewer-{tag}@acme.example.jp", role="interviewer", password=DEMO_PASSWORD
        )
        kind = interview_type_create(
            name="一次面接", step="interview", interviewers=[interviewer], season=season
        )
        first = round_create(season=season, name="一次面接", step_key="interview", interview_type=kind)
        second = round_create(season=season, name="二次面接")
        logic = criterion_add(round=first, label="論理性", kind="scale")
        motivation = criterion_add(round=first, label="志望度", kind="choice", choices_text="高, 中, 低")
        taro = CandidateFactory(
            family_name="面接", given_name="太郎", status="interview", university="京都大学"
        )
        now = timezone.localtime()
        interview_booked(
            candidate=taro,
            interview_type=kind,
            interviewer=interviewer,
            starts_at=min(now + dt.timedelta(hours=1), now.replace(hour=23, minute=0)),
        )
        sheet = EntrySheet.objects.get_or_create(season=season)[0]
        sheet_update(
            sheet=sheet,
            title="エントリーシート",
            intro="",
            deadline=now + dt.timedelta(days=7),
            is_open=True,
            round=first,
        )
        question = question_add(
            sheet=sheet, label=f"志望動機 {tag}", kind="text", max_length=400, required=False
        )
        hanako = CandidateFactory(family_name="内定", given_name="花子", email=f"hanako-{tag}@example.jp")
        offer = offer_issue(
            candidate=hanako,
            user=interviewer,
            deadline=timezone.now() + dt.timedelta(days=10),
            start_date=dt.date(timezone.localdate().year + 1, 4, 1),
        )
        hanako_token = mypage_token_create(candidate=hanako)
    yield {
        "acme": acme,
        "interviewer": interviewer,
        "rounds": (first, second),
        "criteria": (logic, motivation),
        "taro": taro,
        "hanako": hanako,
        "question": question,
        "offer": offer,
        "hanako_token": hanako_token,
    }
    with schema_context(acme.schema):
        students = [taro.pk, hanako.pk]
        OutboxMessage.objects.filter(candidate_id__in=students).delete()
        InterviewBooking.objects.filter(candidate_id__in=students).delete()
        InterviewSession.objects.filter(interviewer=interviewer).delete()
        Candidate.objects.filter(pk__in=students).delete()
        Round.objects.filter(pk__in=[first.pk, second.pk]).delete()
        SelectionStep.objects.filter(key=second.step_key).delete()
        InterviewType.objects.filter(pk=kind.pk).delete()
        if had_sheet:
            question.delete()
        else:
            EntrySheet.objects.filter(season=season).delete()
        interviewer.delete()


@pytest.mark.browser
def test_an_interviewer_evaluates_on_a_phone_and_a_student_answers_the_es_and_the_offer(
    live_server_daphne, season_flow, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    from selection.models import Answer, Evaluation, Offer

    flow, server = season_flow, live_server_daphne
    acme = flow["acme"]
    logic, motivation = flow["criteria"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(**PHONE).new_page()
            page.goto(server.url(acme.host, "/login/?next=/selection/today/"))
            page.fill("#id_username", flow["interviewer"].email)
            page.fill("#id_password", DEMO_PASSWORD)
            page.get_by_role("button", name="ログイン").click()
            expect(page.locator("h1")).to_have_text("今日の面接")
            expect(page.locator("main")).to_contain_text("面接 太郎")
            page.get_by_role("link", name="評価する").click()
            expect(page.locator("h1")).to_contain_text("面接 太郎")
            page.check(f'input[name="score_{logic.pk}"][value="5"]')
            page.check(f'input[name="score_{motivation.pk}"][value="高"]')
            page.check('input[name="decision"][value="pass"]')
            page.fill("#id_comment", "結論から話せる。二次面接へ。")
            # Everything fits the phone's width: no sideways scrolling.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(page, "interviewer-evaluation.png", tmp_path)
            page.get_by_role("button", name="評価を保存").click()
            expect(page.locator("main")).to_contain_text("評価を保存しました")
            expect(page.get_by_role("link", name="評価を見直す")).to_be_visible()
            screenshot(page, "interviewer-today.png", tmp_path)

            student = browser.new_context(**PHONE).new_page()
            student.goto(server.url(acme.host, f"/my/login/{flow['hanako_token']}/"))
            student.get_by_role("button", name="マイページにログインする").click()
            student.wait_for_url("**/my/")
            student.get_by_role("link", name="エントリーシートを記入・提出する").click()
            student.fill(f"#q-{flow['question'].pk}", "人の役に立つものづくりがしたいからです。")
            expect(student.locator("#draft-status")).to_contain_text("下書きを保存しました", timeout=10_000)
            student.goto(server.url(acme.host, "/my/"))
            student.get_by_role("link", name="内定通知書とご回答").click()
            expect(student.locator("main")).to_contain_text("内定 花子 様")
            student.get_by_role("button", name="内定を承諾する").click()
            expect(student.locator("#answer")).to_contain_text("内定を承諾いただきました")
        finally:
            browser.close()
    with schema_context(acme.schema):
        evaluation = Evaluation.objects.get(candidate=flow["taro"])
        assert (evaluation.evaluator_id, evaluation.decision) == (flow["interviewer"].pk, "pass")
        assert evaluation.scores == {str(logic.pk): 5, str(motivation.pk): "高"}
        flow["taro"].refresh_from_db()
        assert flow["taro"].status == flow["rounds"][1].step_key
        draft = Answer.objects.get(submission__candidate=flow["hanako"], question=flow["question"])
        assert draft.text == "人の役に立つものづくりがしたいからです。"
        assert Offer.objects.get(pk=flow["offer"].pk).status == "accepted"


@pytest.mark.browser
def test_a_recruiter_defines_a_round_and_its_form_and_issues_an_offer_in_the_browser(
    live_server_daphne, season_flow, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    from candidates.models import SelectionStep
    from selection.models import Offer, Round

    flow, server = season_flow, live_server_daphne
    acme = flow["acme"]
    taro = flow["taro"]
    deadline = (timezone.localtime() + dt.timedelta(days=14)).strftime("%Y-%m-%dT%H:%M")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(locale="ja-JP").new_page()
                page.goto(server.url(acme.host, "/login/?next=/selection/rounds/"))
                page.fill("#id_username", acme.admin_email)
                page.fill("#id_password", DEMO_PASSWORD)
                page.get_by_role("button", name="ログイン").click()
                expect(page.locator("h1")).to_contain_text("選考フロー")
                page.fill("#id_name", "最終面接")
                page.get_by_role("button", name="追加").click()
                expect(page.locator("h1")).to_contain_text("最終面接 の評価フォーム")
                page.fill("#id_label", "総合評価")
                page.select_option("#id_kind", "scale")
                page.get_by_role("button", name="追加").click()
                expect(page.locator("table")).to_contain_text("総合評価")
                page.goto(server.url(acme.host, f"/candidates/{taro.pk}/"))
                expect(page.locator("#evaluations")).to_contain_text("最終面接")
                page.fill("#offers input[name=deadline]", deadline)
                page.fill("#offers input[name=start_date]", f"{timezone.localdate().year + 1}-04-01")
                page.get_by_role("button", name="内定を出す（内定通知メールを送る）").click()
                expect(page.locator(".messages")).to_contain_text("内定を出しました")
                expect(page.locator("#offers")).to_contain_text("回答待ち")
            finally:
                browser.close()
        with schema_context(acme.schema):
            final = Round.objects.get(season_id=taro.season_id, name="最終面接")
            assert [item.label for item in final.criteria.all()] == ["総合評価"]
            assert Offer.objects.get(candidate=taro).status == "issued"
    finally:
        with schema_context(acme.schema):
            for row in Round.objects.filter(season_id=taro.season_id, name="最終面接"):
                SelectionStep.objects.filter(key=row.step_key).delete()
                row.delete()


@pytest.mark.browser
def test_an_answer_typed_before_the_page_script_arrived_is_saved_as_a_draft(season_flow, live_server_daphne):
    """A slow phone shows the form before its (deferred) script has run: what the student typed meanwhile is
    saved as soon as the script runs, without another keystroke."""
    from playwright.sync_api import expect, sync_playwright

    from selection.models import Answer

    flow, server = season_flow, live_server_daphne
    acme = flow["acme"]
    text = "早く入力しても保存されるはずです。"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            student = browser.new_context(**PHONE).new_page()
            student.goto(server.url(acme.host, f"/my/login/{flow['hanako_token']}/"))
            student.get_by_role("button", name="マイページにログインする").click()
            student.wait_for_url("**/my/")
            sheet = student.get_by_role("link", name="エントリーシートを記入・提出する").get_attribute("href")
            held: list = []
            # The page's script is held back until the test lets it through.
            student.route("**/selection/es*.js", lambda route: held.append(route))
            student.goto(server.url(acme.host, sheet), wait_until="commit")
            student.fill(f"#q-{flow['question'].pk}", text)
            for _ in range(100):
                if held:
                    break
                student.wait_for_timeout(50)
            assert held, "the page asked for its script"
            expect(student.locator("#draft-status")).not_to_contain_text("下書きを保存しました")
            held[0].continue_()
            expect(student.locator("#draft-status")).to_contain_text("下書きを保存しました", timeout=10_000)
        finally:
            browser.close()
    with schema_context(acme.schema):
        draft = Answer.objects.get(submission__candidate=flow["hanako"], question=flow["question"])
        assert draft.text == text
