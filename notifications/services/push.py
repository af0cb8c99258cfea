"""Sending: websocket pushes to a tenant's recruiters (e-mail and webhooks join here)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tenants.models import Tenant
from tenants.websocket import tenant_group

RECRUITER_GROUP = "recruiters"


def recruiters_push(*, tenant: Tenant, event: dict[str, Any]) -> None:
    """Push one JSON event to every signed-in recruiter of this tenant (and of no other)."""
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(
        tenant_group(tenant, RECRUITER_GROUP), {"type": "event.push", "event": event}
    )
