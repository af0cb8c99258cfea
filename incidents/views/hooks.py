"""Incoming Sentry alert webhooks and the company admin's outgoing webhook settings."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents import forms
from incidents.errors import IncidentError
from incidents.models import WebhookDelivery, WebhookEndpoint
from incidents.services import sentry, webhooks

MAX_BODY = 512 * 1024


@csrf_exempt
@require_POST
def sentry_hook(request: HttpRequest) -> HttpResponse:
    """Verify, store once, queue: Sentry gets its answer in milliseconds, the work runs in the worker."""
    body = request.body
    if len(body) > MAX_BODY:
        return JsonResponse({"error": _("本文が大きすぎます。")}, status=413)
    signature = request.headers.get("Sentry-Hook-Signature", "")
    if not sentry.sentry_signature_valid(
        body=body, signature=signature, secret=sentry.sentry_client_secret()
    ):
        return JsonResponse({"error": _("署名が正しくありません。")}, status=401)
    try:
        payload = json.loads(body)
    except ValueError:
        return JsonResponse({"error": _("JSON を解釈できません。")}, status=400)
    if not isinstance(payload, dict):
        return JsonResponse({"error": _("JSON オブジェクトではありません。")}, status=400)
    resource = request.headers.get("Sentry-Hook-Resource", "")
    if resource == "installation" or not resource:
        return JsonResponse({"status": "ignored"})
    alert = sentry.sentry_alert_receive(resource=resource, payload=payload)
    if alert is None:
        return JsonResponse({"status": "duplicate"})
    from incidents.tasks import sentry_alert_task

    alert_id = alert.pk
    transaction.on_commit(lambda: sentry_alert_task.delay(alert_id=alert_id))
    return JsonResponse({"status": "queued"}, status=202)


@login_required
def tenant_webhooks(request: HttpRequest) -> HttpResponse:
    if not request.user.is_tenant_admin:
        return HttpResponseForbidden(_("管理者のみが利用できます。"))
    form = forms.WebhookForm(request.POST or None)
    new_secret = ""
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = webhooks.webhook_endpoint_create(tenant=request.tenant, url=form.cleaned_data["url"])
        except IncidentError as error:
            form.add_error(None, error.message)
        else:
            # Shown once, in this answer only: never through the messages cookie or a redirect.
            new_secret = endpoint.secret
            form = forms.WebhookForm()
    endpoints = WebhookEndpoint.objects.filter(tenant=request.tenant, is_active=True)
    deliveries = WebhookDelivery.objects.filter(endpoint__tenant=request.tenant).select_related("endpoint")[
        :100
    ]
    response = render(
        request,
        "incidents/tenant/webhooks.html",
        {"form": form, "endpoints": endpoints, "deliveries": deliveries, "new_secret": new_secret},
        status=400 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def tenant_webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    if not request.user.is_tenant_admin:
        return HttpResponseForbidden(_("管理者のみが利用できます。"))
    webhooks.webhook_endpoint_delete(tenant=request.tenant, endpoint_id=pk)
    messages.success(request, _("Webhook を停止しました。"))
    return redirect("incidents_tenant_webhooks")
