"""PostgreSQL away: a 503 "try again in a few seconds" page (or JSON) instead of a 500, never a traceback.

`server_error` is the handler500 of both URL confs. Django calls it for any uncaught exception, also one
raised in a middleware before URL resolution (tenant host lookup, sessions), while sys.exc_info() still
holds the exception; a database that cannot be reached gets the 503, every other error the usual 500.html.
"""

from __future__ import annotations

import logging
import sys

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext, gettext_noop
from django.views import defaults
from psycopg_pool import PoolTimeout

# The msgid (a plain str, for the rush path's answers too): pages and JSON say gettext(UNAVAILABLE_MESSAGE).
UNAVAILABLE_MESSAGE = gettext_noop(
    "ただいま混み合っているか、一時的にご利用いただけません。数秒後にもう一度お試しください。"
    "予約の順番待ちの位置は保持されています。"
)
RETRY_AFTER_SECONDS = 5

# Connection refused or lost, pool exhausted or timed out, server shutting down: all worth a retry.
# Not IntegrityError, DataError or ProgrammingError: those are bugs or bad input and stay a 500.
_UNAVAILABLE_ERRORS = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    PoolTimeout,
)

logger = logging.getLogger(__name__)


def database_unavailable(error: BaseException | None) -> bool:
    """True when the error (or what caused it) says the database cannot be reached right now."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, _UNAVAILABLE_ERRORS):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.GET.get("format") == "json"


def _route(request: HttpRequest) -> str:
    """The URL pattern, not the path: a path may carry a personal link token."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
        except (Resolver404, ValueError):
            return "-"
    return "/" + match.route


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 answer; touches neither the database nor the session (both may be what is down)."""
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {"ok": False, "code": "unavailable", "message": gettext(UNAVAILABLE_MESSAGE)}, status=503
        )
    else:
        # No request in the context: the context processors read the session and the database.
        body = render_to_string(
            "503.html", {"message": gettext(UNAVAILABLE_MESSAGE), "retry_after": RETRY_AFTER_SECONDS}
        )
        response = HttpResponse(body, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    patch_vary_headers(response, ["Accept"])
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a 503 when the database is away, Django's plain 500.html otherwise."""
    error = sys.exc_info()[1]
    if not database_unavailable(error):
        return defaults.server_error(request)
    root = error
    for _ in range(10):  # the driver's error under Django's wrapper
        if root.__cause__ is None:
            break
        root = root.__cause__
    # One line, no body, cookies, query string or path (a link token may be in it); Sentry still gets the event.
    logger.error(
        "database unavailable: %s %s answered 503 (%s, tenant %s)",
        request.method,
        _route(request),
        type(root).__name__,
        getattr(getattr(request, "tenant", None), "schema_name", "-"),
    )
    response = unavailable_response(request)
    # Django's own "Internal Server Error" log line would add the whole traceback.
    response._has_been_logged = True
    return response
