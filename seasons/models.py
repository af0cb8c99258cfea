"""Season (卒年度): one graduation year's recruiting, e.g. 28卒 = students graduating in spring 2028 (tenant schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

# Sensible graduation years: a year outside this range in an import is a typo, not a season.
FIRST_YEAR = 2000
LAST_YEAR = 2100


class Season(models.Model):
    graduation_year = models.PositiveSmallIntegerField(_("卒業年"), unique=True)
    label = models.CharField(_("表示名"), max_length=40, blank=True, db_default="")
    # The season lists open with, and where students without a graduation year go.
    is_default = models.BooleanField(_("既定の年度"), default=False, db_default=False)
    is_archived = models.BooleanField(_("終了（一覧に出さない）"), default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_default=models.functions.Now())

    class Meta:
        ordering = ["-graduation_year"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="season_one_default"
            ),
            models.CheckConstraint(
                condition=Q(graduation_year__gte=FIRST_YEAR, graduation_year__lte=LAST_YEAR),
                name="season_graduation_year_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """ "28卒" unless the company named the season itself."""
        return self.label or _("%(short_year)02d卒") % {"short_year": self.graduation_year % 100}
