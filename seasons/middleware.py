"""request.season: the season a recruiter works in (picked in the header, kept in the session)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.deprecation import MiddlewareMixin
from django.utils.functional import SimpleLazyObject

from seasons.selectors import season_for_session, season_list


class SeasonMiddleware(MiddlewareMixin):
    """Lazily resolved, so pages that never look at the season (My Page, the rush) pay nothing.

    A MiddlewareMixin (sync and async capable): a sync-only middleware would make the ASGI handler run
    the rest of the chain on another thread, whose database connection may hold another schema.
    """

    def process_request(self, request: HttpRequest) -> None:
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.schema_name == "public" or not hasattr(request, "session"):
            return
        session = request.session
        # One query serves both the current season and the header's list of seasons.
        seasons = SimpleLazyObject(lambda: list(season_list(include_archived=True)))
        request.seasons = seasons
        request.season = SimpleLazyObject(
            lambda: season_for_session(session=session, seasons=list(seasons))
        )
