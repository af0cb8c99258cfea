"""Routes /my/rush/ straight after the tenant is known, ahead of sessions, CSRF, auth and messages.

The rush endpoints authenticate with the signed student pass and protect their POST with a custom header
and an Origin check (the pass cookie is SameSite=Strict), so none of the middleware below has work to do
for them; skipping it is most of what makes the path cheap. Every other path goes through unchanged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django_tenants.utils import get_public_schema_name

from booking.rush import budgets, pages, pipeline
from booking.rush.answers import answer
from booking.rush.outcomes import busy
from booking.rush.request import language_of
from tenants.selectors import current_schema

_ROUTE = re.compile(
    r"^/my/rush/(?:(?P<health>health)|(?P<seminar>\d{1,12})/"
    r"(?P<action>book|queue)?)$"
)


class RushMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith("/my/rush/"):
            return self.get_response(request)
        started = time.time()
        match = _ROUTE.match(request.path_info)
        if match is None or current_schema() == get_public_schema_name():
            return HttpResponse("Not Found", status=404, content_type="text/plain; charset=utf-8")
        if match["health"]:
            return pages.health(request)
        seminar_id = int(match["seminar"])
        with budgets.admission.held(current_schema()) as admitted:
            if not admitted:
                return answer(busy())
            # Ahead of LocaleMiddleware: the student's language is asked here.
            with translation.override(language_of(request)):
                return self._route(request, match, seminar_id=seminar_id, started=started)

    def _route(
        self, request: HttpRequest, match: re.Match, *, seminar_id: int, started: float
    ) -> HttpResponse:
        action = match["action"]
        if action == "book":
            return pipeline.book_sync(request, seminar_id=seminar_id, started=started)
        if action == "queue":
            return pipeline.queue_sync(request, seminar_id=seminar_id)
        return pages.seminar_page(request, seminar_id=seminar_id)
