"""The JavaScript catalogue (djangojs domain) served by the product itself, cached by browsers per version."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views.i18n import JavaScriptCatalog

_catalog = JavaScriptCatalog.as_view()


@cache
def catalogue_version() -> str:
    """Changes whenever a compiled djangojs catalogue does (a deploy with new strings gets a new URL)."""
    directories = [Path(path) for path in settings.LOCALE_PATHS] + [
        Path(config.path) / "locale" for config in apps.get_app_configs()
    ]
    digest = hashlib.sha256()
    for mo in sorted(
        path for directory in directories for path in directory.glob("*/LC_MESSAGES/djangojs.mo")
    ):
        digest.update(mo.read_bytes())
    return digest.hexdigest()[:12]


def javascript_catalog(request: HttpRequest) -> HttpResponseBase:
    """gettext() and friends for static/js, in the language the URL names (so the answer can be cached)."""
    language = request.GET.get("l", "")
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
    response = _catalog(request)
    patch_cache_control(response, public=True, max_age=60 * 60 * 24 * 365, immutable=True)
    return response


def javascript_catalog_url(request: HttpRequest) -> dict[str, str]:
    """Template context: the catalogue's URL for the page's language and the catalogue's version."""
    language = translation.get_language() or settings.LANGUAGE_CODE
    return {"javascript_catalog": f"{reverse('javascript_catalog')}?l={language}&v={catalogue_version()}"}
