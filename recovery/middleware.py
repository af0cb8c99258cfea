"""A company whose data is being restored answers with a maintenance page; every other company is untouched.

The running restores are read from the public schema at most once a second per process (not per request),
so the cost for the other companies is one small query a second, whatever the traffic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

REFRESH_SECONDS = 1.0
RETRY_AFTER_SECONDS = 30
MESSAGE = (
    "データ復元のため、ただいまこの企業のページはメンテナンス中です。完了まで今しばらくお待ちください。"
    "状況はステータスページでお知らせしています。"
)

_lock = threading.Lock()
_state: dict[str, object] = {"at": -1e9, "schemas": frozenset()}


def restoring_schemas() -> frozenset[str]:
    now = time.monotonic()
    if now - float(_state["at"]) < REFRESH_SECONDS:
        return _state["schemas"]  # type: ignore[return-value]
    with _lock:
        if now - float(_state["at"]) >= REFRESH_SECONDS:
            from recovery.models import RestoreState, TenantRestore

            try:
                schemas = frozenset(
                    TenantRestore.objects.filter(state=RestoreState.RUNNING).values_list(
                        "tenant__schema_name", flat=True
                    )
                )
            except DatabaseError:
                schemas = _state["schemas"]  # the database being away is the 503 handler's business
            _state.update(at=now, schemas=schemas)
    return _state["schemas"]  # type: ignore[return-value]


def maintenance_response(request: HttpRequest) -> HttpResponse:
    if "application/json" in request.headers.get("Accept", "") or request.path.startswith("/my/rush/"):
        response: HttpResponse = JsonResponse(
            {"ok": False, "code": "maintenance", "message": MESSAGE}, status=503
        )
    else:
        # The same standalone page as a database outage: no session, user or database needed to render it.
        body = render_to_string("503.html", {"message": MESSAGE, "retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(body, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class TenantMaintenanceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is not None and tenant.schema_name in restoring_schemas():
            return maintenance_response(request)
        return self.get_response(request)
