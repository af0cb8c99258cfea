"""Recruiters' side of students' APPI requests (queue, disclosure, correction, stop use, erasure) and retention.

Who may do what: admins and recruiters work the queue, export (開示), correct and stop use; only admins
erase. Viewers see none of it. Every refusal is audited like every export and erasure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import ADMINS, EDITORS
from candidates.errors import CandidateError
from candidates.forms import RetentionPolicyForm
from candidates.models import PRIVACY_REQUEST_TARGET_DAYS, Candidate, PrivacyRequest, SelectionStep
from candidates.selectors import privacy_request_queue, retention_policy_get, retention_preview
from candidates.services.audit import audit_request, client_ip
from candidates.services.privacy_data import CORRECTABLE, candidate_correct, student_data_export
from candidates.services.privacy_requests import (
    privacy_request_close,
    privacy_request_create,
    privacy_request_erase,
)
from candidates.services.retention import retention_policy_set
from candidates.views.roles import roles_audited

SECTION_TITLES = {
    "profiles": gettext_lazy("登録情報"),
    "entries": gettext_lazy("エントリー（求人媒体から受け取った行）"),
    "identifiers": gettext_lazy("照合に使う連絡先・ID"),
    "notes": gettext_lazy("メモ"),
    "history": gettext_lazy("履歴"),
    "requests": gettext_lazy("個人情報に関する請求"),
    "accesses": gettext_lazy("社内での閲覧・出力の記録"),
    "bookings": gettext_lazy("予約・キャンセル待ち・面接・マイページ"),
    "mail": gettext_lazy("メール・ステップメール・配信停止"),
}


def privacy_roles(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """`role_required`, and a signed-in user refused by role leaves an audit entry."""
    return roles_audited(
        *roles, action="privacy_denied", message=gettext_lazy("個人情報の請求を扱う権限がありません。")
    )


@privacy_roles(*EDITORS)
def privacy_queue_view(request: HttpRequest) -> HttpResponse:
    open_requests, closed = privacy_request_queue()
    shown = [item.candidate_id for item in open_requests if item.candidate_id]
    # i18n: data — the audit log's record
    audit_request(
        request=request,
        action="privacy_list",
        student_count=len(shown),
        target="個人情報の請求",
        candidate_ids=shown,
    )
    return render(
        request,
        "candidates/privacy_queue.html",
        {"open_requests": open_requests, "closed": closed, "target_days": PRIVACY_REQUEST_TARGET_DAYS},
    )


@privacy_roles(*EDITORS)
def privacy_request_view(request: HttpRequest, request_id: int) -> HttpResponse:
    privacy_request = get_object_or_404(
        PrivacyRequest.objects.select_related("candidate", "closed_by"), pk=request_id
    )
    candidate = privacy_request.candidate
    if candidate is not None:
        audit_request(
            request=request,
            action="privacy_view",
            student_count=1,
            target=privacy_request.number,
            candidate_ids=[candidate.pk],
        )
    fields = [
        (name, Candidate._meta.get_field(name).verbose_name, getattr(candidate, name) if candidate else "")
        for name in CORRECTABLE
    ]
    return render(
        request,
        "candidates/privacy_request.html",
        {"privacy_request": privacy_request, "candidate": candidate, "fields": fields},
    )


@privacy_roles(*EDITORS)
def privacy_export_view(request: HttpRequest, request_id: int, kind: str) -> HttpResponse:
    """Everything about the student as JSON (download) or as a readable page (print to PDF)."""
    privacy_request = get_object_or_404(PrivacyRequest, pk=request_id)
    if privacy_request.candidate_id is None:
        messages.error(request, _("この学生の情報はすでに削除されています。"))
        return redirect("candidates:privacy_request", request_id)
    data = student_data_export(
        candidate_id=privacy_request.candidate_id, user=request.user, ip=client_ip(request=request), kind=kind
    )
    if kind == "json":
        response = HttpResponse(
            json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="disclosure-{privacy_request.number}.json"'
    else:
        sections = [
            (SECTION_TITLES.get(key, key), value if isinstance(value, list) else [value])
            for key, value in data.items()
            if key not in ("student_id", "generated_at")
        ]
        response = render(
            request,
            "candidates/privacy_export.html",
            {"privacy_request": privacy_request, "data": data, "sections": sections},
        )
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@privacy_roles(*EDITORS)
def privacy_close_view(request: HttpRequest, request_id: int) -> HttpResponse:
    try:
        privacy_request_close(
            request_id=request_id,
            user=request.user,
            ip=client_ip(request=request),
            declined=request.POST.get("declined") == "1",
            response=request.POST.get("response", ""),
        )
    except CandidateError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("請求を完了しました。学生に通知しました。"))
    return redirect("candidates:privacy_request", request_id)


@require_POST
@privacy_roles(*EDITORS)
def privacy_correct_view(request: HttpRequest, request_id: int) -> HttpResponse:
    privacy_request = get_object_or_404(PrivacyRequest, pk=request_id, kind=PrivacyRequest.Kind.CORRECTION)
    if privacy_request.candidate_id is None or privacy_request.status != PrivacyRequest.Status.OPEN:
        messages.error(request, _("この請求はすでに対応済みです。"))
        return redirect("candidates:privacy_request", request_id)
    values = {name: request.POST[name] for name in CORRECTABLE if name in request.POST}
    try:
        changed = candidate_correct(
            candidate_id=privacy_request.candidate_id,
            values=values,
            user=request.user,
            ip=client_ip(request=request),
        )
    except CandidateError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(count)s 項目を訂正しました。") % {"count": len(changed)})
    return redirect("candidates:privacy_request", request_id)


@require_POST
@privacy_roles(*ADMINS)
def privacy_erase_view(request: HttpRequest, request_id: int) -> HttpResponse:
    privacy_request = get_object_or_404(PrivacyRequest, pk=request_id)
    if request.POST.get("confirm", "").strip() != privacy_request.number:
        messages.error(request, _("確認のため受付番号を入力してください。"))
        return redirect("candidates:privacy_request", request_id)
    try:
        privacy_request_erase(request_id=request_id, user=request.user, ip=client_ip(request=request))
    except CandidateError as error:
        messages.error(request, error.message)
        return redirect("candidates:privacy_request", request_id)
    messages.success(request, _("学生の個人情報を削除しました。"))
    return redirect("candidates:privacy_receipt", request_id)


@privacy_roles(*EDITORS)
def privacy_receipt_view(request: HttpRequest, request_id: int) -> HttpResponse:
    privacy_request = get_object_or_404(PrivacyRequest, pk=request_id, kind=PrivacyRequest.Kind.DELETION)
    if not privacy_request.receipt:
        return redirect("candidates:privacy_request", request_id)
    return render(request, "candidates/privacy_receipt.html", {"privacy_request": privacy_request})


@require_POST
@privacy_roles(*EDITORS)
def privacy_record_view(request: HttpRequest, candidate_id: int) -> HttpResponse:
    """A recruiter records a request the student made by mail, phone or letter."""
    candidate = get_object_or_404(Candidate, pk=candidate_id, merged_into=None)
    try:
        privacy_request = privacy_request_create(
            candidate=candidate,
            kind=request.POST.get("kind", ""),
            details=request.POST.get("details", ""),
            by_staff=request.user,
        )
    except CandidateError as error:
        messages.error(request, error.message)
        return redirect("candidates:detail", candidate_id)
    return redirect("candidates:privacy_request", privacy_request.pk)


@privacy_roles(*ADMINS)
def retention_view(request: HttpRequest) -> HttpResponse:
    """The retention policy with its dry run: the count is shown before the policy can be switched on."""
    policy = retention_policy_get()
    steps = list(SelectionStep.objects.values_list("key", "label"))
    initial = {
        "enabled": policy.enabled,
        "months_after_season": policy.months_after_season,
        "action": policy.action,
        "keep_statuses": policy.keep_statuses,
    }
    form = RetentionPolicyForm(request.POST or None, initial=initial, steps=steps)
    status = 200
    values: dict[str, Any] = initial
    if request.method == "POST" and not form.is_valid():
        status = 400
    elif request.method == "POST":
        values = form.cleaned_data
        if "save" in request.POST:
            try:
                retention_policy_set(
                    enabled=values["enabled"],
                    months_after_season=values["months_after_season"],
                    action=values["action"],
                    keep_statuses=values["keep_statuses"],
                    confirmed_count=values.get("confirmed_count"),
                    user=request.user,
                    ip=client_ip(request=request),
                )
            except CandidateError as error:
                messages.error(request, error.message)
                status = 400
            else:
                messages.success(request, _("保存期間の設定を保存しました。"))
                return redirect("candidates:retention")
    preview = retention_preview(
        months_after_season=values["months_after_season"], keep_statuses=list(values["keep_statuses"])
    )
    return render(
        request,
        "candidates/retention.html",
        {"form": form, "policy": policy, "preview": preview, "values": values},
        status=status,
    )
