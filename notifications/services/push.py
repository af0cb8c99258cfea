"""Sending: websocket pushes to a company's recruiters (one company, or many at once for banners)."""

from __future__ import annotations

import asyncio
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


def recruiters_push_many(*, tenants: list[Tenant], event: dict[str, Any]) -> None:
    """`recruiters_push` for many companies in one event loop: one PUBLISH each, sent concurrently.

    Same group names and message as recruiters_push (one call per company would open a loop and a Redis
    connection per company: seconds for a thousand companies).
    """
    if len(tenants) <= 1:
        for tenant in tenants:
            recruiters_push(tenant=tenant, event=event)
        return
    layer = get_channel_layer()
    message = {"type": "event.push", "event": event}

    async def send_all() -> None:
        await asyncio.gather(
            *(layer.group_send(tenant_group(tenant, RECRUITER_GROUP), message) for tenant in tenants)
        )

    async_to_sync(send_all)()
