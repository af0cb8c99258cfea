"""Websocket tenant routing: the Host picks the company, the Origin must match it, every DB call runs in its schema."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any, TypeVar

import sentry_sdk
from channels.db import database_sync_to_async
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Tenant
from tenants.selectors import tenant_for_host, tenant_for_host_known

T = TypeVar("T")


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class TenantWebsocketMiddleware:
    """Resolve `scope["tenant"]` from the Host header; refuse unknown hosts and foreign origins."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        host = _header(scope, b"host") or ""
        origin = _header(scope, b"origin")
        hostname, _port = split_domain_port(host)
        if not hostname or not validate_host(hostname, settings.ALLOWED_HOSTS):
            return await _refuse(receive, send)
        # Same-origin only, to the letter: scheme, host and port of the page that opened the socket.
        if origin is None or origin not in (f"http://{host}", f"https://{host}"):
            return await _refuse(receive, send)
        # The process's host cache first: a thread hop per socket (with its database clean-up) cost more
        # than the rest of the connect when thousands of students opened their pages at once.
        known, tenant = tenant_for_host_known(hostname=hostname)
        if not known:
            tenant = await database_sync_to_async(tenant_for_host)(hostname=hostname)
        if tenant is None:
            return await _refuse(receive, send)
        scope = dict(scope, tenant=tenant)
        sentry_sdk.set_tag("tenant", tenant.schema_name)
        return await self.app(scope, receive, send)


async def _refuse(receive: Callable, send: Callable) -> None:
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 4403})


def tenant_database_sync_to_async(tenant: Tenant, func: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """Run `func` on Channels' database thread inside the tenant's schema, whatever that thread ran before."""

    @functools.wraps(func)
    def inside_schema(*args: Any, **kwargs: Any) -> T:
        with schema_context(tenant.schema_name):
            return func(*args, **kwargs)

    return database_sync_to_async(inside_schema)


def tenant_group(tenant: Tenant, name: str) -> str:
    """Channel-layer group names carry the tenant id, so a group of company A never reaches company B."""
    return f"t{tenant.pk}.{name}"


def session_user(tenant: Tenant, scope: dict[str, Any]):
    """The signed-in user of this tenant for the socket's session cookie, or None (call inside the schema)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.crypto import constant_time_compare

    if tenant.schema_name == get_public_schema_name():
        return None
    raw = _header(scope, b"cookie") or ""
    cookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:
        return None
    morsel = cookie.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None
    with schema_context(tenant.schema_name):
        session = SessionStore(session_key=morsel.value)
        user_id = session.get(SESSION_KEY)
        backend_path = session.get(BACKEND_SESSION_KEY)
        if user_id is None or backend_path not in settings.AUTHENTICATION_BACKENDS:
            return None
        user = load_backend(backend_path).get_user(user_id)
        if user is None:
            return None
        session_hash = session.get(HASH_SESSION_KEY)
        if not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
            return None
        return user
