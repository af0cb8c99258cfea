"""Possible duplicates (merge / dismiss / undo), the rank table and the audit log."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts.permissions import ADMINS, EDITORS, EVERYONE, role_required
from candidates.errors import CandidateError
from candidates.forms import AliasForm, RankCSVForm, RankRuleForm, StepForm
from candidates.models import MergeRecord, RankRule, RankSettings, RerankRun, SelectionStep, UniversityAlias
from candidates.selectors import audit_list, duplicate_list
from candidates.services.audit import audit_request, client_ip
from candidates.services.merging import duplicate_dismiss, duplicate_merge, merge_undo
from candidates.services.ranks import (
    rank_default_set,
    rank_rule_delete,
    rank_rule_save,
    rank_table_import_csv,
    university_alias_add,
)
from candidates.services.workspace import selection_step_add, selection_step_delete, selection_step_update
from candidates.views.roles import roles_audited


@role_required(*EVERYONE)
def duplicates_view(request: HttpRequest) -> HttpResponse:
    duplicates = list(duplicate_list()[:100])
    # i18n: data — the audit log's record
    audit_request(request=request, action="list", student_count=len(duplicates) * 2, target="重複候補")
    merges = MergeRecord.objects.filter(undone_at=None).select_related("kept", "merged")[:20]
    return render(request, "candidates/duplicates.html", {"duplicates": duplicates, "merges": merges})


@require_POST
@roles_audited(*EDITORS, action="merge_denied")
def duplicate_merge_view(request: HttpRequest, duplicate_id: int) -> HttpResponse:
    kept = request.POST.get("kept", "").strip()
    if not (kept.isascii() and kept.isdigit() and len(kept) <= 18):
        # A hand-made request: answered 400 on the same page, nothing merged.
        messages.error(
            request, gettext("残す候補者の指定が正しくありません。画面の「統合」ボタンから操作してください。")
        )
        response = duplicates_view(request)
        response.status_code = 400
        return response
    try:
        record = duplicate_merge(
            duplicate_id=duplicate_id,
            kept_id=int(kept),
            user=request.user,
            ip=client_ip(request=request),
        )
    except CandidateError as error:
        messages.error(request, error.message)
        return redirect("candidates:duplicates")
    messages.success(
        request,
        gettext("候補者 #%(merged)s を #%(kept)s に統合しました。")
        % {"merged": record.merged_id, "kept": record.kept_id},
    )
    return redirect("candidates:duplicates")


@require_POST
@roles_audited(*EDITORS, action="merge_denied")
def duplicate_dismiss_view(request: HttpRequest, duplicate_id: int) -> HttpResponse:
    try:
        duplicate_dismiss(duplicate_id=duplicate_id, user=request.user)
    except CandidateError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("別人として記録しました。"))
    return redirect("candidates:duplicates")


@require_POST
@roles_audited(*EDITORS, action="merge_denied")
def merge_undo_view(request: HttpRequest, record_id: int) -> HttpResponse:
    get_object_or_404(MergeRecord, pk=record_id)
    try:
        merge_undo(record_id=record_id, user=request.user, ip=client_ip(request=request))
    except CandidateError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, gettext("統合を取り消しました。"))
    return redirect("candidates:duplicates")


@role_required(*ADMINS)
def ranks_view(request: HttpRequest) -> HttpResponse:
    rule_form, alias_form, csv_form = (
        RankRuleForm(prefix="rule"),
        AliasForm(prefix="alias"),
        RankCSVForm(prefix="csv"),
    )
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "rule":
                rule_form = RankRuleForm(request.POST, prefix="rule")
                if rule_form.is_valid():
                    rank_rule_save(**rule_form.cleaned_data)
                    messages.success(
                        request, gettext("ランク表を更新しました。全学生のランクを再計算しています。")
                    )
                    return redirect("candidates:ranks")
            elif action == "delete":
                rank_rule_delete(rule_id=int(request.POST.get("rule", "0") or 0))
                messages.success(request, gettext("削除しました。全学生のランクを再計算しています。"))
                return redirect("candidates:ranks")
            elif action == "default":
                rank_default_set(rank=request.POST.get("default_rank", ""))
                messages.success(
                    request, gettext("既定ランクを更新しました。全学生のランクを再計算しています。")
                )
                return redirect("candidates:ranks")
            elif action == "alias":
                alias_form = AliasForm(request.POST, prefix="alias")
                if alias_form.is_valid():
                    university_alias_add(**alias_form.cleaned_data)
                    messages.success(request, gettext("別名を追加しました。"))
                    return redirect("candidates:ranks")
            elif action == "csv":
                csv_form = RankCSVForm(request.POST, request.FILES, prefix="csv")
                if csv_form.is_valid():
                    count = rank_table_import_csv(
                        fileobj=csv_form.cleaned_data["file"], replace=csv_form.cleaned_data["replace"]
                    )
                    messages.success(
                        request,
                        gettext("%(count)s件を読み込みました。全学生のランクを再計算しています。")
                        % {"count": count},
                    )
                    return redirect("candidates:ranks")
        except (CandidateError, ValueError) as error:
            messages.error(request, getattr(error, "message", gettext("入力が正しくありません。")))
        status = 400
    return render(
        request,
        "candidates/ranks.html",
        {
            "rules": RankRule.objects.all(),
            "aliases": UniversityAlias.objects.all(),
            "default_rank": (RankSettings.objects.first() or RankSettings()).default_rank,
            "reruns": RerankRun.objects.all()[:10],
            "rule_form": rule_form,
            "alias_form": alias_form,
            "csv_form": csv_form,
            "letters": [chr(code) for code in range(ord("A"), ord("Z") + 1)],
        },
        status=status,
    )


@role_required(*ADMINS)
def audit_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(audit_list(), 100).get_page(request.GET.get("page"))
    return render(request, "candidates/audit.html", {"page": page})


@role_required(*EVERYONE)
def rerun_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(RerankRun, pk=run_id)
    return render(request, "candidates/rerun.html", {"run": run})


@role_required(*ADMINS)
def steps_view(request: HttpRequest) -> HttpResponse:
    action = request.POST.get("action")
    form = StepForm(request.POST if action == "add" else None)
    if request.method == "POST" and (action != "add" or form.is_valid()):
        try:
            if action == "add":
                selection_step_add(**form.cleaned_data)
            elif action == "delete":
                selection_step_delete(step_id=int(request.POST.get("step", "0") or 0))
            else:
                selection_step_update(
                    step_id=int(request.POST.get("step", "0") or 0),
                    label=request.POST.get("label", ""),
                    move=request.POST.get("move", ""),
                )
            messages.success(request, gettext("選考ステップを更新しました。"))
            return redirect("candidates:steps")
        except (CandidateError, ValueError) as error:
            field = getattr(error, "field", None)
            if action == "add" and field in form.fields:
                form.add_error(field, error.message)  # beside the key or the name
            else:
                messages.error(request, getattr(error, "message", gettext("入力が正しくありません。")))
    context = {"steps": SelectionStep.objects.all(), "form": form}
    return render(request, "candidates/steps.html", context, status=400 if request.method == "POST" else 200)
