"""Candidate list, detail and the edits recruiters make on one student; CSV export."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.permissions import ADMINS, EDITORS, EVERYONE, role_required
from candidates.detailpanels import detail_panels
from candidates.errors import CandidateError, RankTableError
from candidates.forms import RANK_CHOICES, CandidateFilterForm
from candidates.models import Candidate, SelectionStep, Tag
from candidates.selectors import (
    candidate_detail_context,
    candidate_export_records,
    candidate_list,
    graduation_years,
)
from candidates.services.audit import audit_filters, audit_request
from candidates.services.exporting import csv_encoded
from candidates.services.merging import candidate_delete
from candidates.services.ranks import candidate_rank_override
from candidates.services.workspace import (
    candidate_status_set,
    candidate_tag_add,
    candidate_tag_remove,
    note_add,
)
from candidates.views.roles import roles_audited

PAGE_SIZE = 50
SORT_LABELS = {
    "new": _("新しい順"),
    "old": _("古い順"),
    "kana": _("カナ順"),
    "rank": _("ランク順"),
    "year": _("卒業年順"),
    "university": _("大学名順"),
}


@role_required(*EVERYONE)
def candidate_list_view(request: HttpRequest) -> HttpResponse:
    form = CandidateFilterForm(request.GET or None, season_id=request.season.pk)
    queryset = candidate_list(filters=form.filters()).prefetch_related("tags")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    # i18n: data — the audit log's record
    audit_request(
        request=request,
        action="list",
        student_count=len(page.object_list),
        target="候補者一覧",
        candidate_ids=[candidate.pk for candidate in page.object_list],
    )
    query = request.GET.copy()
    query.pop("page", None)
    steps = list(SelectionStep.objects.all())
    return render(
        request,
        "candidates/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "ranks": RANK_CHOICES[1:],
            "years": graduation_years(season_id=request.season.pk),
            "extra_filters": form.extra_filters(),
            "steps": steps,
            "tags": list(Tag.objects.all()[:200]),
            "sorts": SORT_LABELS,
            "step_labels": {step.key: step.label for step in steps},
        },
    )


@role_required(*EVERYONE)
def candidate_detail_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = get_object_or_404(Candidate, pk=candidate_id)
    if candidate.merged_into_id:
        messages.info(
            request,
            gettext("候補者 #%(id)s は #%(into)s に統合されています。")
            % {"id": candidate.pk, "into": candidate.merged_into_id},
        )
        return redirect("candidates:detail", candidate_id=candidate.merged_into_id)
    audit_request(
        request=request,
        action="detail",
        student_count=1,
        target=f"#{candidate.pk}",
        candidate_ids=[candidate.pk],
    )
    context = candidate_detail_context(candidate=candidate)
    return render(
        request,
        "candidates/detail.html",
        {
            "candidate": candidate,
            **context,
            "ranks": RANK_CHOICES[1:],
            "panels": detail_panels(request=request, candidate=candidate),
        },
    )


def _editable(request: HttpRequest, candidate_id: int) -> Candidate:
    return get_object_or_404(Candidate, pk=candidate_id, merged_into=None)


@require_POST
@role_required(*EDITORS)
def candidate_rank_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = _editable(request, candidate_id)
    try:
        candidate_rank_override(candidate=candidate, rank=request.POST.get("rank") or None, user=request.user)
    except RankTableError as error:
        messages.error(request, error.message)
        return redirect("candidates:detail", candidate_id=candidate.pk)
    messages.success(request, gettext("ランクを更新しました。"))
    return redirect("candidates:detail", candidate_id=candidate.pk)


@require_POST
@role_required(*EDITORS)
def candidate_status_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = _editable(request, candidate_id)
    try:
        candidate_status_set(candidate=candidate, status=request.POST.get("status", ""), user=request.user)
    except CandidateError as error:
        messages.error(request, error.message)
    return redirect("candidates:detail", candidate_id=candidate.pk)


@require_POST
@role_required(*EDITORS)
def candidate_note_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = _editable(request, candidate_id)
    try:
        note_add(candidate=candidate, body=request.POST.get("body", ""), user=request.user)
    except CandidateError as error:
        messages.error(request, error.message)
    return redirect("candidates:detail", candidate_id=candidate.pk)


@require_POST
@role_required(*EDITORS)
def candidate_tag_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = _editable(request, candidate_id)
    try:
        if request.POST.get("remove"):
            candidate_tag_remove(candidate=candidate, tag_id=int(request.POST["remove"]), user=request.user)
        else:
            candidate_tag_add(candidate=candidate, name=request.POST.get("name", ""), user=request.user)
    except (CandidateError, ValueError) as error:
        messages.error(request, getattr(error, "message", gettext("タグを更新できませんでした。")))
    return redirect("candidates:detail", candidate_id=candidate.pk)


@require_POST
@roles_audited(*ADMINS, action="delete_denied")
def candidate_delete_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    candidate = get_object_or_404(Candidate, pk=candidate_id)
    candidate_delete(candidate_id=candidate.pk, user=request.user, ip=request.META.get("REMOTE_ADDR"))
    messages.success(request, gettext("候補者 #%(id)s を削除しました。") % {"id": candidate_id})
    return redirect("candidates:list")


@roles_audited(*ADMINS, action="export_denied")
def candidate_export_view(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV for Excel (CP932 or UTF-8 with BOM), formulas neutralised, audited."""
    form = CandidateFilterForm(request.GET or None, season_id=request.season.pk)
    encoding = "cp932" if request.GET.get("encoding", "cp932") == "cp932" else "utf-8-sig"
    filters = form.filters()
    queryset = candidate_list(filters=filters)
    # The ids are recorded before streaming: a leak investigation needs exactly whose records left.
    exported_ids = list(queryset.values_list("pk", flat=True))
    audit_request(
        request=request,
        action="export",
        student_count=len(exported_ids),
        target=f"CSV ({encoding})",
        candidate_ids=exported_ids,
        filters=audit_filters(filters=filters),
    )
    response = StreamingHttpResponse(
        csv_encoded(records=candidate_export_records(queryset=queryset), encoding=encoding),
        content_type=f"text/csv; charset={'shift_jis' if encoding == 'cp932' else 'utf-8'}",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="candidates-{stamp}.csv"'
    return response  # type: ignore[return-value]
