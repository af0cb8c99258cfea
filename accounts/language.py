"""The language switch: the choice is kept in a long-lived cookie and, for a signed-in user, on their account."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.services import user_language_set


def _cookie_set(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite="Lax",
    )


def _next_url(request: HttpRequest) -> str:
    for candidate in (request.POST.get("next"), request.headers.get("referer")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return "/"


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the language and go back to the page the switch was on."""
    response = HttpResponseRedirect(_next_url(request))
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        return response
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        user_language_set(user=user, language=language)
    _cookie_set(response, language)
    return response


class UserLanguageMiddleware:
    """A signed-in user's own choice wins over the cookie and the browser's Accept-Language.

    Runs after LocaleMiddleware (which decides for everyone else) and AuthenticationMiddleware; the cookie is
    brought in line so the sign-in page after signing out speaks the same language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language and language != translation.get_language():
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            _cookie_set(response, language)
        return response
