"""Season reads: the list for the header's switch, the default, the season a request works in."""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from seasons.models import Season

SESSION_KEY = "season_id"


def season_list(*, include_archived: bool = False) -> QuerySet[Season]:
    seasons = Season.objects.all()
    return seasons if include_archived else seasons.filter(is_archived=False)


def season_default() -> Season:
    """The company's default season; made by the database's rule (seasons migration 0001) when there is none."""
    season = Season.objects.filter(is_default=True).first()
    if season is not None:
        return season
    with connection.cursor() as cursor:
        cursor.execute("SELECT season_default_id()")
        return Season.objects.get(pk=cursor.fetchone()[0])


def season_get(*, season_id: object) -> Season | None:
    try:
        pk = int(str(season_id))
    except (TypeError, ValueError):
        return None
    return Season.objects.filter(pk=pk).first()


def season_for_session(*, session: object, seasons: list[Season]) -> Season:
    """The season picked in the header for this browser session, else the default one (from `seasons`)."""
    chosen = session.get(SESSION_KEY) if hasattr(session, "get") else None
    for season in seasons:
        if season.pk == chosen:
            return season
    for season in seasons:
        if season.is_default:
            return season
    return season_default()
