"""Audited management of a company's webhooks: every change a recruiter makes leaves an audit entry."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from django.db import transaction

from accounts.models import User
from candidates.services.audit import audit_record
from tenants.selectors import current_schema
from webhooks.events import dispatch_soon
from webhooks.models import Delivery, Subscription
from webhooks.services.delivery import delivery_redeliver
from webhooks.services.subscriptions import (
    CreatedSubscription,
    subscription_create,
    subscription_deactivate,
    subscription_secret_rotate,
    subscription_update,
)


def _target(subscription: Subscription) -> str:
    # The host only: a receiver's path or query may carry its own secret.
    return f"webhook #{subscription.pk} {urlsplit(subscription.url).hostname or ''}"


@transaction.atomic
def webhook_subscribe(
    *, url: str, events: Iterable[str], description: str, user: User | None, ip: str | None
) -> CreatedSubscription:
    created = subscription_create(url=url, events=events, description=description, user=user)
    audit_record(
        user=user, action="webhook_create", student_count=0, target=_target(created.subscription), ip=ip
    )
    return created


@transaction.atomic
def webhook_change(
    *,
    subscription_id: int,
    user: User | None,
    ip: str | None,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
) -> Subscription:
    subscription = subscription_update(
        subscription_id=subscription_id, url=url, events=events, description=description
    )
    audit_record(user=user, action="webhook_update", student_count=0, target=_target(subscription), ip=ip)
    return subscription


@transaction.atomic
def webhook_unsubscribe(*, subscription_id: int, user: User | None, ip: str | None) -> Subscription:
    subscription = subscription_deactivate(subscription_id=subscription_id)
    audit_record(user=user, action="webhook_delete", student_count=0, target=_target(subscription), ip=ip)
    return subscription


@transaction.atomic
def webhook_secret_rotate(*, subscription_id: int, user: User | None, ip: str | None) -> CreatedSubscription:
    rotated = subscription_secret_rotate(subscription_id=subscription_id)
    audit_record(
        user=user, action="webhook_secret", student_count=0, target=_target(rotated.subscription), ip=ip
    )
    return rotated


def webhook_redeliver(*, delivery_id: int, user: User | None, ip: str | None) -> Delivery:
    """Send one delivery again now (after the commit, through the company's run)."""
    with transaction.atomic():
        delivery = delivery_redeliver(delivery_id=delivery_id)
        audit_record(
            user=user,
            action="webhook_redeliver",
            student_count=0,
            target=f"webhook #{delivery.subscription_id} {delivery.message_id}",
            ip=ip,
        )
        schema = current_schema()
        transaction.on_commit(lambda: dispatch_soon(schema))
    return delivery
