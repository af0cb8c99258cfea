"""Reads of tenants and domains."""

from __future__ import annotations

import threading
import time

from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Domain, Tenant

# Host → tenant is read on every request and websocket; a short in-process cache keeps it off
# the database on the hot path while a deleted tenant stops resolving within seconds.
_HOST_CACHE_SECONDS = 5.0
_host_cache: dict[str, tuple[float, Tenant | None]] = {}
_host_cache_lock = threading.Lock()


def tenant_for_host(*, hostname: str) -> Tenant | None:
    hostname = hostname.lower().rstrip(".")
    now = time.monotonic()
    cached = _host_cache.get(hostname)
    if cached is not None and cached[0] > now:
        return cached[1]
    with schema_context(get_public_schema_name()):
        domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    tenant = domain.tenant if domain is not None else None
    with _host_cache_lock:
        if len(_host_cache) > 10_000:
            _host_cache.clear()
        _host_cache[hostname] = (now + _HOST_CACHE_SECONDS, tenant)
    return tenant


def tenant_for_host_cached(*, hostname: str) -> Tenant | None:
    """The tenant if this process resolved the host recently, without touching the database (else None)."""
    cached = _host_cache.get(hostname.lower().rstrip("."))
    return cached[1] if cached is not None and cached[0] > time.monotonic() else None


def host_cache_clear() -> None:
    with _host_cache_lock:
        _host_cache.clear()


def tenant_all() -> QuerySet[Tenant]:
    """Every company (never the public schema): the one query behind every "all companies" read."""
    tenants: QuerySet[Tenant] = Tenant.objects.exclude(schema_name=get_public_schema_name())
    return tenants


def tenant_list() -> QuerySet[Tenant]:
    return tenant_all().prefetch_related("domains")


def tenant_get(*, slug: str) -> Tenant:
    return tenant_all().get(slug=slug)


def tenant_primary_domain(*, tenant: Tenant) -> str:
    domain = tenant.domains.filter(is_primary=True).first()
    return domain.domain if domain is not None else ""


def current_schema() -> str:
    """The company schema the connection is in (django-tenants sets it; the type stubs cannot know it)."""
    return str(connection.schema_name)  # type: ignore[attr-defined]
