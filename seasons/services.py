"""Season writes: create a season, choose the default, archive, and the session's current season."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from seasons.errors import SeasonError
from seasons.models import FIRST_YEAR, LAST_YEAR, Season
from seasons.selectors import SESSION_KEY


@transaction.atomic
def season_create(*, graduation_year: int, label: str = "", is_default: bool = False) -> Season:
    if not FIRST_YEAR <= graduation_year <= LAST_YEAR:
        raise SeasonError(
            _("卒業年は %(first)s〜%(last)s 年で入力してください。")
            % {"first": FIRST_YEAR, "last": LAST_YEAR}
        )
    try:
        with transaction.atomic():
            season = Season.objects.create(graduation_year=graduation_year, label=label.strip()[:40])
    except IntegrityError:
        raise SeasonError(_("この卒業年の年度はすでにあります。")) from None
    if is_default:
        season_default_set(season=season)
    return season


@transaction.atomic
def season_default_set(*, season: Season) -> Season:
    """Make `season` the default; the partial unique index keeps exactly one."""
    Season.objects.filter(is_default=True).exclude(pk=season.pk).update(is_default=False)
    Season.objects.filter(pk=season.pk).update(is_default=True, is_archived=False)
    season.is_default, season.is_archived = True, False
    return season


@transaction.atomic
def season_archive_set(*, season: Season, archived: bool) -> Season:
    if archived and Season.objects.filter(pk=season.pk, is_default=True).exists():
        raise SeasonError(_("既定の年度は終了にできません。先に別の年度を既定にしてください。"))
    Season.objects.filter(pk=season.pk).update(is_archived=archived)
    season.is_archived = archived
    return season


def season_switch(*, session: object, season: Season) -> None:
    """Remember the season picked in the header for this browser session."""
    session[SESSION_KEY] = season.pk  # type: ignore[index]
