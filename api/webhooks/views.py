"""The webhooks settings page: a company admin subscribes URLs to events, reads each delivery log, redelivers."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.models import User
from accounts.permissions import ADMINS, role_required
from api.webhooks.services import (
    webhook_redeliver,
    webhook_secret_rotate,
    webhook_subscribe,
    webhook_unsubscribe,
)
from candidates.services.audit import client_ip
from webhooks.errors import WebhookError
from webhooks.models import Delivery, EventType, Subscription
from webhooks.selectors import delivery_list, subscription_list


def _number(value: str | None) -> int:
    try:
        return int(value or "0")
    except ValueError:
        return 0


@never_cache  # the page that shows a new secret is never kept by a browser or proxy
@role_required(*ADMINS)
def webhooks_view(request: HttpRequest) -> HttpResponse:
    """Subscriptions (GET), and the page's actions: create, delete, new secret, redeliver (POST)."""
    user: User = request.user  # type: ignore[assignment]  # role_required: a signed-in admin
    ip = client_ip(request=request)
    secret, status = "", 200
    if request.method == "POST":
        action = request.POST.get("action", "create")
        try:
            if action == "create":
                created = webhook_subscribe(
                    url=request.POST.get("url", ""),
                    events=request.POST.getlist("events"),
                    description=request.POST.get("description", ""),
                    user=user,
                    ip=ip,
                )
                secret = created.secret
                messages.success(request, _("Webhook を登録しました。"))
            elif action == "delete":
                webhook_unsubscribe(
                    subscription_id=_number(request.POST.get("subscription")), user=user, ip=ip
                )
                messages.success(request, _("Webhook を削除しました。"))
                return redirect("api_webhooks")
            elif action == "rotate":
                secret = webhook_secret_rotate(
                    subscription_id=_number(request.POST.get("subscription")),
                    user=user,
                    ip=ip,
                ).secret
                messages.success(request, _("署名用シークレットを作り直しました。"))
            elif action == "redeliver":
                delivery = webhook_redeliver(
                    delivery_id=_number(request.POST.get("delivery")), user=user, ip=ip
                )
                messages.success(request, _("再送を受け付けました。"))
                return redirect(f"{request.path}?log={delivery.subscription_id}")
        except WebhookError as error:
            messages.error(request, error.message)
            status = 400
        except (Subscription.DoesNotExist, Delivery.DoesNotExist):
            messages.error(request, _("Webhook が見つかりません。"))
            status = 404
    log_id = _number(request.GET.get("log"))
    log_subscription = subscription_list(active_only=False).filter(pk=log_id).first() if log_id else None
    return render(
        request,
        "webhooks/settings.html",
        {
            "subscriptions": subscription_list(),
            "event_types": EventType.choices,
            "secret": secret,
            "log_subscription": log_subscription,
            "deliveries": delivery_list(subscription_id=log_id) if log_subscription else [],
        },
        status=status,
    )
