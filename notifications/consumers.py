"""Websocket consumers: live events for signed-in recruiters of one company."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from notifications.services import RECRUITER_GROUP
from tenants.websocket import session_user, tenant_database_sync_to_async, tenant_group


class RecruiterEventsConsumer(AsyncJsonWebsocketConsumer):
    """Banners and progress pushed to every signed-in recruiter of the tenant."""

    async def connect(self) -> None:
        tenant = self.scope["tenant"]
        user = await tenant_database_sync_to_async(tenant, session_user)(tenant, self.scope)
        if user is None or not user.is_active:
            await self.close(code=4401)
            return
        self.group = tenant_group(tenant, RECRUITER_GROUP)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "tenant": tenant.slug})

    async def disconnect(self, code: int) -> None:
        group = getattr(self, "group", None)
        if group:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def event_push(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
