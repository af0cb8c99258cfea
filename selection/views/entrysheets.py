"""エントリーシート pages: the recruiters' set-up, reading and export; the students' sheet on the My Page."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import EDITORS, EVERYONE, STAFF, forbidden, role_required
from booking.views.common import mypage_required, wants_json
from candidates.services.audit import audit_request
from candidates.services.exporting import csv_encoded
from selection import selectors
from selection.errors import SelectionError
from selection.forms import AnswersForm, EntrySheetForm, QuestionForm
from selection.models import Answer, EntrySheet
from selection.services.entrysheets import (
    FILE_MAX_BYTES,
    answer_file_save,
    draft_save,
    question_add,
    question_delete,
    sheet_for,
    sheet_submit,
    sheet_update,
)


@role_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def sheet_view(request: HttpRequest) -> HttpResponse:
    sheet = sheet_for(season=request.season)
    initial = {
        "title": sheet.title,
        "intro": sheet.intro,
        "deadline": timezone.localtime(sheet.deadline) if sheet.deadline else None,
        "is_open": sheet.is_open,
        "round": sheet.round_id,
    }
    action = request.POST.get("action", "")
    form = EntrySheetForm(
        request.POST if action == "sheet" else None, initial=initial, season_id=request.season.pk
    )
    question_form = QuestionForm(request.POST if action == "question" else None)
    status = 200
    if request.method == "POST":
        if not request.user.can_edit:
            return forbidden(request)
        try:
            if action == "sheet" and form.is_valid():
                sheet_update(sheet=sheet, **form.cleaned_data)
                return redirect("selection:entry_sheet")
            if action == "question" and question_form.is_valid():
                question_add(sheet=sheet, **question_form.cleaned_data)
                return redirect("selection:entry_sheet")
            if action == "delete":
                question_delete(sheet=sheet, question_id=int(request.POST.get("question", "0") or 0))
                return redirect("selection:entry_sheet")
        except (SelectionError, ValueError) as error:
            messages.error(request, getattr(error, "message", gettext("入力を確認してください。")))
        status = 400
    return render(
        request,
        "selection/entry_sheet.html",
        {
            "sheet": sheet,
            "questions": list(sheet.questions.all()),
            "form": form,
            "question_form": question_form,
            "submitted": selectors.submitted_list(sheet=sheet)[:500],
        },
        status=status,
    )


def _submitted_for_export(request: HttpRequest, *, target: str) -> tuple[EntrySheet, list[int]]:
    sheet = selectors.entry_sheet_of(season_id=request.season.pk)
    if sheet is None:
        raise Http404
    ids = list(selectors.submitted_list(sheet=sheet).values_list("candidate_id", flat=True))
    audit_request(request=request, action="export", student_count=len(ids), target=target, candidate_ids=ids)
    return sheet, ids


@role_required(*EDITORS)
def sheet_export_view(request: HttpRequest) -> HttpResponse:
    """Every submitted sheet as CSV for the hiring meeting (Excel: Shift_JIS, or UTF-8 with BOM); audited."""
    encoding = "utf-8-sig" if request.GET.get("encoding") == "utf8" else "cp932"
    sheet, _ids = _submitted_for_export(request, target=f"エントリーシート CSV ({encoding})")  # i18n: data
    response = StreamingHttpResponse(
        csv_encoded(
            records=selectors.entry_sheet_records(sheet=sheet),
            encoding=encoding,
            columns=selectors.entry_sheet_columns(sheet=sheet),
        ),
        content_type=f"text/csv; charset={'shift_jis' if encoding == 'cp932' else 'utf-8'}",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="entry-sheets-{timezone.localtime():%Y%m%d-%H%M}.csv"'
    )
    return response  # type: ignore[return-value]


@role_required(*EDITORS)
def sheet_print_view(request: HttpRequest) -> HttpResponse:
    """Every submitted sheet on one page, one student per printed page (the browser saves it as PDF); audited."""
    sheet, _ids = _submitted_for_export(request, target="エントリーシート 印刷・PDF")  # i18n: data
    rows = [
        (submission, selectors.sheet_answers(sheet=sheet, submission=submission))
        for submission in selectors.submitted_list(sheet=sheet)
    ]
    return render(request, "selection/entry_sheet_print.html", {"sheet": sheet, "rows": rows})


@role_required(*STAFF)
def staff_file_view(request: HttpRequest, answer_id: int) -> HttpResponse:
    answer = selectors.answer_file_for_staff(user=cast(User, request.user), answer_id=answer_id)
    if answer is None:
        raise Http404
    # i18n: data — the audit log's record
    audit_request(
        request=request,
        action="detail",
        student_count=1,
        target="エントリーシート 添付ファイル",
        candidate_ids=[answer.submission.candidate_id],
    )
    return _file_response(answer)


def _file_response(answer: Answer) -> HttpResponse:
    response = FileResponse(answer.file.open("rb"), as_attachment=True, filename=answer.file_name or "file")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response  # type: ignore[return-value]


# --- the student's side (My Page) ---


def _sheet_for_student(request: HttpRequest) -> EntrySheet:
    sheet = selectors.entry_sheet_of(season_id=request.candidate.season_id)
    if sheet is None or not sheet.is_open:
        raise Http404
    return sheet


def _answers_from(request: HttpRequest) -> dict[str, str]:
    return {key[len("q_") :]: str(value) for key, value in request.POST.items() if key.startswith("q_")}


@never_cache
@mypage_required
@require_http_methods(["GET", "POST"])
def mypage_sheet_view(request: HttpRequest) -> HttpResponse:
    """The sheet on a phone: answers saved as a draft while typing (es.js), saved or submitted by the buttons."""
    sheet = _sheet_for_student(request)
    candidate = request.candidate
    status = 200
    submission = selectors.submission_of(sheet=sheet, candidate=candidate)
    rows = selectors.sheet_answers(sheet=sheet, submission=submission)
    form = AnswersForm(request.POST if request.method == "POST" else None, rows=rows)
    if request.method == "POST":
        try:
            if request.POST.get("submit"):
                sheet_submit(sheet=sheet, candidate=candidate, answers=_answers_from(request))
                messages.success(request, gettext("エントリーシートを提出しました。"))
            else:
                draft_save(sheet=sheet, candidate=candidate, answers=_answers_from(request))
                messages.success(request, gettext("下書きを保存しました。"))
        except SelectionError as error:
            field = f"q_{error.question_id}" if error.question_id else None
            form.add_error(field if field in form.fields else None, error.message)
            status = 400
        else:
            return redirect("selection:mypage_sheet")
    now = timezone.now()
    return render(
        request,
        "selection/mypage_sheet.html",
        {
            "candidate": candidate,
            "sheet": sheet,
            "submission": submission,
            "rows": rows,
            "form": form,
            "editable": (submission is None or submission.submitted_at is None)
            and (sheet.deadline is None or now < sheet.deadline),
            "file_max_mb": FILE_MAX_BYTES // (1024 * 1024),
        },
        status=status,
    )


@require_POST
@mypage_required
def mypage_draft_view(request: HttpRequest) -> JsonResponse:
    """The autosave: what the student typed so far, as a draft (JSON answer for es.js)."""
    sheet = _sheet_for_student(request)
    try:
        draft_save(sheet=sheet, candidate=request.candidate, answers=_answers_from(request))
    except SelectionError as error:
        return JsonResponse({"ok": False, "message": error.message}, status=400)
    return JsonResponse({"ok": True, "saved_at": f"{timezone.localtime():%H:%M}"})


@require_POST
@mypage_required
def mypage_upload_view(request: HttpRequest) -> HttpResponse:
    sheet = _sheet_for_student(request)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise SelectionError(gettext("ファイルを選んでください。"))
        answer_file_save(
            sheet=sheet,
            candidate=request.candidate,
            question_id=int(request.POST.get("question", "0") or 0),
            upload=upload,
        )
    except (SelectionError, ValueError) as error:
        message = getattr(error, "message", gettext("ファイルを添付できませんでした。"))
        if wants_json(request):
            return JsonResponse({"ok": False, "message": message}, status=400)
        messages.error(request, message)
        return redirect("selection:mypage_sheet")
    messages.success(request, gettext("ファイルを添付しました。"))
    return redirect("selection:mypage_sheet")


@mypage_required
def mypage_file_view(request: HttpRequest, answer_id: int) -> HttpResponse:
    answer = (
        Answer.objects.filter(pk=answer_id, submission__candidate=request.candidate).exclude(file="").first()
    )
    if answer is None:
        raise Http404
    return _file_response(answer)
