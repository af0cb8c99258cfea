"""Template context for the My Page: a plain service notice while an incident affects booking."""

from __future__ import annotations

from django.core.cache import cache
from django.http import HttpRequest

NOTICE_SECONDS = 15


def service_notice(request: HttpRequest) -> dict[str, str | None]:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == "public" or not request.path.startswith("/my/"):
        return {}
    # Read on every My Page view (also during a rush): cached briefly, the key carries the tenant.
    notice = cache.get("booking:service-notice", default=False)
    if notice is False:
        from notifications.notices import service_notice_for

        notice = service_notice_for(tenant=tenant)
        cache.set("booking:service-notice", notice, NOTICE_SECONDS)
    return {"service_notice": notice}
