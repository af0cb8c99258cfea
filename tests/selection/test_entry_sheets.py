"""エントリーシート: drafts saved as the student types, upload limits, deadlines, reading, scoring, export."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from candidates.models import AuditEntry
from selection.models import Answer, Submission
from tests.selection.conftest import interview_booked, person, student

PDF = b"%PDF-1.4\n% test\n" + b"0" * 100
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100


@pytest.fixture
def sheet(acme, flow, settings, tmp_path):
    from selection.services.entrysheets import question_add, sheet_for, sheet_update

    settings.MEDIA_ROOT = str(tmp_path)
    sheet = sheet_for(season=flow["season"])
    sheet_update(
        sheet=sheet,
        title="2027年度 エントリーシート",
        intro="",
        deadline=timezone.now() + dt.timedelta(days=3),
        is_open=True,
        round=flow["rounds"][0],
    )
    motive = question_add(sheet=sheet, label="志望動機", kind="text", max_length=50)
    area = question_add(sheet=sheet, label="希望勤務地", kind="choice", choices_text="東京, 大阪")
    resume = question_add(sheet=sheet, label="成績証明書", kind="file")
    return sheet, motive, area, resume


def signed_in_student(acme, **fields):
    from booking.services.mypage import mypage_token_create

    candidate = student(**fields)
    page = Client(HTTP_HOST=acme.host)
    assert page.post(f"/my/login/{mypage_token_create(candidate=candidate)}/").status_code == 302
    return candidate, page


def upload(page, question, content: bytes, name: str = "file.pdf"):
    return page.post(
        "/my/es/upload/",
        {"question": question.pk, "file": SimpleUploadedFile(name, content)},
        HTTP_ACCEPT="application/json",
    )


def test_a_draft_is_saved_as_the_student_types_and_kept_when_refused(acme, sheet):
    _sheet, motive, area, _resume = sheet
    _candidate, page = signed_in_student(acme)
    assert "エントリーシートを記入・提出する" in page.get("/my/").content.decode()
    saved = page.post("/my/es/draft", {f"q_{motive.pk}": "御社の理念に共感", f"q_{area.pk}": "大阪"})
    assert saved.status_code == 200 and saved.json()["ok"]
    too_long = page.post("/my/es/draft", {f"q_{motive.pk}": "あ" * 51})
    assert too_long.status_code == 400 and "50文字以内" in too_long.json()["message"]
    form = page.get("/my/es/").content.decode()
    assert "御社の理念に共感" in form and '<option value="大阪" selected>' in form and "es.js" in form


def test_uploads_are_checked_by_content_and_size(acme, sheet):
    from selection.services.entrysheets import FILE_MAX_BYTES

    _sheet, _motive, _area, resume = sheet
    candidate, page = signed_in_student(acme)
    disguised = upload(page, resume, b"MZ\x90\x00 not a pdf", "transcript.pdf")
    assert disguised.status_code == 400 and "PDF・PNG・JPEG" in disguised.json()["message"]
    huge = upload(page, resume, b"%PDF-" + b"0" * FILE_MAX_BYTES, "big.pdf")
    assert huge.status_code == 400 and "5MB以内" in huge.json()["message"]
    assert upload(page, resume, PNG, "成績 山田.png").status_code == 302
    answer = Answer.objects.get(submission__candidate=candidate, question=resume)
    assert (
        answer.file_name == "成績 山田.png"
        and answer.file.name.endswith(".png")
        and "山田" not in answer.file.name
    )
    assert page.get(f"/my/es/files/{answer.pk}/").getvalue() == PNG
    from saas.bodylimit import body_limit

    assert FILE_MAX_BYTES < body_limit("/my/es/upload/") < body_limit("/candidates/imports/")


def test_a_missing_answer_is_shown_beside_its_question(acme, sheet):
    from tests.test_forms import assert_error_beside

    _sheet, motive, area, _resume = sheet
    _candidate, page = signed_in_student(acme)
    answer = page.post("/my/es/", {f"q_{motive.pk}": "", f"q_{area.pk}": "東京", "submit": "1"})
    assert answer.status_code == 400
    html = answer.content.decode()
    assert_error_beside(html, f"id_q_{motive.pk}", box=f"q-{motive.pk}")
    assert 'selected>東京</option>' in html or '<option value="東京" selected>' in html  # the typed answer stays


def test_submission_needs_every_required_answer_and_is_final(acme, sheet):
    _sheet, motive, area, resume = sheet
    candidate, page = signed_in_student(acme)
    missing = page.post("/my/es/", {f"q_{motive.pk}": "志望動機です", f"q_{area.pk}": "東京", "submit": "1"})
    assert missing.status_code == 400 and "「成績証明書」に回答してください" in missing.content.decode()
    upload(page, resume, PDF)
    done = page.post("/my/es/", {f"q_{motive.pk}": "志望動機です", f"q_{area.pk}": "東京", "submit": "1"})
    assert done.status_code == 302
    assert Submission.objects.get(candidate=candidate).submitted_at is not None
    late_change = page.post("/my/es/draft", {f"q_{motive.pk}": "書き換え"})
    assert late_change.status_code == 400 and "提出済み" in late_change.json()["message"]
    assert Answer.objects.get(submission__candidate=candidate, question=motive).text == "志望動機です"


def test_nothing_changes_after_the_deadline(acme, sheet):
    from selection.models import EntrySheet

    the_sheet, motive, _area, resume = sheet
    _candidate, page = signed_in_student(acme)
    page.post("/my/es/draft", {f"q_{motive.pk}": "期限前"})
    EntrySheet.objects.filter(pk=the_sheet.pk).update(deadline=timezone.now() - dt.timedelta(minutes=1))
    late = page.post("/my/es/draft", {f"q_{motive.pk}": "期限後"})
    assert late.status_code == 400 and "提出期限を過ぎた" in late.json()["message"]
    assert upload(page, resume, PDF).status_code == 400
    page_text = page.get("/my/es/").content.decode()
    assert "提出期限を過ぎたため" in page_text and "期限前" in page_text and "<textarea" not in page_text


def test_recruiters_read_score_and_export_and_interviewers_see_only_their_own(acme, sheet, flow, make_user):
    the_sheet, motive, area, resume = sheet
    candidate, page = signed_in_student(acme, family_name="木村")
    upload(page, resume, PDF)
    page.post("/my/es/", {f"q_{motive.pk}": "ものづくりが好き", f"q_{area.pk}": "東京", "submit": "1"})
    answer = Answer.objects.get(question=resume, submission__candidate=candidate)
    recruiter_client, _recruiter = make_user("recruiter")
    detail = recruiter_client.get(f"/candidates/{candidate.pk}/").content.decode()
    assert 'id="entry-sheet"' in detail and "ものづくりが好き" in detail
    form = recruiter_client.get(
        f"/selection/rounds/{flow['rounds'][0].pk}/candidates/{candidate.pk}/"
    ).content.decode()
    assert "ものづくりが好き" in form and 'name="decision"' in form
    csv = b"".join(
        recruiter_client.get("/selection/entry-sheet/export.csv?encoding=utf8").streaming_content
    ).decode("utf-8-sig")
    assert "木村" in csv and "ものづくりが好き" in csv and "Q1 志望動機" in csv
    assert "ものづくりが好き" in recruiter_client.get("/selection/entry-sheet/print/").content.decode()
    exports = AuditEntry.objects.filter(action="export", target__startswith="エントリーシート")
    assert exports.count() == 2 and all(entry.candidate_ids == [candidate.pk] for entry in exports)
    assert (
        b"".join(recruiter_client.get(f"/selection/entry-sheet/files/{answer.pk}/").streaming_content) == PDF
    )
    stranger = person("interviewer")
    stranger_client = Client(HTTP_HOST=acme.host)
    stranger_client.force_login(stranger)
    assert stranger_client.get(f"/selection/entry-sheet/files/{answer.pk}/").status_code == 404
    interview_booked(
        candidate=candidate,
        interview_type=flow["types"][0],
        interviewer=stranger,
        starts_at=timezone.now() + dt.timedelta(hours=2),
    )
    assert stranger_client.get(f"/selection/entry-sheet/files/{answer.pk}/").status_code == 200
    other, other_page = signed_in_student(acme)
    assert other_page.get(f"/my/es/files/{answer.pk}/").status_code == 404
    viewer_client, _viewer = make_user("viewer")
    assert viewer_client.get("/selection/entry-sheet/export.csv").status_code == 403
    assert (
        viewer_client.post(
            "/selection/entry-sheet/", {"action": "question", "label": "x", "kind": "text", "max_length": 10}
        ).status_code
        == 403
    )
    assert the_sheet.questions.count() == 3


def test_disclosure_lists_the_sheet_and_erasure_removes_it_with_its_files(
    acme, sheet, django_capture_on_commit_callbacks
):
    from candidates.services.privacy_data import student_data_collect
    from selection.personal_data import entry_sheets_erase

    _sheet, motive, _area, resume = sheet
    candidate, page = signed_in_student(acme)
    page.post("/my/es/draft", {f"q_{motive.pk}": "開示される回答"})
    upload(page, resume, PDF)
    rows = student_data_collect(candidate_id=candidate.pk)["entry_sheets"]
    assert rows[0]["answers"]["志望動機"] == "開示される回答"
    stored = Answer.objects.get(question=resume, submission__candidate=candidate).file
    storage, name = stored.storage, stored.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        entry_sheets_erase([candidate.pk], keep_statistics=True)
    assert not Submission.objects.filter(candidate=candidate).exists() and not storage.exists(name)


def test_a_recruiter_sets_the_sheet_and_its_questions_up_on_the_page(acme, flow, make_user):
    from selection.models import EntrySheet

    client, _recruiter = make_user("recruiter")
    deadline = timezone.localtime() + dt.timedelta(days=5)
    saved = client.post(
        "/selection/entry-sheet/",
        {
            "action": "sheet",
            "title": "本選考ES",
            "intro": "800字以内でお書きください",
            "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
            "is_open": "on",
            "round": flow["rounds"][0].pk,
        },
    )
    assert saved.status_code == 302
    client.post(
        "/selection/entry-sheet/",
        {
            "action": "question",
            "label": "学生時代に力を入れたこと",
            "kind": "text",
            "required": "on",
            "max_length": 800,
        },
    )
    refused = client.post(
        "/selection/entry-sheet/",
        {"action": "question", "label": "色", "kind": "choice", "max_length": 10, "choices_text": "赤"},
    )
    assert refused.status_code == 400 and "選択肢は2〜20個" in refused.content.decode()
    sheet = EntrySheet.objects.get(season=flow["season"])
    assert (sheet.title, sheet.is_open, sheet.round_id) == ("本選考ES", True, flow["rounds"][0].pk)
    assert [(q.label, q.max_length) for q in sheet.questions.all()] == [("学生時代に力を入れたこと", 800)]
