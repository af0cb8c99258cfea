"""A company that requires the second factor: a recruiter whose session has not passed one sets it up first."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from tenants.selectors import tenant_totp_required

SETUP_PATH = "/accounts/otp/"
# The set-up page itself, signing out, and what those pages need.
_OPEN_PREFIXES = (SETUP_PATH, "/logout/", "/login/", "/static/", "/i18n/")


class TotpRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        user = getattr(request, "user", None)
        # Only sessions that have not passed a second factor pay the one query for the company's rule.
        if (
            tenant is not None
            and user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(_OPEN_PREFIXES)
            and tenant_totp_required(tenant_id=tenant.pk)
        ):
            return redirect(SETUP_PATH)
        return self.get_response(request)
