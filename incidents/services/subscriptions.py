"""Recruiters' per-component e-mail subscriptions."""

from __future__ import annotations

from django.db import transaction

from incidents.models import Component, ComponentSubscription
from tenants.models import Tenant


@transaction.atomic
def subscriptions_set(*, tenant: Tenant, user_id: int, component_ids: list[int]) -> list[int]:
    valid = set(Component.objects.filter(pk__in=component_ids).values_list("pk", flat=True))
    ComponentSubscription.objects.filter(tenant=tenant, user_id=user_id).exclude(
        component_id__in=valid
    ).delete()
    ComponentSubscription.objects.bulk_create(
        [ComponentSubscription(tenant=tenant, user_id=user_id, component_id=pk) for pk in valid],
        ignore_conflicts=True,
    )
    return sorted(valid)
