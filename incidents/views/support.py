"""Support staff pages on the public host (TOTP required): incidents, components, maintenance, audit."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.permissions import staff_otp_required
from incidents import forms, selectors
from incidents.errors import IncidentError
from incidents.models import Component, Incident, Maintenance, StaffAuditEntry
from incidents.services import lifecycle, maintenance
from incidents.services.leak import leak_report


def _incident(pk: int) -> Incident:
    incident = Incident.objects.filter(pk=pk).prefetch_related("components", "tenants").first()
    if incident is None:
        raise Http404(_("障害が見つかりません。"))
    return incident


@staff_otp_required
def incident_list(request: HttpRequest) -> HttpResponse:
    form = forms.IncidentCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            incident = lifecycle.incident_create(
                actor=request.user,
                title=data["title"],
                message_ja=data["message_ja"],
                message_en=data["message_en"],
                impact=data["impact"],
                scope=data["scope"],
                tenants=data["tenants"],
                components=data["components"],
                component_status=data["component_status"],
                visibility=data["visibility"],
                is_data_incident=data["is_data_incident"],
            )
        except IncidentError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("障害「%(title)s」を登録しました。") % {"title": incident.title})
            return redirect("incidents_support_detail", pk=incident.pk)
    incidents = Incident.objects.prefetch_related("components").order_by("-created_at")[:200]
    return render(
        request,
        "incidents/support/incident_list.html",
        {"form": form, "incidents": incidents},
        status=400 if form.errors else 200,
    )


@staff_otp_required
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(pk)
    update_form = forms.IncidentUpdateForm(initial={"state": incident.state})
    publish_form = forms.PublishForm()
    postmortem_form = forms.PostmortemForm(initial={"text": incident.postmortem})
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "update":
                update_form = forms.IncidentUpdateForm(request.POST)
                if update_form.is_valid():
                    data = update_form.cleaned_data
                    lifecycle.incident_update_post(
                        actor=request.user,
                        incident=incident,
                        state=data["state"],
                        message_ja=data["message_ja"],
                        message_en=data["message_en"],
                    )
                    messages.success(request, _("経過を投稿しました。"))
                    return redirect("incidents_support_detail", pk=pk)
            elif action == "publish":
                publish_form = forms.PublishForm(request.POST)
                if publish_form.is_valid():
                    lifecycle.incident_publish(
                        actor=request.user,
                        incident=incident,
                        visibility=publish_form.cleaned_data["visibility"],
                    )
                    messages.success(request, _("公開しました。影響を受ける企業に通知しています。"))
                    return redirect("incidents_support_detail", pk=pk)
            elif action == "postmortem":
                postmortem_form = forms.PostmortemForm(request.POST)
                if postmortem_form.is_valid():
                    lifecycle.incident_postmortem_set(
                        actor=request.user, incident=incident, text=postmortem_form.cleaned_data["text"]
                    )
                    messages.success(request, _("事後報告を保存しました。"))
                    return redirect("incidents_support_detail", pk=pk)
            else:
                raise IncidentError(_("操作が正しくありません。"))
        except IncidentError as error:
            messages.error(request, error.message)
        status = 400
    return render(
        request,
        "incidents/support/incident_detail.html",
        {
            "incident": incident,
            "updates": incident.updates.all(),
            "acks": selectors.acknowledgements_for(incident=incident),
            "update_form": update_form,
            "publish_form": publish_form,
            "postmortem_form": postmortem_form,
            "affected": selectors.incident_affected_tenants(incident=incident)[:50],
        },
        status=status,
    )


@staff_otp_required
def component_list(request: HttpRequest) -> HttpResponse:
    form = forms.ComponentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.component_save(actor=request.user, **form.cleaned_data)
        except IncidentError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("機能を保存しました。"))
            return redirect("incidents_support_components")
    return render(
        request,
        "incidents/support/component_list.html",
        {"form": form, "components": Component.objects.all()},
        status=400 if form.errors else 200,
    )


@staff_otp_required
def maintenance_list(request: HttpRequest) -> HttpResponse:
    form = forms.MaintenanceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            maintenance.maintenance_create(actor=request.user, **form.cleaned_data)
        except IncidentError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("メンテナンスを登録しました。"))
            return redirect("incidents_support_maintenance")
    return render(
        request,
        "incidents/support/maintenance_list.html",
        {"form": form, "maintenances": Maintenance.objects.order_by("-starts_at")[:100]},
        status=400 if form.errors else 200,
    )


@staff_otp_required
def audit_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "incidents/support/audit_list.html", {"entries": StaffAuditEntry.objects.all()[:300]}
    )


@staff_otp_required
def leak_report_view(request: HttpRequest) -> HttpResponse:
    form = forms.LeakReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        signal = leak_report(
            tenant=form.cleaned_data["tenant"], actor=request.user, note=form.cleaned_data["note"]
        )
        messages.success(request, _("漏えいの疑いを登録しました。個人データ事案として記録しています。"))
        return redirect("incidents_support_data", pk=signal.incident_id)
    return render(
        request, "incidents/support/leak_report.html", {"form": form}, status=400 if form.errors else 200
    )
