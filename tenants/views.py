"""Tenant pages: the unknown-host page and the support staff's provisioning pages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from accounts.permissions import staff_otp_required
from tenants import selectors, services
from tenants.errors import TenantError
from tenants.forms import TenantCreateForm, TenantDeleteForm


def unknown_host(request: HttpRequest) -> HttpResponse:
    # Plain and static on purpose: nothing of the public site or of any company. This runs before
    # LocaleMiddleware: the language comes from the request itself (its cookie, else Accept-Language).
    with translation.override(translation.get_language_from_request(request)):
        language, text = translation.get_language(), _("ページが見つかりません")
    return HttpResponseNotFound(
        f'<!doctype html><html lang="{language}"><meta charset="utf-8"><title>404</title>'
        f"<p>{escape(text)} (404 Not Found)</p></html>",
        content_type="text/html; charset=utf-8",
    )


def public_home(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/public_home.html")


@staff_otp_required
def support_tenant_list(request: HttpRequest) -> HttpResponse:
    form = TenantCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.tenant_create(**form.cleaned_data, actor=request.user)
        except TenantError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("「%(company)s」を作成しました（%(seconds).1f 秒）。%(email)s に招待メールを送りました。")
                % {
                    "company": created.tenant.name,
                    "seconds": created.seconds,
                    "email": created.tenant.admin_email,
                },
            )
            return redirect("support_tenant_list")
    return render(
        request, "tenants/support_tenant_list.html", {"form": form, "tenants": selectors.tenant_list()}
    )


@staff_otp_required
def support_tenant_delete(request: HttpRequest, slug: str) -> HttpResponse:
    try:
        tenant = selectors.tenant_get(slug=slug)
    except services.Tenant.DoesNotExist:
        return unknown_host(request)
    form = TenantDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            path = services.tenant_delete(
                tenant=tenant, confirm_slug=form.cleaned_data["confirm_slug"], actor=request.user
            )
        except TenantError as error:
            form.add_error("confirm_slug", error.message)
        else:
            messages.success(
                request,
                _("「%(company)s」を削除しました。エクスポート: %(file)s")
                % {"company": tenant.name, "file": path.name},
            )
            return redirect("support_tenant_list")
    return render(request, "tenants/support_tenant_delete.html", {"form": form, "tenant": tenant})
