"""Websockets of the My Page: live seats per slot of one seminar (for the student's rank), and pushes to the
open My Page (incident notices, offers)."""

from __future__ import annotations

import json
import time
from http.cookies import SimpleCookie
from typing import Any

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from booking.fanout import fanout_join, fanout_leave, newest
from booking.live import seats_group
from notifications.consumers import PushedEventsConsumer
from tenants.selectors import current_schema
from tenants.websocket import tenant_database_sync_to_async, tenant_group


def _session_token_id(scope: dict[str, Any]) -> int | None:
    """The My Page token id of the socket's session cookie (call inside the tenant's schema)."""
    from django.contrib.sessions.backends.db import SessionStore

    from booking.services.mypage import SESSION_KEY

    session_key = _cookie(scope, settings.SESSION_COOKIE_NAME)
    if session_key is None:
        return None
    return SessionStore(session_key=session_key).get(SESSION_KEY)


def _cookie(scope: dict[str, Any], name: str) -> str | None:
    raw = ""
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            raw = value.decode("latin-1")
    cookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:
        return None
    morsel = cookie.get(name)
    return morsel.value if morsel is not None else None


def _watcher_rank(scope: dict[str, Any], seminar_id: int) -> str | None:
    """The rank of the socket's student: from the signed rush pass (no query), else from the session."""

    from booking.rush.passes import STUDENT_COOKIE, student_pass_read
    from booking.rush.state import seminar_state
    from booking.selectors import seminar_get_for_rank
    from booking.services.mypage import mypage_session_candidate

    student = student_pass_read(schema=current_schema(), value=_cookie(scope, STUDENT_COOKIE))
    if student is not None:
        state = seminar_state(schema=current_schema(), seminar_id=seminar_id)
        if state is None or not state.open_to(student):
            return None
        return student.rank
    candidate = mypage_session_candidate(token_id=_session_token_id(scope))
    if (
        candidate is None
        or seminar_get_for_rank(seminar_id=seminar_id, rank=candidate.rank, candidate=candidate) is None
    ):
        return None
    return candidate.rank


# The first message of a new socket: the counts of its seminar and rank, computed at most once a second per
# process, so thousands of students opening the page in the same second cost one query, not thousands.
FIRST_SECONDS = 1.0
_first: dict[tuple[str, int, str], tuple[float, str]] = {}


def _first_cached(schema: str, seminar_id: int, rank: str) -> str | None:
    found = _first.get((schema, seminar_id, rank))
    return found[1] if found is not None and found[0] > time.monotonic() else None


def seminar_watch(scope: dict[str, Any], seminar_id: int) -> tuple[str, str] | None:
    """(rank, first message) if the socket's student may see this seminar, else None."""

    from booking.selectors import seminar_remaining_for_rank

    rank = _watcher_rank(scope, seminar_id)
    if rank is None:
        return None
    key = (current_schema(), seminar_id, rank)
    text = _first_cached(*key)
    if text is None:
        as_of = round(time.time(), 4)
        counts = seminar_remaining_for_rank(seminar_id=seminar_id, rank=rank)
        text = json.dumps(
            {
                "type": "seats",
                "seminar": seminar_id,
                "slots": {str(k): v for k, v in counts.items()},
                "at": as_of,
            }
        )
        if len(_first) > 10_000:
            _first.clear()
        _first[key] = (time.monotonic() + FIRST_SECONDS, text)
    return rank, text


def seminar_watch_fast(scope: dict[str, Any], schema: str, seminar_id: int) -> tuple[str, str] | None:
    """The same answer without a thread or a query, when the rush pass and this process's caches suffice."""
    from booking.rush.passes import STUDENT_COOKIE, student_pass_read
    from booking.rush.state import seminar_state_cached

    student = student_pass_read(schema=schema, value=_cookie(scope, STUDENT_COOKIE))
    if student is None:
        return None
    state = seminar_state_cached(schema=schema, seminar_id=seminar_id)
    if state is None or not state.open_to(student):
        return None
    text = _first_cached(schema, seminar_id, student.rank)
    return (student.rank, text) if text is not None else None


class SeminarSeatsConsumer(AsyncWebsocketConsumer):
    """Joins this process's local group of (tenant, seminar, rank); pushes arrive via booking/fanout.py."""

    group: str | None = None
    # No channel of its own on the channel layer: the pushes come through booking/fanout.py. Channels would
    # subscribe (and at the close unsubscribe) one Redis channel per socket, under channels_redis' shard
    # lock; get_channel_layer() gives None for an alias that names no layer.
    channel_layer_alias = "none"

    async def connect(self) -> None:
        tenant = self.scope["tenant"]
        seminar_id = int(self.scope["url_route"]["kwargs"]["seminar_id"])
        watch = seminar_watch_fast(self.scope, tenant.schema_name, seminar_id)
        if watch is None:
            watch = await tenant_database_sync_to_async(tenant, seminar_watch)(self.scope, seminar_id)
        if watch is None:
            await self.close(code=4403)
            return
        rank, first = watch
        self.group = seats_group(tenant=tenant, seminar_id=seminar_id, rank=rank)
        await self.accept()
        # Joined first, then the newest counts known here: no push can fall between the two.
        await fanout_join(self.group, self)
        await self.send(text_data=newest(self.group, first))

    async def disconnect(self, code: int) -> None:
        if self.group:
            fanout_leave(self.group, self)

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its database clean-up before every message.

        AsyncConsumer.dispatch closes stale database connections on a worker thread before each message: one
        thread hop per connect and per disconnect, seconds of CPU when thousands of watchers arrive or leave
        at once. This consumer reaches the database only through database_sync_to_async, which does that
        clean-up itself around the call.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == "ping":
            await self.send(text_data="pong")


def _student_id(scope: dict[str, Any]) -> int | None:
    """The signed-in My Page student of the socket's session (call inside the tenant's schema)."""
    from booking.services.mypage import mypage_session_candidate

    candidate = mypage_session_candidate(token_id=_session_token_id(scope))
    return candidate.pk if candidate is not None else None


class StudentEventsConsumer(PushedEventsConsumer):
    """Pushes to an open My Page: the company's incident notices and offers meant for this student."""

    async def join(self) -> tuple[str, ...]:
        from notifications.services import STUDENT_GROUP, student_group

        tenant = self.scope["tenant"]
        candidate_id = await tenant_database_sync_to_async(tenant, _student_id)(self.scope)
        if candidate_id is None:
            return ()
        return (tenant_group(tenant, STUDENT_GROUP), student_group(tenant, candidate_id))
