"""Students' unsubscribe page: a confirm button (GET) and the RFC 8058 one-click POST on the company's host."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications.errors import UnsubscribeTokenError
from notifications.services.unsubscribe import unsubscribe_apply, unsubscribe_token_read
from tenants.selectors import current_schema


@csrf_exempt  # the signed token in the URL is the credential; mail clients POST without a session (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    schema_name = current_schema()
    try:
        if request.method == "POST":
            unsubscribe_apply(token=token, schema_name=schema_name)
            return render(request, "notifications/unsubscribe.html", {"done": True, "tenant": request.tenant})
        unsubscribe_token_read(token=token, schema_name=schema_name)
    except UnsubscribeTokenError as error:
        return render(
            request,
            "notifications/unsubscribe.html",
            {"error": str(error), "tenant": request.tenant},
            status=400,
        )
    return render(request, "notifications/unsubscribe.html", {"token": token, "tenant": request.tenant})
