"""Possible duplicates a recruiter decides on, and what each merge moved so that it can be undone (tenant schema)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PossibleDuplicate(models.Model):
    """Two candidates whose kana name, birth date and school agree: a recruiter decides."""

    class Status(models.TextChoices):
        OPEN = "open", _("未確認")
        MERGED = "merged", _("統合済み")
        DISMISSED = "dismissed", _("別人")

    first = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Stored with the smaller id first, so a pair is flagged once whatever the order.
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")), name="duplicate_ordered_pair"
            ),
            models.UniqueConstraint(fields=["first", "second"], name="duplicate_pair_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id}~{self.second_id} ({self.status})"


class MergeRecord(models.Model):
    """What one merge moved, so that it can be undone."""

    kept = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="+")
    merged = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="+")
    duplicate = models.ForeignKey(
        "candidates.PossibleDuplicate", null=True, blank=True, on_delete=models.SET_NULL
    )
    entry_ids = models.JSONField(default=list)
    key_ids = models.JSONField(default=list)
    note_ids = models.JSONField(default=list)
    kept_before = models.JSONField(default=dict)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.merged_id}→{self.kept_id}"
