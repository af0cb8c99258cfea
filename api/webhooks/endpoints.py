"""The company API's webhook operations: subscriptions (the secret shown once), delivery logs, redelivery."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Path, Query, Router, Schema, Status
from pydantic import Field

from api import schemas
from api.auth import WEBHOOKS_MANAGE
from api.docs import code_samples
from api.errors import ApiProblem
from api.idempotency import idempotent
from api.texts import gettext_lazy
from api.webhooks.services import webhook_change, webhook_redeliver, webhook_subscribe, webhook_unsubscribe
from candidates.services.audit import client_ip
from webhooks.errors import WebhookError
from webhooks.models import Delivery, EventType, Subscription
from webhooks.selectors import delivery_list, subscription_get, subscription_list

router = Router(tags=["webhooks"])
BASE = "https://acme.example.jp/api/v1"
AUTH = '-H "Authorization: Bearer $SAIYO_TOKEN"'
EventName = Annotated[str, Field(max_length=40, pattern=schemas.NO_NUL)]


class SubscriptionOut(Schema):
    id: int
    url: str
    description: str
    events: list[str]
    is_active: bool
    created_at: schemas.Timestamp
    # Only in the answer that creates the subscription (never stored in clear, never shown again).
    secret: str | None = None


class SubscriptionIn(Schema):
    url: str = schemas.text(
        max_length=500, description=gettext_lazy("送信先（https://…、インターネット上の宛先のみ）")
    )
    events: list[EventName] = Field(..., min_length=1, max_length=len(EventType.values))
    description: str = schemas.text(max_length=100)


class SubscriptionPatch(Schema):
    url: str | None = Field(None, max_length=500, pattern=schemas.NO_NUL)
    events: list[EventName] | None = Field(None, min_length=1, max_length=len(EventType.values))
    description: str | None = Field(None, max_length=100, pattern=schemas.NO_NUL)


class DeliveryOut(Schema):
    id: int
    message_id: str
    event_type: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str
    created_at: schemas.Timestamp
    last_attempt_at: schemas.Timestamp | None
    next_attempt_at: schemas.Timestamp | None
    delivered_at: schemas.Timestamp | None


class DeliveryQuery(Schema):
    limit: int = Field(50, ge=1, le=100)


def _body(subscription: Subscription, *, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": subscription.pk,
        "url": subscription.url,
        "description": subscription.description,
        "events": subscription.events,
        "is_active": subscription.is_active,
        # As text: an idempotent answer is kept as JSON for a retry.
        "created_at": timezone.localtime(subscription.created_at).isoformat(),
        "secret": secret,
    }


def _delivery(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.pk,
        "message_id": delivery.message_id,
        "event_type": delivery.event.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
        "last_attempt_at": delivery.last_attempt_at,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
    }


def _active(subscription_id: int) -> Subscription:
    try:
        subscription = subscription_get(subscription_id=subscription_id)
    except Subscription.DoesNotExist:
        raise ApiProblem("not_found", _("Webhook が見つかりません。")) from None
    if not subscription.is_active:
        raise ApiProblem("not_found", _("Webhook が見つかりません。"))
    return subscription


# i18n: data — the docs' curl examples, Japanese and English side by side (as in api/docs.py)
_EXAMPLES: dict[str, tuple[str, str, str]] = {
    "webhooks_list": (
        "Webhook の一覧",
        "Webhook subscriptions",
        f"{AUTH} {BASE}/webhooks",
    ),
    "webhooks_create": (
        "予約と取消を受け取る URL を登録",
        "Receive bookings and cancellations at a URL",
        f'{AUTH} -H "Idempotency-Key: 5d1f0c2e" -H "Content-Type: application/json" '
        f'-d \'{{"url": "https://hr.example.jp/hooks/saiyo", "events": ["booking.created", "booking.cancelled"]}}\' '
        f"{BASE}/webhooks",
    ),
    "webhooks_update": (
        "受け取るイベントを変える",
        "Change the events a subscription receives",
        f'{AUTH} -X PATCH -H "Content-Type: application/json" -d \'{{"events": ["incident.*"]}}\' {BASE}/webhooks/4',
    ),
    "webhooks_delete": (
        "Webhook #4 を削除",
        "Delete subscription #4",
        f"{AUTH} -X DELETE {BASE}/webhooks/4",
    ),
    "webhooks_deliveries": (
        "Webhook #4 の配信ログ",
        "Delivery log of subscription #4",
        f'{AUTH} "{BASE}/webhooks/4/deliveries?limit=20"',
    ),
    "webhooks_redeliver": (
        "配信 #120 を再送",
        "Redeliver delivery #120",
        f"{AUTH} -X POST {BASE}/webhooks/deliveries/120/redeliver",
    ),
}


def _examples(operation: str) -> dict[str, Any]:
    ja, en, arguments = _EXAMPLES[operation]
    return code_samples(ja=ja, en=en, arguments=arguments)


@router.get(
    "/webhooks",
    response={200: list[SubscriptionOut], **schemas.PROBLEMS},
    auth=WEBHOOKS_MANAGE,
    summary=gettext_lazy("Webhook の一覧 / List webhook subscriptions"),
    openapi_extra=_examples("webhooks_list"),
)
def webhooks_list(request: HttpRequest) -> Any:
    return [_body(subscription) for subscription in subscription_list()]


@router.post(
    "/webhooks",
    response={200: SubscriptionOut, 201: SubscriptionOut, **schemas.PROBLEMS, 409: schemas.Problem},
    auth=WEBHOOKS_MANAGE,
    summary=gettext_lazy(
        "Webhook の登録（secret はこの応答でだけ返ります） / Subscribe a URL (the secret is returned once)"
    ),
    openapi_extra=_examples("webhooks_create"),
)
def webhooks_create(request: HttpRequest, payload: SubscriptionIn) -> Any:
    shown: dict[str, str] = {}

    def work() -> tuple[int, dict[str, Any]]:
        try:
            created = webhook_subscribe(
                url=payload.url,
                events=payload.events,
                description=payload.description,
                user=request.auth.created_by,
                ip=client_ip(request=request),
            )
        except WebhookError as error:
            raise ApiProblem("validation", error.message) from None
        shown["secret"] = created.secret
        # What is kept for a retry with the same Idempotency-Key holds no secret.
        return 201, _body(created.subscription)

    status, body = idempotent(request, work)
    return Status(status, {**body, "secret": shown.get("secret")})


@router.patch(
    "/webhooks/{subscription_id}",
    response={200: SubscriptionOut, **schemas.PROBLEMS},
    auth=WEBHOOKS_MANAGE,
    summary=gettext_lazy("Webhook の変更 / Change a subscription"),
    openapi_extra=_examples("webhooks_update"),
)
def webhooks_update(
    request: HttpRequest,
    payload: SubscriptionPatch,
    subscription_id: int = Path(..., ge=1, le=schemas.MAX_ID),
) -> Any:
    subscription = _active(subscription_id)
    try:
        changed = webhook_change(
            subscription_id=subscription.pk,
            user=request.auth.created_by,
            ip=client_ip(request=request),
            url=payload.url,
            events=payload.events,
            description=payload.description,
        )
    except WebhookError as error:
        raise ApiProblem("validation", error.message) from None
    return _body(changed)


@router.delete(
    "/webhooks/{subscription_id}",
    response={204: None, **schemas.PROBLEMS},
    auth=WEBHOOKS_MANAGE,
    summary=gettext_lazy("Webhook の削除（配信ログは残ります） / Delete a subscription (its log stays)"),
    openapi_extra=_examples("webhooks_delete"),
)
def webhooks_delete(request: HttpRequest, subscription_id: int = Path(..., ge=1, le=schemas.MAX_ID)) -> Any:
    subscription = _active(subscription_id)
    webhook_unsubscribe(
        subscription_id=subscription.pk, user=request.auth.created_by, ip=client_ip(request=request)
    )
    return Status(204, None)


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response={200: list[DeliveryOut], **schemas.PROBLEMS},
    auth=WEBHOOKS_MANAGE,
    summary=gettext_lazy("配信ログ（新しい順） / Delivery log, newest first"),
    openapi_extra=_examples("webhooks_deliveries"),
)
def webhooks_deliveries(
    request: HttpRequest,
    query: Query[DeliveryQuery],
    subscription_id: int = Path(..., ge=1, le=schemas.MAX_ID),
) -> Any:
    try:
        subscription = subscription_get(subscription_id=subscription_id)
    except Subscription.DoesNotExist:
        raise ApiProblem("not_found", _("Webhook が見つかりません。")) from None
    return [
        _delivery(delivery) for delivery in delivery_list(subscription_id=subscription.pk, limit=query.limit)
    ]


@router.post(
    "/webhooks/deliveries/{delivery_id}/redeliver",
    response={202: DeliveryOut, **schemas.PROBLEMS},
    auth=WEBHOOKS_MANAGE,
    summary=gettext_lazy(
        "再送（同じ webhook-id で今すぐ1回） / Redeliver now (same webhook-id, one attempt)"
    ),
    openapi_extra=_examples("webhooks_redeliver"),
)
def webhooks_redeliver(request: HttpRequest, delivery_id: int = Path(..., ge=1, le=schemas.MAX_ID)) -> Any:
    try:
        delivery = webhook_redeliver(
            delivery_id=delivery_id, user=request.auth.created_by, ip=client_ip(request=request)
        )
    except Delivery.DoesNotExist:
        raise ApiProblem("not_found", _("配信が見つかりません。")) from None
    delivery = Delivery.objects.select_related("event").defer("event__payload").get(pk=delivery.pk)
    return Status(202, _delivery(delivery))
