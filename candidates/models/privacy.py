"""Students' requests under the APPI (開示・訂正・利用停止・削除) and their receipts (tenant schema).

Not the leak-report workflow to the 個人情報保護委員会 (that is `incidents`): these are requests a
student makes about their own data, answered by the company's recruiters.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The law asks for an answer 遅滞なく (without delay) and names no number of days; the queue counts
# the days each request has been open and flags those older than this internal target.
PRIVACY_REQUEST_TARGET_DAYS = 14


class PrivacyRequest(models.Model):
    """One student's request about their personal data, from the My Page or recorded by a recruiter."""

    class Kind(models.TextChoices):
        DISCLOSURE = "disclosure", _("開示")
        CORRECTION = "correction", _("訂正")
        STOP_USE = "stop_use", _("利用停止")
        DELETION = "deletion", _("削除")

    class Status(models.TextChoices):
        OPEN = "open", _("対応待ち")
        DONE = "done", _("対応済み")
        DECLINED = "declined", _("対応できない（理由を回答）")

    # Null once the student is deleted; `candidate_ref` keeps the id for the receipt.
    candidate = models.ForeignKey(
        "candidates.Candidate",
        verbose_name=_("学生"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="privacy_requests",
    )
    candidate_ref = models.BigIntegerField(_("学生ID"))
    kind = models.CharField(_("請求の種類"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.OPEN)
    # The student's own words (what to correct, why); personal data, blanked when the student is erased.
    details = models.TextField(_("請求の内容"), max_length=2000, blank=True)
    response = models.TextField(_("学生への回答"), max_length=2000, blank=True)
    received_at = models.DateTimeField(_("受付日時"), auto_now_add=True)
    closed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What an erasure removed (ids and counts only, never personal data): the deletion receipt.
    receipt = models.JSONField(_("削除の記録"), default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One open request of each kind per student: a second tap on the form cannot queue another.
            models.UniqueConstraint(
                fields=["candidate", "kind"],
                condition=models.Q(status="open"),
                name="privacy_request_one_open_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="privacy_request_queue")]

    def __str__(self) -> str:
        return self.number

    @property
    def days_open(self) -> int:
        """Days since the request arrived (until it was answered)."""
        end = self.closed_at or timezone.now()
        return (end - self.received_at).days if self.received_at else 0

    @property
    def overdue(self) -> bool:
        return self.status == self.Status.OPEN and self.days_open >= PRIVACY_REQUEST_TARGET_DAYS

    @property
    def number(self) -> str:
        """The receipt number students and recruiters quote (受付番号)."""
        return f"P-{self.pk:06d}" if self.pk else "P-new"


class RetentionPolicy(models.Model):
    """The company's rule for students it no longer needs (one row): delete or anonymise them nightly.

    A student is due when their season has ended `months_after_season` months ago (the season of the
    graduation year Y ends on 31 March of Y, when they join a company) and their selection status is
    not one of `keep_statuses` (hired students stay). Students without a graduation year are never due.
    """

    class Action(models.TextChoices):
        DELETE = "delete", _("削除する")
        ANONYMISE = "anonymise", _("匿名化する（選考の集計だけ残す）")

    enabled = models.BooleanField(_("毎晩実行する"), default=False)
    months_after_season = models.PositiveSmallIntegerField(_("卒業年度の終わりから（か月）"), default=12)
    action = models.CharField(_("処理"), max_length=10, choices=Action.choices, default=Action.DELETE)
    keep_statuses = ArrayField(
        models.CharField(max_length=40), verbose_name=_("残す選考ステータス"), default=list, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The count the admin saw when switching it on, and what the nightly runs did.
    confirmed_count = models.PositiveIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="retention_policy_singleton"),
            models.CheckConstraint(
                condition=models.Q(months_after_season__gte=1) & models.Q(months_after_season__lte=120),
                name="retention_policy_months_range",
            ),
        ]

    def __str__(self) -> str:
        return f"retention {self.action} after {self.months_after_season} months ({'on' if self.enabled else 'off'})"


class ErasedRow(models.Model):
    """A job-board row of a student who was erased or anonymised: importing that same row again skips it.

    Only the board and the row's hash are kept (the hash its entry carried), never the row. A new
    application from the student (another row) is imported as usual.
    """

    board = models.CharField(max_length=40)
    row_hash = models.CharField(max_length=40)
    erased_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["board", "row_hash"], name="erased_row_unique")]

    def __str__(self) -> str:
        return f"{self.board}:{self.row_hash[:8]}"
