"""Role checks: the recruiters' workspace (admin, recruiter edits students, viewer reads, interviewer sees
only the students they interview or evaluate: selection.selectors decides which) and support staff's pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role

EDITORS = (Role.ADMIN, Role.RECRUITER)
ADMINS = (Role.ADMIN,)
EVERYONE = (Role.ADMIN, Role.RECRUITER, Role.VIEWER)
# Pages every signed-in member of the company may open; what they show is narrowed by role.
STAFF = (Role.ADMIN, Role.RECRUITER, Role.VIEWER, Role.INTERVIEWER)
# Who may fill in an evaluation form (viewers read evaluations, never write them).
EVALUATORS = (Role.ADMIN, Role.RECRUITER, Role.INTERVIEWER)


def forbidden(request: HttpRequest, message: str | None = None) -> HttpResponse:
    message = message or _("この操作を行う権限がありません。")
    return render(request, "accounts/forbidden.html", {"message": message}, status=403)


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Signed in on this company's host with one of `roles`, else the login page or a 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            # Support staff (public schema users) never reach tenant data through this path.
            if not user.is_active or user.role not in roles:
                return forbidden(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def staff_otp_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Support staff only, and only after the TOTP second factor of this session."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "login")
        if not user.is_staff:
            return HttpResponseForbidden(_("サポート担当者のみが利用できます。"))
        if not user.is_verified():
            target = (
                "incidents_otp_verify"
                if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
                else "incidents_otp_setup"
            )
            return redirect(f"{redirect(target).url}?next={request.get_full_path()}")
        return view(request, *args, **kwargs)

    return wrapper
