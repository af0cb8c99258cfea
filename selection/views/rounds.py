"""Selection pages: the season's flow (recruiters), 今日の面接 and the evaluation form (phone-sized)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from accounts.models import Role, User
from accounts.permissions import EVERYONE, STAFF, forbidden, role_required
from booking.calendar import interview_ics
from candidates.models import Candidate
from candidates.services.audit import audit_request
from selection import selectors, services
from selection.errors import EvaluationNotAllowed, SelectionError
from selection.forms import CriterionForm, RoundForm
from selection.models import Answer, Decision, Question, Round


def _user(request: HttpRequest) -> User:
    """The signed-in member (every view here is behind role_required)."""
    return cast(User, request.user)


def _season_round(request: HttpRequest, round_id: int) -> Round:
    found = selectors.round_get(round_id=round_id)
    if found is None or found.season_id != request.season.pk:
        raise Http404
    return found


@role_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def round_list_view(request: HttpRequest) -> HttpResponse:
    form = RoundForm(request.POST or None, season_id=request.season.pk)
    status = 200
    if request.method == "POST":
        if not request.user.can_edit:
            return forbidden(request)
        try:
            if request.POST.get("move"):
                services.round_move(
                    round=_season_round(request, int(request.POST.get("round", "0") or 0)),
                    direction=request.POST["move"],
                )
                return redirect("selection:rounds")
            if request.POST.get("delete"):
                services.round_delete(round=_season_round(request, int(request.POST["delete"] or 0)))
                messages.success(request, gettext("選考を削除しました。"))
                return redirect("selection:rounds")
            if form.is_valid():
                created = services.round_create(season=request.season, **form.cleaned_data)
                messages.success(
                    request,
                    gettext("「%(name)s」を追加しました。評価項目を設定してください。")
                    % {"name": created.name},
                )
                return redirect("selection:round", round_id=created.pk)
        except (SelectionError, ValueError) as error:
            messages.error(request, getattr(error, "message", gettext("入力を確認してください。")))
        status = 400
    return render(
        request,
        "selection/rounds.html",
        {"rounds": selectors.round_list(season_id=request.season.pk), "form": form},
        status=status,
    )


@role_required(*EVERYONE)
@require_http_methods(["GET", "POST"])
def round_detail_view(request: HttpRequest, round_id: int) -> HttpResponse:
    current = _season_round(request, round_id)
    form = CriterionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not request.user.can_edit:
            return forbidden(request)
        try:
            if request.POST.get("delete"):
                services.criterion_delete(round=current, criterion_id=int(request.POST["delete"]))
                return redirect("selection:round", round_id=current.pk)
            if form.is_valid():
                services.criterion_add(round=current, **form.cleaned_data)
                return redirect("selection:round", round_id=current.pk)
        except (SelectionError, ValueError) as error:
            messages.error(request, getattr(error, "message", gettext("入力を確認してください。")))
        status = 400
    return render(
        request,
        "selection/round.html",
        {"round": current, "criteria": list(current.criteria.all()), "form": form},
        status=status,
    )


@role_required(*STAFF)
def interviews_today_view(request: HttpRequest) -> HttpResponse:
    rows = selectors.interviews_today(user=_user(request))
    return render(request, "selection/today.html", {"rows": rows})


@role_required(*STAFF)
@require_http_methods(["GET", "POST"])
def evaluation_view(request: HttpRequest, round_id: int, candidate_id: int) -> HttpResponse:
    """The form on a phone: the student, their history, every round so far; interviewers see only theirs."""
    current = selectors.round_get(round_id=round_id)
    candidate = selectors.candidate_visible_to(user=_user(request), candidate_id=candidate_id)
    if current is None or candidate is None or candidate.season_id != current.season_id:
        raise Http404
    allowed = selectors.evaluation_allowed(user=_user(request), round=current, candidate=candidate)
    status = 200
    if request.method == "POST":
        if not allowed:
            return forbidden(request, gettext("この学生のこの選考を評価する権限がありません。"))
        scores = {
            key[len("score_") :]: value for key, value in request.POST.items() if key.startswith("score_")
        }
        try:
            services.evaluation_save(
                round=current,
                candidate=candidate,
                user=_user(request),
                decision=request.POST.get("decision", ""),
                scores=scores,
                comment=request.POST.get("comment", ""),
            )
        except EvaluationNotAllowed as error:
            return forbidden(request, error.message)
        except SelectionError as error:
            messages.error(request, error.message)
            status = 400
        else:
            messages.success(
                request,
                gettext("%(name)s さんの%(round)sの評価を保存しました。")
                % {"name": candidate, "round": current.name},
            )
            if request.user.role == Role.INTERVIEWER:
                return redirect("selection:today")
            return redirect("candidates:detail", candidate_id=candidate.pk)
    # i18n: data — the audit log's record
    audit_request(
        request=request,
        action="detail",
        student_count=1,
        target=f"#{candidate.pk} 評価",
        candidate_ids=[candidate.pk],
    )
    mine = selectors.evaluation_of(round=current, candidate=candidate, user=_user(request))
    return render(
        request,
        "selection/evaluate.html",
        {
            "round": current,
            "candidate": candidate,
            "fields": [
                (item, str(mine.scores.get(str(item.pk), "")) if mine else "")
                for item in current.criteria.all()
            ],
            "allowed": allowed,
            "mine": mine,
            "posted": request.POST if status == 400 else None,
            "decisions": Decision.choices,
            "columns": selectors.candidate_rounds(candidate=candidate),
            "history": selectors.candidate_history(candidate=candidate),
            "entry_sheet": _entry_sheet_rows(candidate=candidate),
        },
        status=status,
    )


def _entry_sheet_rows(*, candidate: Candidate) -> list[tuple[Question, Answer | None]]:
    """The student's submitted エントリーシート, shown with every evaluation form (the ES round reads it)."""
    sheet = selectors.entry_sheet_of(season_id=candidate.season_id)
    submission = selectors.submission_of(sheet=sheet, candidate=candidate) if sheet is not None else None
    if sheet is None or submission is None or submission.submitted_at is None:
        return []
    return selectors.sheet_answers(sheet=sheet, submission=submission)


@role_required(*STAFF)
def interview_calendar_view(request: HttpRequest, booking_id: int) -> HttpResponse:
    """An interview as an .ics for the interviewer's calendar (their own interviews; recruiters any)."""
    booking = selectors.interview_for_staff(user=_user(request), booking_id=booking_id)
    if booking is None:
        raise Http404
    response = HttpResponse(
        interview_ics(booking=booking, host=request.get_host()), content_type="text/calendar"
    )
    response["Content-Disposition"] = f'attachment; filename="interview-{booking.pk}.ics"'
    return response
