"""Tenant pages: the unknown-host page and the support staff's provisioning pages."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render

from accounts.permissions import staff_otp_required
from tenants import selectors, services
from tenants.errors import TenantError
from tenants.forms import TenantCreateForm, TenantDeleteForm


def unknown_host(request: HttpRequest) -> HttpResponse:
    # Plain and static on purpose: nothing of the public site or of any company.
    return HttpResponseNotFound(
        '<!doctype html><html lang="ja"><meta charset="utf-8"><title>404</title>'
        "<p>ページが見つかりません (404 Not Found)</p></html>",
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
                f"「{created.tenant.name}」を作成しました（{created.seconds:.1f} 秒）。"
                f"{created.tenant.admin_email} に招待メールを送りました。",
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
            messages.success(request, f"「{tenant.name}」を削除しました。エクスポート: {path.name}")
            return redirect("support_tenant_list")
    return render(request, "tenants/support_tenant_delete.html", {"form": form, "tenant": tenant})
