"""Restores of one company's data (public schema): what was asked, by whom, how far it got."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RestoreState(models.TextChoices):
    RUNNING = "running", _("実行中")
    DONE = "done", _("完了")
    FAILED = "failed", _("失敗")


class TenantRestore(models.Model):
    """A company's schema brought back to a moment; while running, the company sees a maintenance page."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="restores")
    target_at = models.DateTimeField(_("復元時刻"))
    requested_by = models.CharField(_("実行者"), max_length=254)
    state = models.CharField(max_length=10, choices=RestoreState.choices, default=RestoreState.RUNNING)
    phase = models.CharField(max_length=20, blank=True)
    progress = models.FloatField(default=0.0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    reached_at = models.DateTimeField(null=True, blank=True)
    previous_schema = models.CharField(max_length=63, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One restore of a company at a time: a second one cannot start while the first runs.
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(state="running"), name="tenant_restore_one_running"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} → {self.target_at:%Y-%m-%d %H:%M:%S}"
