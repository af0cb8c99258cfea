"""The rush path as a lean ASGI application, for uvicorn workers behind the proxy (`/my/rush/` only).

Django's full request cycle (the WSGI worker's pure-Python HTTP parsing, the handler, the middleware chain)
costs more than deciding a seat does. This application parses HTTP in C (uvicorn with httptools) and runs
the rush pipeline (booking/rush/pipeline.py) on the event loop (booking/rush/loop.py: bookings, the rush
page and the waiting room's answer). Everything else (Redis trouble, anything not cached yet) runs the same
pipeline on threads with Django's full request (booking.rush.middleware), as deployments without the split
do. At start-up each process begins to get ready for the seminars about to open (booking/rush/warm.py).
One process per port and core behind the proxy (deploy/layout.py::uvicorn_rush_command: asyncio's loop,
which accepts a backlog at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.exceptions import DisallowedHost  # noqa: E402
from django.core.handlers.asgi import ASGIRequest  # noqa: E402
from django.db import DatabaseError  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.utils import translation  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

# Everything a booking touches, imported now rather than by the first request of the rush on the event loop.
import booking.live  # noqa: E402, F401
import booking.services.bookings  # noqa: E402, F401
import booking.services.confirmations  # noqa: E402, F401
from booking.rush import budgets, pages  # noqa: E402
from booking.rush.answers import answer  # noqa: E402
from booking.rush.loop import (  # noqa: E402
    book_on_loop,
    booking_threads,
    light_threads,
    not_found,
    page_on_loop,
    queue_on_loop,
    returns_connection,
)
from booking.rush.middleware import RushMiddleware  # noqa: E402
from booking.rush.outcomes import busy, unavailable  # noqa: E402
from booking.rush.refresh import refresh_shutdown  # noqa: E402
from booking.rush.request import RushRequest, body_read, language_of  # noqa: E402
from booking.rush.warm import warm_start, warm_stop  # noqa: E402
from tenants.selectors import tenant_for_host  # noqa: E402

_rush = RushMiddleware(lambda request: HttpResponse("Not Found", status=404))
_BOOK = re.compile(r"^/my/rush/(\d{1,12})/book$")
_PAGE = re.compile(r"^/my/rush/(\d{1,12})/$")
_QUEUE = re.compile(r"^/my/rush/(\d{1,12})/queue$")
# 0 serves the rush page on the threads instead (the benchmark's before/after comparison, bench/rush_pages.py).
PAGES_ON_LOOP = os.environ.get("RUSH_PAGES_ON_LOOP", "1") != "0"


@returns_connection
def handle(request: ASGIRequest) -> HttpResponse:
    """One rush request on a pool thread: the company from the host, then the pipeline as under Django."""
    try:
        hostname = request.get_host().split(":")[0]
    except DisallowedHost:
        return not_found()
    tenant = tenant_for_host(hostname=hostname)
    if tenant is None:
        return not_found()
    # A company holds at most its share of this pool's threads (and their database connections).
    with budgets.connections.held(tenant.schema_name) as within:
        if not within:
            return answer(busy())
        try:
            with schema_context(tenant.schema_name):
                return _rush(request)
        except DatabaseError:
            return answer(unavailable())


def _in_language(request: RushRequest) -> contextlib.AbstractContextManager[Any]:
    """The student's language for this request: this task's own (a context variable), activated only when
    it is not the default the task already has. Activating and restoring a language goes through asgiref's
    context-local storage; at an opening that was a seventh of the event loop's time, for the same answer."""
    language = language_of(request)
    if language == settings.LANGUAGE_CODE:
        return contextlib.nullcontext()
    return translation.override(language)


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Before the first connection is accepted (uvicorn binds after the startup completes).
                pages.pages_warm_up()
                warm_start()  # ready for the seminars about to open (booking/rush/warm.py)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                booking_threads.shutdown(wait=False)
                light_threads.shutdown(wait=False)
                refresh_shutdown()
                warm_stop()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = await body_read(receive)
    if body is None:
        return
    started = time.time()
    loop = asyncio.get_running_loop()
    response: HttpResponse | None = None
    booking = _BOOK.match(scope["path"])
    if booking is not None:
        request = RushRequest(scope, body)
        with _in_language(request):
            response = await book_on_loop(request, seminar_id=int(booking[1]), started=started)
    elif PAGES_ON_LOOP and scope["method"] == "GET" and (page := _PAGE.match(scope["path"])) is not None:
        request = RushRequest(scope, body)
        with _in_language(request):
            response = await page_on_loop(request, seminar_id=int(page[1]))
    elif (queue := _QUEUE.match(scope["path"])) is not None:
        request = RushRequest(scope, body)
        with _in_language(request):
            response = await queue_on_loop(request, seminar_id=int(queue[1]))
    if response is None:
        executor = booking_threads if booking is not None else light_threads
        response = await loop.run_in_executor(executor, handle, ASGIRequest(scope, io.BytesIO(body)))
    assert response is not None
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
