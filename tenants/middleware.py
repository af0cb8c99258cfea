"""HTTP tenant routing: the Host header picks the company's schema; unknown hosts get a plain 404."""

from __future__ import annotations

import sentry_sdk
from django.core.exceptions import DisallowedHost
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from tenants.selectors import tenant_for_host
from tenants.views import unknown_host


class TenantMiddleware(TenantMainMiddleware):
    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        connection.set_schema_to_public()
        try:
            hostname = self.hostname_from_request(request)
        except DisallowedHost:
            return unknown_host(request)
        tenant = tenant_for_host(hostname=hostname)
        if tenant is None:
            return unknown_host(request)
        tenant.domain_url = hostname
        request.tenant = tenant
        connection.set_tenant(tenant)
        self.setup_url_routing(request)
        # Errors are tagged with the company (its schema), never with who was signed in.
        sentry_sdk.set_tag(
            "tenant", tenant.schema_name if tenant.schema_name != get_public_schema_name() else "public"
        )
        return None
