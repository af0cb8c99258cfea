"""Recruiter sign-in (optional TOTP, throttled), home, recruiter management and TOTP set-up."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import throttle
from accounts.errors import AccountError
from accounts.forms import InviteForm, TenantAuthenticationForm, ThrottledAuthenticationForm
from accounts.models import Role, User
from accounts.permissions import ADMINS, EVERYONE, role_required
from accounts.services import (
    recruiter_invite,
    recruiter_update,
    tenant_totp_requirement_set,
    totp_device_confirm,
    totp_device_pending,
    totp_device_remove,
)
from tenants.selectors import tenant_totp_required


class ThrottledLoginView(auth_views.LoginView):
    """Sign-in with repeated failures throttled per account and client (accounts/throttle.py)."""

    template_name = "accounts/login.html"
    authentication_form = ThrottledAuthenticationForm

    def form_valid(self, form):
        response = super().form_valid(form)
        if form.attempt is not None:
            throttle.signin_succeeded(form.attempt, request=self.request, response=response)
        return response

    def form_invalid(self, form):
        response = super().form_invalid(form)
        # Throttled: 429 so scripts and monitoring see it; the page still explains in Japanese.
        if any(error.code == "throttled" for error in form.errors.as_data().get("__all__", [])):
            response.status_code = 429
        return response


class TenantLoginView(ThrottledLoginView):
    redirect_authenticated_user = True
    authentication_form = TenantAuthenticationForm


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html", {"tenant": request.tenant})


class _Refused(Exception):
    """The invitation form has errors of its own: they are shown beside its fields."""


@role_required(*ADMINS)
def recruiters_view(request: HttpRequest) -> HttpResponse:
    status = 200
    invite_form = InviteForm(request.POST if request.POST.get("action") == "invite" else None)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "totp_required":
                tenant_totp_requirement_set(
                    tenant=request.tenant,
                    required=request.POST.get("required") == "1",
                    acting=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, _("2段階認証の設定を更新しました。"))
            elif request.POST.get("action") == "invite":
                if not invite_form.is_valid():
                    raise _Refused
                try:
                    user = recruiter_invite(**invite_form.cleaned_data, tenant=request.tenant)
                except AccountError as error:
                    invite_form.add_error("email", error.message)  # the address taken, shown beside it
                    raise _Refused from error
                messages.success(request, _("%(email)s に招待メールを送りました。") % {"email": user.email})
            else:
                recruiter_update(
                    user_id=int(request.POST.get("user", "0") or 0),
                    role=request.POST.get("role", ""),
                    is_active=request.POST.get("is_active") == "1",
                    acting=request.user,  # type: ignore[arg-type]
                )
                messages.success(request, _("担当者を更新しました。"))
            return redirect("candidates:recruiters")
        except _Refused:
            status = 400
        except (AccountError, ValueError) as error:
            messages.error(request, getattr(error, "message", _("入力が正しくありません。")))
            status = 400
    return render(
        request,
        "accounts/recruiters.html",
        {
            "invite_form": invite_form,
            "users": User.objects.order_by("email"),
            "roles": Role.choices,
            "totp_required": tenant_totp_required(tenant_id=request.tenant.pk),
        },
        status=status,
    )


@role_required(*EVERYONE)
def otp_setup_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    status = 200
    if request.method == "POST":
        token = request.POST.get("token", "")
        if request.POST.get("action") == "remove":
            try:
                totp_device_remove(user=user, token=token, tenant=request.tenant)  # type: ignore[arg-type]
            except AccountError as error:
                messages.error(request, error.message)
                status = 400
            else:
                messages.success(request, _("2段階認証を解除しました。"))
                return redirect("candidates:otp_setup")
        elif totp_device_confirm(user=user, token=token):  # type: ignore[arg-type]
            device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
            if device is not None:
                otp_login(request, device)  # this session has passed the second factor
            messages.success(request, _("2段階認証を有効にしました。次回から確認コードが必要です。"))
            return redirect("candidates:otp_setup")
        else:
            messages.error(request, _("確認コードが正しくありません。"))
            status = 400
    enabled = user_has_device(user, confirmed=True)
    qr_svg = ""
    if not enabled:
        device = totp_device_pending(user=user)  # type: ignore[arg-type]
        qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    context = {
        "enabled": enabled,
        "qr_svg": qr_svg,
        "required": tenant_totp_required(tenant_id=request.tenant.pk),
    }
    return render(request, "accounts/otp_setup.html", context, status=status)
