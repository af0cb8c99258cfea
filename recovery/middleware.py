"""A company whose data is being restored answers with a maintenance page; every other company is untouched.

Which companies are being restored is read from the public schema once a second by a thread of each
process, never on a request: a request only looks at a set in memory, so the check costs the other
companies nothing, and a database that is away never slows a page down through it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext, gettext_noop

logger = logging.getLogger("recovery")
REFRESH_SECONDS = 1.0
RETRY_AFTER_SECONDS = 30
MESSAGE = gettext_noop(
    "データ復元のため、ただいまこの企業のページはメンテナンス中です。完了まで今しばらくお待ちください。"
    "状況はステータスページでお知らせしています。"
)

_restoring: frozenset[str] = frozenset()
_watcher_lock = threading.Lock()
_watcher: threading.Thread | None = None


def _restoring_read() -> frozenset[str]:
    from recovery.models import RestoreState, TenantRestore

    try:
        return frozenset(
            TenantRestore.objects.filter(state=RestoreState.RUNNING).values_list(
                "tenant__schema_name", flat=True
            )
        )
    finally:
        connection.close()


def _watch() -> None:
    global _restoring
    while True:
        try:
            _restoring = _restoring_read()
        except Exception:  # database away (or not reachable from this thread): keep what we knew
            pass
        time.sleep(REFRESH_SECONDS)


def restoring_schemas() -> frozenset[str]:
    """The schemas being restored, as this process last saw them (at most about a second old)."""
    global _watcher
    if _watcher is None:
        with _watcher_lock:
            if _watcher is None:
                _watcher = threading.Thread(target=_watch, name="tenant-restore-watch", daemon=True)
                _watcher.start()
    return _restoring


def maintenance_response(request: HttpRequest) -> HttpResponse:
    # Ahead of LocaleMiddleware: the language comes from the request itself (its cookie, else Accept-Language).
    with translation.override(translation.get_language_from_request(request)):
        return _maintenance_response(request)


def _maintenance_response(request: HttpRequest) -> HttpResponse:
    if "application/json" in request.headers.get("Accept", "") or request.path.startswith("/my/rush/"):
        response: HttpResponse = JsonResponse(
            {"ok": False, "code": "maintenance", "message": gettext(MESSAGE)}, status=503
        )
    else:
        # The same standalone page as a database outage: no session, user or database needed to render it.
        body = render_to_string("503.html", {"message": gettext(MESSAGE), "retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(body, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class TenantMaintenanceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if (
            tenant is not None
            and tenant.schema_name != "public"
            and tenant.schema_name in restoring_schemas()
        ):
            return maintenance_response(request)
        return self.get_response(request)
