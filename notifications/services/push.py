"""Sending: websocket pushes to a company's recruiters or its students on an open My Page (one company, or many
at once for banners), and to one student."""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tenants.models import Tenant
from tenants.websocket import tenant_group

RECRUITER_GROUP = "recruiters"
STUDENT_GROUP = "students"


def student_group(tenant: Tenant, candidate_id: int) -> str:
    """The group of one student's open My Pages (offers meant for them alone)."""
    return tenant_group(tenant, f"student.{int(candidate_id)}")


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
    _push_many(groups=[tenant_group(tenant, RECRUITER_GROUP) for tenant in tenants], event=event)


def students_push_many(*, tenants: list[Tenant], event: dict[str, Any]) -> None:
    """One JSON event to every open My Page of these companies (and of no other)."""
    _push_many(groups=[tenant_group(tenant, STUDENT_GROUP) for tenant in tenants], event=event)


def student_push(*, tenant: Tenant, candidate_id: int, event: dict[str, Any]) -> None:
    """One JSON event to this student's open My Pages only."""
    _push_many(groups=[student_group(tenant, candidate_id)], event=event)


def _push_many(*, groups: list[str], event: dict[str, Any]) -> None:
    if not groups:
        return
    layer = get_channel_layer()
    message = {"type": "event.push", "event": event}
    if len(groups) == 1:
        async_to_sync(layer.group_send)(groups[0], message)
        return

    async def send_all() -> None:
        await asyncio.gather(*(layer.group_send(group, message) for group in groups))

    async_to_sync(send_all)()
