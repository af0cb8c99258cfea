"""University ranks: the tenant's rank table, its aliases, its default, and each background re-ranking (tenant schema)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

RANK_LETTER = r"^[A-Z]$"


class RankSettings(models.Model):
    """The tenant's default rank for universities not in its table (one row)."""

    default_rank = models.CharField(_("既定ランク"), max_length=1, default="Z")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_rank__regex=RANK_LETTER), name="candidates_rank_settings_letter"
            )
        ]

    def __str__(self) -> str:
        return f"default={self.default_rank}"


class RankRule(models.Model):
    """University (as the tenant wrote it) -> rank letter; matched through normalised keys."""

    university = models.CharField(_("大学名"), max_length=200)
    key = models.CharField(max_length=200, unique=True, editable=False)
    rank = models.CharField(_("ランク"), max_length=1)

    class Meta:
        ordering = ["rank", "university"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rank__regex=RANK_LETTER), name="candidates_rank_rule_letter"
            )
        ]

    def __str__(self) -> str:
        return f"{self.university}: {self.rank}"


class UniversityAlias(models.Model):
    """A tenant's own alias for a university (added by admins on top of the built-in list)."""

    alias = models.CharField(_("別名"), max_length=200)
    key = models.CharField(max_length=200, unique=True, editable=False)
    target = models.CharField(_("正式名"), max_length=200)

    class Meta:
        ordering = ["alias"]

    def __str__(self) -> str:
        return f"{self.alias} → {self.target}"


class RerankRun(models.Model):
    """One background re-ranking after the rank table changed: what it changed."""

    reason = models.CharField(max_length=200, blank=True)
    changed_count = models.PositiveIntegerField(default=0)
    changes = models.JSONField(default=list, blank=True)  # first changes: {candidate, old, new}
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"rerank #{self.pk}: {self.changed_count}"
