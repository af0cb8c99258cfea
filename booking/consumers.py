"""Websocket: live seats left per slot of one seminar, for the signed-in student's rank only."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from booking.live import seats_group
from tenants.websocket import tenant_database_sync_to_async


def _session_token_id(scope: dict[str, Any]) -> int | None:
    """The My Page token id of the socket's session cookie (call inside the tenant's schema)."""
    from django.contrib.sessions.backends.db import SessionStore

    from booking.services.mypage import SESSION_KEY

    raw = ""
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            raw = value.decode("latin-1")
    cookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:
        return None
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None
    return SessionStore(session_key=morsel.value).get(SESSION_KEY)


def seminar_watch(scope: dict[str, Any], seminar_id: int) -> tuple[str, str] | None:
    """(rank, first message) if the socket's student may see this seminar, else None."""
    from booking.selectors import seminar_get_for_rank, seminar_remaining_for_rank
    from booking.services.mypage import mypage_session_candidate

    candidate = mypage_session_candidate(token_id=_session_token_id(scope))
    if candidate is None or seminar_get_for_rank(seminar_id=seminar_id, rank=candidate.rank) is None:
        return None
    counts = seminar_remaining_for_rank(seminar_id=seminar_id, rank=candidate.rank)
    text = json.dumps(
        {"type": "seats", "seminar": seminar_id, "slots": {str(k): v for k, v in counts.items()}}
    )
    return candidate.rank, text


class SeminarSeatsConsumer(AsyncWebsocketConsumer):
    """Joins the group of (tenant, seminar, rank); every push is one pre-encoded frame."""

    group: str | None = None

    async def connect(self) -> None:
        tenant = self.scope["tenant"]
        seminar_id = int(self.scope["url_route"]["kwargs"]["seminar_id"])
        watch = await tenant_database_sync_to_async(tenant, seminar_watch)(self.scope, seminar_id)
        if watch is None:
            await self.close(code=4403)
            return
        rank, first = watch
        self.group = seats_group(tenant=tenant, seminar_id=seminar_id, rank=rank)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=first)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "ping":
            await self.send(text_data="pong")

    async def seats_update(self, message: dict[str, Any]) -> None:
        await self.send(text_data=message["text"])
