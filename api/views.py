"""The API tokens page: an admin creates a token (its secret shown once), sees when each was used, revokes."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.permissions import ADMINS, role_required, staff_otp_required
from api.errors import ApiProblem
from api.models import COMPANY_SCOPES, STAFF_SCOPES, ApiToken, Scope
from api.selectors import token_list
from api.services import token_create, token_revoke


@never_cache  # the page that shows a new secret is never kept by a browser or proxy
@role_required(*ADMINS)
def tokens_view(request: HttpRequest) -> HttpResponse:
    """A company's tokens (its admins)."""
    return _tokens_page(request, allowed=COMPANY_SCOPES, back="api_tokens")


@never_cache
@staff_otp_required
def staff_tokens_view(request: HttpRequest) -> HttpResponse:
    """Support staff's tokens for the platform API (public schema, second factor required)."""
    return _tokens_page(request, allowed=STAFF_SCOPES, back="api_staff_tokens")


def _tokens_page(request: HttpRequest, *, allowed: tuple[str, ...], back: str) -> HttpResponse:
    created_secret = ""
    status = 200
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            try:
                token_revoke(token_id=int(request.POST.get("token", "0") or 0))
            except (ValueError, ApiToken.DoesNotExist):
                messages.error(request, _("トークンが見つかりません。"))
            else:
                messages.success(request, _("トークンを失効させました。"))
            return redirect(back)
        try:
            created = token_create(
                name=request.POST.get("name", ""),
                scopes=request.POST.getlist("scopes"),
                days=int(request.POST.get("days", "90") or 90),
                user=request.user,  # type: ignore[arg-type]
                allowed=allowed,
            )
            created_secret = created.secret
        except (ApiProblem, ValueError) as error:
            messages.error(request, getattr(error, "detail", _("入力が正しくありません。")))
            status = 400
    return render(
        request,
        "api/tokens.html",
        {
            "tokens": token_list(),
            "scopes": [(value, label) for value, label in Scope.choices if value in allowed],
            "created_secret": created_secret,
            "staff": back == "api_staff_tokens",
        },
        status=status,
    )
