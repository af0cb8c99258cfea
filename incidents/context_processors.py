"""Template context of every page on a company's host: the banners of its active incidents.

Recruiters' pages show every open incident and running maintenance affecting the company; the My Page shows
students a plain notice while booking is affected. templates/_banners.html draws them, static/js/events.js
keeps them live over the page's websocket (recruiters: /ws/events/, students: /ws/my/events/).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import translation
from django_redis import get_redis_connection
from django_tenants.utils import get_public_schema_name, schema_context

from accounts.context_processors import MYPAGE_PREFIX, is_workspace_request
from incidents.banners import Audience, Banner, banners_for
from tenants.models import Tenant

logger = logging.getLogger(__name__)

STUDENT_CACHE_KEY = "incidents:student-banners"
STUDENT_CACHE_SECONDS = 15


def student_cache_key(language: str | None) -> str:
    """The cached My Page banners of one language (the source language keeps the plain key)."""
    if not language or language == settings.LANGUAGE_CODE:
        return STUDENT_CACHE_KEY
    return f"{STUDENT_CACHE_KEY}:{language}"


def incident_banners(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return {}
    if request.path.startswith(MYPAGE_PREFIX):
        return {"incident_banners": student_banners(tenant=tenant), "events_socket": "/ws/my/events/"}
    if not is_workspace_request(request):
        return {}
    return {
        "incident_banners": banners_for(tenant=tenant, audience=Audience.RECRUITERS),
        "events_socket": "/ws/events/",
    }


def student_banners(*, tenant: Tenant) -> list[Banner]:
    """The students' banners of the current company (call on its host or in its schema context).

    Read on every My Page view and by the rush page (also while many students book at once): cached briefly;
    the cache key carries the tenant's schema. A new incident reaches an open page by push meanwhile.
    """
    # One copy per language: a banner's words are put in the reader's language when it is built.
    key = student_cache_key(translation.get_language())
    banners = cache.get(key)
    if banners is None:
        banners = banners_for(tenant=tenant, audience=Audience.STUDENTS)
        cache.set(key, banners, STUDENT_CACHE_SECONDS)
    return banners


def student_banners_forget(*, tenants: Iterable[Tenant]) -> None:
    """Drop these companies' cached My Page banners (an incident changed): the next page load reads afresh."""
    keys = []
    for tenant in tenants:
        with schema_context(tenant.schema_name):  # no query: the cache key carries the schema name
            keys += [cache.make_key(student_cache_key(code)) for code, _name in settings.LANGUAGES]
    if not keys:
        return
    try:
        get_redis_connection("default").delete(*keys)
    except Exception:  # noqa: BLE001 - the banner then shows within STUDENT_CACHE_SECONDS; pushes still go
        logger.warning("student banner cache not cleared")
