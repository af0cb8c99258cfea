"""Websocket consumers: live events pushed to the signed-in people of one company (recruiters here; the My
Page's students in booking/consumers.py, on the same base)."""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.translation import gettext

from notifications.services import RECRUITER_GROUP
from tenants.websocket import session_user, tenant_database_sync_to_async, tenant_group


class PushedEventsConsumer(AsyncJsonWebsocketConsumer):
    """Joins the groups `join` gives (none: refused with 4401) and relays every `event.push` sent to them."""

    groups_joined: tuple[str, ...] = ()

    async def join(self) -> tuple[str, ...]:
        raise NotImplementedError

    async def connect(self) -> None:
        groups = await self.join()
        if not groups:
            await self.close(code=4401)
            return
        self.groups_joined = groups
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "tenant": self.scope["tenant"].slug})

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Anything but a JSON text frame gets an error answer and the socket stays open (Channels' own
        decoding would raise and close it with 1011)."""
        try:
            content = await self.decode_json(text_data) if text_data else None
        except ValueError:
            content = None
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "message": gettext("JSON オブジェクトを送ってください。")})
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def event_push(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])


class RecruiterEventsConsumer(PushedEventsConsumer):
    """Banners and progress pushed to every signed-in recruiter of the tenant."""

    async def join(self) -> tuple[str, ...]:
        tenant = self.scope["tenant"]
        user = await tenant_database_sync_to_async(tenant, session_user)(tenant, self.scope)
        if user is None or not user.is_active:
            return ()
        return (tenant_group(tenant, RECRUITER_GROUP),)
