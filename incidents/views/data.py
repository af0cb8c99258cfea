"""The APPI workflow pages: support's classification and checklist; the company admin's students and notice."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from accounts.permissions import staff_otp_required
from candidates.services.audit import audit_request
from candidates.textnorm import neutralise_formula
from incidents import forms, selectors
from incidents.errors import IncidentError
from incidents.models import AffectedStudent, DataIncident
from incidents.services import appi


def _data(pk: int) -> DataIncident:
    data = DataIncident.objects.select_related("incident").filter(incident_id=pk).first()
    if data is None:
        raise Http404(_("個人データ事案が見つかりません。"))
    return data


@staff_otp_required
def support_data(request: HttpRequest, pk: int) -> HttpResponse:
    data = _data(pk)
    classify = forms.ClassifyForm(
        initial={
            "aware_at": timezone.localtime(data.aware_at).strftime("%Y-%m-%dT%H:%M"),
            "categories": data.categories,
            "sensitive": data.sensitive,
            "financial_risk": data.financial_risk,
            "malicious": data.malicious,
        }
    )
    checklist = forms.ChecklistForm(initial=data.checklist)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "classify":
                classify = forms.ClassifyForm(request.POST)
                if classify.is_valid():
                    appi.data_incident_classify(actor=request.user, data=data, **classify.cleaned_data)
                    messages.success(request, _("分類と期限を更新しました。"))
                    return redirect("incidents_support_data", pk=pk)
            elif action == "checklist":
                checklist = forms.ChecklistForm(request.POST)
                if checklist.is_valid():
                    appi.data_incident_checklist_set(
                        actor=request.user, data=data, items=checklist.cleaned_data
                    )
                    messages.success(request, _("報告事項を保存しました。"))
                    return redirect("incidents_support_data", pk=pk)
            elif action in ("preliminary", "final"):
                appi.data_incident_report_sent(actor=request.user, data=data, which=action)
                messages.success(request, _("報告済みとして記録しました。"))
                return redirect("incidents_support_data", pk=pk)
            else:
                raise IncidentError(_("操作が正しくありません。"))
        except IncidentError as error:
            messages.error(request, error.message)
        status = 400
    return render(
        request,
        "incidents/support/data_incident.html",
        {
            "data": data,
            "incident": data.incident,
            "triggers": appi.report_triggers(data=data),
            "classify": classify,
            "checklist": checklist,
            "report_items": appi.REPORT_ITEMS,
            "students_count": data.students.count(),
            "acks": selectors.acknowledgements_for(incident=data.incident),
            "signals": data.incident.leak_signals.all()[:50],
        },
        status=status,
    )


def _tenant_data(request: HttpRequest, pk: int) -> DataIncident:
    incident = selectors.incident_get_visible(tenant=request.tenant, incident_id=pk)
    if incident is None or not incident.is_data_incident:
        raise Http404(_("個人データ事案が見つかりません。"))
    return _data(pk)


@login_required
def tenant_data(request: HttpRequest, pk: int) -> HttpResponse:
    """The company admin's view: its affected students, CSV export, and the notice to them."""
    if not request.user.is_tenant_admin:
        return HttpResponseForbidden(_("管理者のみが利用できます。"))
    data = _tenant_data(request, pk)
    rows = AffectedStudent.objects.filter(data_incident=data, tenant=request.tenant)
    form = forms.StudentNoticeForm(
        request.POST or None,
        initial={
            "subject": _("【%(company)s】個人データの漏えい等に関するお知らせ")
            % {"company": request.tenant.name},
            "body": appi.student_notice_default(data=data, tenant=request.tenant),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            count = appi.student_notices_queue(data=data, tenant=request.tenant, **form.cleaned_data)
        except IncidentError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("%(count)s 名の学生への通知を送信しています。") % {"count": count})
            return redirect("incidents_tenant_data", pk=pk)
    return render(
        request,
        "incidents/tenant/data_incident.html",
        {
            "data": data,
            "incident": data.incident,
            "form": form,
            "total": rows.count(),
            "sent": rows.filter(notice_sent_at__isnull=False).count(),
            "failed": rows.exclude(notice_error="").count(),
        },
        status=400 if form.errors else 200,
    )


@login_required
def tenant_data_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The affected students as CSV: every cell neutralised like the candidate export, every download
    audited (the leak checks read the audit log)."""
    if not request.user.is_tenant_admin:
        return HttpResponseForbidden(_("管理者のみが利用できます。"))
    data = _tenant_data(request, pk)
    from candidates.models import Candidate

    rows = AffectedStudent.objects.filter(data_incident=data, tenant=request.tenant)
    ids = [row.candidate_id for row in rows]
    sent = {row.candidate_id: row.notice_sent_at for row in rows}
    keys = {row.candidate_id: row.notice_key for row in rows if row.notice_key}
    delivery = selectors.student_notice_statuses(tenant=request.tenant, keys=list(keys.values()))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="affected-students-{pk}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("学生ID"), _("氏名"), _("メールアドレス"), _("通知日時"), _("配信状況")])
    with schema_context(request.tenant.schema_name):
        exported = list(Candidate.objects.filter(pk__in=ids).order_by("pk"))
        for candidate in exported:
            notice = sent.get(candidate.pk)
            cells = [
                str(candidate.pk),
                candidate.full_name,
                candidate.email,
                f"{timezone.localtime(notice):%Y-%m-%d %H:%M}" if notice else "",
                delivery.get(keys.get(candidate.pk, ""), ""),
            ]
            writer.writerow([neutralise_formula(cell) for cell in cells])
        # i18n: data — audit records are written in the source language
        audit_request(
            request=request,
            action="export",
            student_count=len(exported),
            target=f"個人データ事案 {pk} の対象学生（CSV）",
            candidate_ids=[candidate.pk for candidate in exported],
        )
    return response
