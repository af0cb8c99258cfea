"""Subscriptions: create (the secret returned once), change, deactivate, rotate the secret."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from saas import egress, webhook_signature
from webhooks.errors import WebhookError
from webhooks.models import EventType, Subscription

MAX_SUBSCRIPTIONS = 10


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: Subscription
    secret: str  # shown once; stored sealed


def _url_checked(url: str) -> str:
    url = url.strip()
    try:
        egress.destination_check(url)
    except egress.DestinationRefused as refused:
        raise WebhookError(_(refused.message)) from refused
    return url


def _events_checked(events: Iterable[str]) -> list[str]:
    wanted = sorted(set(events))
    if not wanted:
        raise WebhookError(_("イベントを1つ以上選んでください。"))
    unknown = [event for event in wanted if event not in EventType.values]
    if unknown:
        raise WebhookError(_("不明なイベントです: %(events)s") % {"events": ", ".join(unknown)})
    return wanted


@transaction.atomic
def subscription_create(
    *, url: str, events: Iterable[str], description: str = "", user: User | None
) -> CreatedSubscription:
    """A new subscription; its destination must be public (checked again at every delivery)."""
    checked_url = _url_checked(url)
    wanted = _events_checked(events)
    if Subscription.objects.filter(is_active=True).count() >= MAX_SUBSCRIPTIONS:
        raise WebhookError(_("Webhook は %(count)d 件まで登録できます。") % {"count": MAX_SUBSCRIPTIONS})
    secret = webhook_signature.secret_new()
    subscription = Subscription.objects.create(
        url=checked_url, events=wanted, description=description.strip()[:100], secret=secret, created_by=user
    )
    return CreatedSubscription(subscription=subscription, secret=secret)


@transaction.atomic
def subscription_update(
    *,
    subscription_id: int,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
) -> Subscription:
    subscription = Subscription.objects.select_for_update().get(pk=subscription_id, is_active=True)
    fields = []
    if url is not None:
        subscription.url = _url_checked(url)
        fields.append("url")
    if events is not None:
        subscription.events = _events_checked(events)
        fields.append("events")
    if description is not None:
        subscription.description = description.strip()[:100]
        fields.append("description")
    if fields:
        subscription.save(update_fields=fields)
    return subscription


@transaction.atomic
def subscription_secret_rotate(*, subscription_id: int) -> CreatedSubscription:
    """A new secret, returned once; deliveries from now on are signed with it."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription_id, is_active=True)
    secret = webhook_signature.secret_new()
    subscription.secret = secret
    subscription.save(update_fields=["secret"])
    return CreatedSubscription(subscription=subscription, secret=secret)


@transaction.atomic
def subscription_deactivate(*, subscription_id: int) -> Subscription:
    """Stop sending to it (its delivery log stays); pending deliveries are not attempted any more."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
    if subscription.is_active:
        subscription.is_active = False
        subscription.save(update_fields=["is_active"])
    return subscription
