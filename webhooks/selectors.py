"""Reads of the webhooks app: subscriptions and a subscription's delivery log."""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.models import Delivery, Subscription

DELIVERY_LOG_LIMIT = 100


def subscription_list(*, active_only: bool = True) -> QuerySet[Subscription]:
    subscriptions = Subscription.objects.all()
    return subscriptions.filter(is_active=True) if active_only else subscriptions


def subscription_get(*, subscription_id: int) -> Subscription:
    """Raises Subscription.DoesNotExist (another company's id is simply not here)."""
    return Subscription.objects.get(pk=subscription_id)


def delivery_list(*, subscription_id: int, limit: int = DELIVERY_LOG_LIMIT) -> list[Delivery]:
    """The latest deliveries of one subscription, newest first, with their event's type (not its body)."""
    return list(
        Delivery.objects.filter(subscription_id=subscription_id)
        .select_related("event")
        .defer("event__payload")
        .order_by("-id")[:limit]
    )
