"""Notifications: the outbox (source of truth for every mail), step-mail sequences, segment mails (tenant schema)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class MailKind(models.TextChoices):
    TRANSACTIONAL = "transactional", _("業務連絡（配信停止の対象外）")
    MARKETING = "marketing", _("案内（配信停止できる）")


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", _("送信待ち")
    SENDING = "sending", _("送信中")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("失敗")
    UNDELIVERABLE = "undeliverable", _("不達アドレス")
    SUPPRESSED = "suppressed", _("配信停止済み")


class MailSettings(models.Model):
    """One row per tenant: send window (Japan time) and sending rate."""

    quiet_start = models.TimeField(_("配信停止時間帯の開始"), default=dt.time(21, 0))
    quiet_end = models.TimeField(_("配信停止時間帯の終了"), default=dt.time(8, 0))
    rate_per_second = models.PositiveIntegerField(_("1 秒あたりの送信上限"), default=20)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="mailsettings_singleton")]

    def __str__(self) -> str:
        return f"{self.quiet_start:%H:%M}–{self.quiet_end:%H:%M}"


class MailTemplate(models.Model):
    """Subject and body with {{ 変数 }} placeholders from the fixed set in notifications.services.templating."""

    name = models.CharField(_("テンプレート名"), max_length=100)
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Trigger(models.TextChoices):
    ENTRY_IMPORTED = "entry_imported", _("エントリー取り込み")
    SEMINAR_BOOKED = "seminar_booked", _("説明会予約")
    ATTENDED = "attended", _("説明会出席")
    NO_SHOW = "no_show", _("説明会欠席")
    STATUS_CHANGED = "status_changed", _("選考ステータス変更")
    BEFORE_SLOT = "before_slot", _("予約日の N 日前")


class Sequence(models.Model):
    name = models.CharField(_("シーケンス名"), max_length=100)
    trigger = models.CharField(_("開始のきっかけ"), max_length=20, choices=Trigger.choices)
    trigger_status = models.CharField(_("変更後のステータス"), max_length=40, blank=True)
    days_before = models.PositiveSmallIntegerField(_("予約日の何日前"), null=True, blank=True)
    is_active = models.BooleanField(_("有効"), default=False)
    stop_on_booked = models.BooleanField(_("説明会を予約したら停止"), default=False)
    stop_on_statuses = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    # Set by the database to the default season when a row comes without one (seasons migration 0001).
    season = models.ForeignKey(
        "seasons.Season", verbose_name=_("年度"), on_delete=models.PROTECT, related_name="+", db_default=None
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class SequenceStep(models.Model):
    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("順番"))
    delay_days = models.PositiveSmallIntegerField(_("何日後"), default=0)
    delay_minutes = models.PositiveIntegerField(_("何分後"), default=0)
    send_at_time = models.TimeField(_("送信時刻（日本時間）"), null=True, blank=True)
    template = models.ForeignKey(MailTemplate, on_delete=models.PROTECT, related_name="steps")
    # Conditions on the student at the time the step falls due; empty means "any".
    ranks = ArrayField(models.CharField(max_length=1), default=list, blank=True)
    graduation_years = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    statuses = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    require_not_booked = models.BooleanField(_("説明会未予約の学生のみ"), default=False)
    boards = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    class Meta:
        ordering = ["sequence_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["sequence", "position"], name="sequencestep_unique_position")
        ]

    def __str__(self) -> str:
        return f"{self.sequence_id}#{self.position}"

    @property
    def delay_label(self) -> str:
        if self.send_at_time is not None:
            return gettext("+%(days)s 日 %(time)s") % {
                "days": self.delay_days,
                "time": f"{self.send_at_time:%H:%M}",
            }
        if self.delay_days:
            if self.delay_minutes:
                return gettext("+%(days)s 日 %(minutes)s 分") % {
                    "days": self.delay_days,
                    "minutes": self.delay_minutes,
                }
            return gettext("+%(days)s 日") % {"days": self.delay_days}
        return gettext("+%(minutes)s 分") % {"minutes": self.delay_minutes}


class Enrollment(models.Model):
    """A student running through a sequence once per occurrence (a booking, a status change …)."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    candidate = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="+")
    occurrence = models.CharField(max_length=100)
    anchor_at = models.DateTimeField()
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "candidate", "occurrence"], name="enrollment_unique_occurrence"
            )
        ]
        indexes = [models.Index(fields=["sequence", "anchor_at"], name="enrollment_seq_anchor")]

    def __str__(self) -> str:
        return f"{self.sequence_id}:{self.candidate_id}:{self.occurrence}"


class CandidateEvent(models.Model):
    """What happened to a student that sequences care about (booked, attended …)."""

    candidate = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=20, choices=Trigger.choices)
    occurred_at = models.DateTimeField()
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["candidate", "event"], name="candidateevent_cand_event")]

    def __str__(self) -> str:
        return f"{self.event}:{self.candidate_id}"


class SegmentMail(models.Model):
    name = models.CharField(_("配信名"), max_length=100)
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    filters = models.JSONField(default=dict, blank=True)
    send_at = models.DateTimeField(_("送信日時"))
    enqueued_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    # Set by the database to the default season when a row comes without one (seasons migration 0001).
    season = models.ForeignKey(
        "seasons.Season", verbose_name=_("年度"), on_delete=models.PROTECT, related_name="+", db_default=None
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class OutboxMessage(models.Model):
    """One e-mail. The row is the truth: workers only move it queued → sending → sent/failed."""

    idempotency_key = models.CharField(max_length=200, unique=True)
    candidate = models.ForeignKey(
        "candidates.Candidate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_address = models.CharField(max_length=254)
    subject = models.CharField(max_length=300)
    body = models.TextField()
    html_body = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    kind = models.CharField(max_length=16, choices=MailKind.choices)
    status = models.CharField(max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    # Rows from sequences and segment mails hold the template until the moment they are sent.
    needs_render = models.BooleanField(default=False)
    render_context = models.JSONField(default=dict, blank=True)
    sequence_step = models.ForeignKey(
        SequenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    segment = models.ForeignKey(
        SegmentMail, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due",
                condition=models.Q(status__in=["queued", "sending"]),
            ),
            models.Index(fields=["candidate", "created_at"], name="outbox_candidate"),
            models.Index(fields=["sequence_step", "status"], name="outbox_step_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.status}"

    def message_id(self, *, schema_name: str) -> str:
        return f"<outbox-{schema_name}-{self.pk}@{settings.BASE_DOMAIN}>"


class Unsubscribe(models.Model):
    """A student who asked for no more marketing mail (takes effect at once)."""

    candidate = models.OneToOneField("candidates.Candidate", on_delete=models.CASCADE, related_name="+")
    source_message = models.ForeignKey(
        OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"unsubscribe:{self.candidate_id}"
