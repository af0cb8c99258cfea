"""The rush path as a lean ASGI application, for uvicorn workers behind the proxy (`/my/rush/` only).

Django's full request cycle (the WSGI worker's pure-Python HTTP parsing, the handler, the middleware chain)
costs more than deciding a seat does. This application parses HTTP in C (uvicorn with httptools and uvloop),
builds the same Django request object, resolves the company from the host exactly as the tenant middleware
does, and calls the same rush views (booking/rush/views.py) on a small thread pool, where the Redis call and,
for winners, the PostgreSQL write block without holding up the event loop. Deployments without the split
keep answering /my/rush/ through Django (booking.rush.middleware), with the same code deciding.

Run: `uvicorn booking.rush.asgi:application --workers 2 --loop uvloop --http httptools --no-access-log`.
"""

from __future__ import annotations

import asyncio
import io
import os
from concurrent.futures import ThreadPoolExecutor

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

import django  # noqa: E402

django.setup()

from django.core.exceptions import DisallowedHost  # noqa: E402
from django.core.handlers.asgi import ASGIRequest  # noqa: E402
from django.db import DatabaseError, connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402

from booking.rush.middleware import RushMiddleware  # noqa: E402
from tenants.selectors import tenant_for_host  # noqa: E402

THREADS = int(os.environ.get("RUSH_THREADS", "8"))
MAX_BODY = 16 * 1024

_pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="rush")
# Pages, places in line and health checks never wait behind bookings that are writing to PostgreSQL.
_light = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rush-light")
_rush = RushMiddleware(lambda request: HttpResponse("Not Found", status=404))


def _not_found() -> HttpResponse:
    return HttpResponse("Not Found", status=404, content_type="text/plain; charset=utf-8")


def handle(request: ASGIRequest) -> HttpResponse:
    """One rush request, on a pool thread: the company from the host, then the same views as under Django."""
    try:
        try:
            hostname = request.get_host().split(":")[0]
        except DisallowedHost:
            return _not_found()
        tenant = tenant_for_host(hostname=hostname)
        if tenant is None:
            return _not_found()
        connection.set_tenant(tenant)
        try:
            return _rush(request)
        except DatabaseError:
            from booking.rush.views import _unavailable

            return _unavailable()
    finally:
        if connection.connection is not None:
            # Back to the pool: this thread may not touch the database again for a while.
            connection.close()


async def _read_body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return b""
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _pool.shutdown(wait=False)
                _light.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = await _read_body(receive)
    if body is None:
        return
    request = ASGIRequest(scope, io.BytesIO(body))
    loop = asyncio.get_running_loop()
    executor = _pool if scope["path"].endswith("/book") else _light
    response = await loop.run_in_executor(executor, handle, request)
    headers = [(b"content-type", response["Content-Type"].encode("latin-1"))]
    for name, value in response.items():
        if name.lower() not in ("content-type", "content-length"):
            headers.append((name.encode("latin-1"), str(value).encode("latin-1")))
    for cookie in response.cookies.values():
        headers.append((b"set-cookie", cookie.output(header="").strip().encode("latin-1")))
    content = response.content
    headers.append((b"content-length", str(len(content)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": content})
