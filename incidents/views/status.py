"""Status pages and feeds: public (status.<BASE_DOMAIN>) and per company (<tenant>/status/)."""

from __future__ import annotations

import nh3
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from markdown_it import MarkdownIt

from incidents import forms, selectors
from incidents.errors import IncidentError
from incidents.feeds import IncidentFeed
from incidents.models import ComponentStatus, ComponentSubscription
from incidents.services import feedkeys, notify
from incidents.services.leak import leak_foreign_token, leak_report
from tenants.models import Tenant

_markdown = MarkdownIt("commonmark")


def render_markdown(text: str) -> str:
    return nh3.clean(_markdown.render(text or ""))


def _context(tenant: Tenant | None) -> dict:
    return {
        "components": selectors.status_overview(tenant=tenant),
        "legend": ComponentStatus.choices,  # the bars' colours
        "current": selectors.incidents_current(tenant=tenant),
        "recent": selectors.incidents_recent(tenant=tenant)[:20],
        "maintenances": selectors.maintenances_upcoming(tenant=tenant),
    }


def status_or_home(request: HttpRequest) -> HttpResponse:
    """The public host's root: the status page on status.<BASE_DOMAIN>, the landing page otherwise."""
    if request.get_host().split(":")[0].lower() == settings.STATUS_DOMAIN:
        return public_status(request)
    from tenants.views import public_home

    return public_home(request)


def public_status(request: HttpRequest) -> HttpResponse:
    return render(request, "incidents/status.html", _context(None) | {"feed_url": "/feed.atom"})


def public_incident(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_visible(tenant=None, incident_id=pk)
    if incident is None:
        raise Http404(_("障害が見つかりません。"))
    return render(
        request,
        "incidents/incident_detail.html",
        {
            "incident": incident,
            "updates": incident.updates.all(),
            "postmortem": render_markdown(incident.postmortem),
        },
    )


def public_feed(request: HttpRequest) -> HttpResponse:
    return IncidentFeed()(request)


def tenant_feed(request: HttpRequest) -> HttpResponse:
    """Readable by signed-in users, or by a feed reader holding the company's signed key."""
    tenant = request.tenant
    key = request.GET.get("key", "")
    allowed = request.user.is_authenticated
    if not allowed and key:
        allowed = feedkeys.feed_key_valid(tenant=tenant, key=key)
    if not allowed:
        return HttpResponseForbidden(_("フィードを読むにはログインするか、フィード用 URL を使ってください。"))
    request.feed_tenant = tenant
    return IncidentFeed()(request)


@login_required
def tenant_status(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    subscribed = set(
        ComponentSubscription.objects.filter(tenant=tenant, user_id=request.user.pk).values_list(  # type: ignore[misc]
            "component_id", flat=True
        )
    )
    return render(
        request,
        "incidents/status.html",
        _context(tenant)
        | {
            "tenant_page": True,
            "subscribed": subscribed,
            "feed_url": f"/status/feed.atom?key={feedkeys.feed_key_issue(tenant=tenant)}",
            "feed_key_days": feedkeys.FEED_KEY_DAYS,
            "leak_form": forms.TenantLeakReportForm(),
        },
    )


@login_required
@require_POST
def tenant_feed_keys_revoke(request: HttpRequest) -> HttpResponse:
    if not request.user.is_tenant_admin:
        return HttpResponseForbidden(_("管理者のみが利用できます。"))
    feedkeys.feed_keys_revoke(tenant=request.tenant, actor=request.user)
    messages.success(
        request, _("これまでのフィード用 URL をすべて無効にしました。新しい URL をお使いください。")
    )
    return redirect("incidents_tenant_status")


@login_required
def tenant_incident(request: HttpRequest, pk: int) -> HttpResponse:
    incident = selectors.incident_get_visible(tenant=request.tenant, incident_id=pk)
    if incident is None:
        raise Http404(_("障害が見つかりません。"))
    ack = incident.acknowledgements.filter(tenant=request.tenant).first()
    return render(
        request,
        "incidents/incident_detail.html",
        {
            "incident": incident,
            "updates": incident.updates.all(),
            "postmortem": render_markdown(incident.postmortem),
            "tenant_page": True,
            "ack": ack,
        },
    )


@login_required
@require_POST
def tenant_incident_ack(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_tenant_admin:
        return HttpResponseForbidden(_("受領確認は管理者のみが行えます。"))
    incident = selectors.incident_get_visible(tenant=request.tenant, incident_id=pk)
    if incident is None:
        raise Http404(_("障害が見つかりません。"))
    try:
        notify.incident_acknowledge(
            incident=incident, tenant=request.tenant, by=request.user.email, via="banner"
        )
    except IncidentError as error:
        messages.error(request, error.message)
        return redirect("incidents_tenant_incident", pk=pk)
    messages.success(request, _("受領を確認しました。ありがとうございます。"))
    return redirect("incidents_tenant_incident", pk=pk)


def ack_by_token(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mail link: shows a confirmation button (GET never changes anything), records on POST."""
    try:
        incident_id, tenant_id = notify.ack_token_read(token=token)
    except IncidentError as error:
        return render(request, "incidents/tenant/ack.html", {"error": error.message}, status=400)
    if tenant_id != request.tenant.pk:
        owner = Tenant.objects.filter(pk=tenant_id).first()
        if owner is not None:
            leak_foreign_token(owner=owner, presented_on=request.tenant, what="incident-ack-link")
        raise Http404(_("確認用リンクが見つかりません。"))
    incident = selectors.incident_get_visible(tenant=request.tenant, incident_id=incident_id)
    if incident is None:
        raise Http404(_("確認用リンクが見つかりません。"))
    ack = incident.acknowledgements.filter(tenant=request.tenant).first()
    if request.method == "POST":
        by = request.user.email if request.user.is_authenticated else "e-mail link"
        ack = notify.incident_acknowledge(incident=incident, tenant=request.tenant, by=by, via="email")
    return render(request, "incidents/tenant/ack.html", {"incident": incident, "ack": ack})


@login_required
@require_POST
def tenant_subscriptions(request: HttpRequest) -> HttpResponse:
    from incidents.services.subscriptions import subscriptions_set

    ids = [int(value) for value in request.POST.getlist("component") if value.isdigit()]
    subscriptions_set(tenant=request.tenant, user_id=request.user.pk, component_ids=ids)  # type: ignore[arg-type]
    messages.success(request, _("通知を受け取る機能を保存しました。"))
    return redirect("incidents_tenant_status")


@login_required
@require_POST
def tenant_leak_report(request: HttpRequest) -> HttpResponse:
    form = forms.TenantLeakReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("内容を入力してください（1,000 文字以内）。"))
        return redirect("incidents_tenant_status")
    leak_report(tenant=request.tenant, actor=f"tenant-user:{request.user.pk}", note=form.cleaned_data["note"])
    messages.success(request, _("ご報告ありがとうございます。サポートが直ちに確認します。"))
    return redirect("incidents_tenant_status")
