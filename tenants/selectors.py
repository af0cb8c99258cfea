"""Reads of tenants and domains."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from cachetools import TTLCache
from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name, schema_context

from tenants.models import Domain, Tenant

# Host → tenant is read on every request and websocket; a short in-process cache keeps it off the database
# on the hot path while a deleted tenant stops resolving within seconds. Both caches are bounded with LRU
# eviction (cachetools), so a flood of made-up host names pushes out only the least used entries instead of
# emptying the cache for everyone. A host found missing is answered from memory for a few seconds, as long
# as no domain was added since: the newest domain id, read at most once a second, is the domains'
# generation (a new company shows everywhere within a second; in the process that created it at once).
_HOST_CACHE_SECONDS = 5.0
_MISSING_SECONDS = 5.0  # also bounds a rename or a rolled-back delete, which keep the newest id
_GENERATION_SECONDS = 1.0
_host_cache: TTLCache[str, Tenant] = TTLCache(maxsize=10_000, ttl=_HOST_CACHE_SECONDS)
_host_missing: TTLCache[str, int] = TTLCache(maxsize=50_000, ttl=_MISSING_SECONDS)
_generation: list[float] = [float("-inf"), -1.0]  # checked at (monotonic), newest domain id
_host_cache_lock = threading.Lock()


def _hostname(hostname: str) -> str:
    return hostname.lower().rstrip(".")


def _domains_generation(*, now: float) -> int:
    """The newest domain id, read again when older than a second."""
    if now - _generation[0] >= _GENERATION_SECONDS:
        with schema_context(get_public_schema_name()):
            newest = Domain.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        with _host_cache_lock:
            _generation[0], _generation[1] = now, float(newest)
    return int(_generation[1])


def tenant_for_host(*, hostname: str) -> Tenant | None:
    hostname = _hostname(hostname)
    with _host_cache_lock:
        tenant = _host_cache.get(hostname)
        missing_at = _host_missing.get(hostname)
    if tenant is not None:
        return tenant
    generation = _domains_generation(now=time.monotonic())
    if missing_at is not None and missing_at == generation:
        return None
    with schema_context(get_public_schema_name()):
        domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
    with _host_cache_lock:
        if domain is not None:
            _host_remember(hostname, domain.tenant)
        else:
            _host_missing[hostname] = generation
    return domain.tenant if domain is not None else None


def tenant_for_host_known(*, hostname: str) -> tuple[bool, Tenant | None]:
    """What this process knows of a host without touching the database: (True, tenant), (True, None) for a
    host known to be missing (and no domain added since), or (False, None) when the database must be asked."""
    hostname = _hostname(hostname)
    with _host_cache_lock:
        tenant = _host_cache.get(hostname)
        missing_at = _host_missing.get(hostname)
        fresh = time.monotonic() - _generation[0] < _GENERATION_SECONDS
    if tenant is not None:
        return True, tenant
    if missing_at is not None and fresh and missing_at == int(_generation[1]):
        return True, None
    return False, None


def hosts_warm(*, schema_names: Iterable[str]) -> int:
    """Resolve every domain of these companies now, with one query, into this process's host cache (their
    entries start their time again); how many. The rush processes keep the companies about to open warm this
    way (booking/rush/warm.py), so no student's request waits for a lookup at the opening second."""
    names = list(schema_names)
    if not names:
        return 0
    with schema_context(get_public_schema_name()):
        domains = list(Domain.objects.select_related("tenant").filter(tenant__schema_name__in=names))
    with _host_cache_lock:
        for domain in domains:
            _host_remember(_hostname(domain.domain), domain.tenant)
    return len(domains)


def _host_remember(hostname: str, tenant: Tenant) -> None:
    """A host resolved to its company (call holding _host_cache_lock): its entry starts its time again."""
    _host_cache[hostname] = tenant
    _host_missing.pop(hostname, None)


def tenant_for_host_cached(*, hostname: str) -> Tenant | None:
    """The tenant if this process resolved the host recently, without touching the database (else None)."""
    return tenant_for_host_known(hostname=hostname)[1]


def host_cache_clear() -> None:
    with _host_cache_lock:
        _host_cache.clear()
        _host_missing.clear()
        _generation[0] = float("-inf")


_TOTP_RULE_SECONDS = 5.0
_totp_rule: dict[int, tuple[bool, float]] = {}


def tenant_totp_required(*, tenant_id: int) -> bool:
    """Whether the company requires TOTP of every recruiter, at most a few seconds old in any process
    (the host cache above keeps Tenant objects for the life of a process, so their field is not used)."""
    now = time.monotonic()
    known = _totp_rule.get(tenant_id)
    if known is not None and now - known[1] < _TOTP_RULE_SECONDS:
        return known[0]
    with schema_context(get_public_schema_name()):
        required = bool(
            Tenant.objects.filter(pk=tenant_id).values_list("recruiter_totp_required", flat=True).first()
        )
    _totp_rule[tenant_id] = (required, now)
    return required


def tenant_totp_required_forget(*, tenant_id: int) -> None:
    _totp_rule.pop(tenant_id, None)


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
