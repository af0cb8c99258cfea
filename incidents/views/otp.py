"""Support staff's second factor: TOTP set-up (QR code) and verification (the decorator: accounts.permissions)."""

from __future__ import annotations

import segno
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from incidents.forms import EnrolCodeForm, TokenForm
from incidents.services import staff_enrol
from incidents.services.audit import staff_audit


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/support/incidents/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return "/support/incidents/"
    return target


def _staff_or_login(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), "login")
    if not request.user.is_staff:
        return HttpResponseForbidden(_("サポート担当者のみが利用できます。"))
    return None


def otp_setup(request: HttpRequest) -> HttpResponse:
    refused = _staff_or_login(request)
    if refused:
        return refused
    user = request.user
    if TOTPDevice.objects.devices_for_user(user, confirmed=True).exists():
        return redirect(f"/support/otp/verify/?next={_next(request)}")
    if not staff_enrol.enrol_verified(session=request.session, user=user):
        return _enrol_code(request, user)
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first() or TOTPDevice.objects.create(
        user=user, name=_("認証アプリ"), confirmed=False
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            staff_enrol.enrol_finished(session=request.session)
            staff_audit(actor=user, action="staff.otp_setup")
            return redirect(_next(request))
        form.add_error("token", _("確認コードが正しくありません。認証アプリの時刻を確認してください。"))
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return render(
        request,
        "incidents/support/otp_setup.html",
        {"form": form, "qr_svg": qr_svg, "next": _next(request), "secret": _base32(device.bin_key)},
        status=400 if form.errors else 200,
    )


def _enrol_code(request: HttpRequest, user) -> HttpResponse:
    """Before the first authenticator: the code mailed to the account proves the mailbox, not just the password."""
    resend = request.method == "POST" and "resend" in request.POST
    form = EnrolCodeForm(request.POST if request.method == "POST" and not resend else None)
    if form.is_bound and form.is_valid():
        if staff_enrol.enrol_code_check(session=request.session, user=user, code=form.cleaned_data["code"]):
            return redirect(f"/support/otp/setup/?next={_next(request)}")
        form.add_error(
            "code", _("確認コードが正しくないか、期限が切れています。新しいコードを送ってください。")
        )
    sent = False
    if request.method == "GET" or resend:
        sent = staff_enrol.enrol_code_send(session=request.session, user=user)
    return render(
        request,
        "incidents/support/otp_enrol.html",
        {"form": form, "next": _next(request), "sent": sent},
        status=400 if form.errors else 200,
    )


def _base32(key: bytes) -> str:
    import base64

    return base64.b32encode(key).decode().rstrip("=")


def otp_verify(request: HttpRequest) -> HttpResponse:
    refused = _staff_or_login(request)
    if refused:
        return refused
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            staff_audit(actor=request.user, action="staff.otp_verify")
            return redirect(_next(request))
        form.add_error("token", _("確認コードが正しくありません。"))
    return render(
        request,
        "incidents/support/otp_verify.html",
        {"form": form, "next": _next(request)},
        status=400 if form.errors else 200,
    )
