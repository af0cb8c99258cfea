"""A company's webhook subscriptions, its event outbox and the delivery log (tenant schema)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from saas.sealing import SealedCharField

# Every attempt of a delivery, the first included; then it is failed until someone presses "redeliver".
MAX_ATTEMPTS = 10


class EventType(models.TextChoices):
    CANDIDATE_CREATED = "candidate.created", _("候補者の登録")
    CANDIDATE_UPDATED = "candidate.updated", _("候補者の更新")
    BOOKING_CREATED = "booking.created", _("予約")
    BOOKING_CANCELLED = "booking.cancelled", _("予約のキャンセル")
    BOOKING_MOVED = "booking.moved", _("予約の日程変更")
    INTERVIEW_BOOKED = "interview.booked", _("面接の予約")
    INTERVIEW_RESCHEDULED = "interview.rescheduled", _("面接の日時変更")
    INTERVIEW_CANCELLED = "interview.cancelled", _("面接のキャンセル")
    ATTENDANCE_RECORDED = "attendance.recorded", _("出欠の記録")
    MAIL_BOUNCED = "mail.bounced", _("メールの不達")
    # incident.updated and incident.resolved, for the incidents that affect the company.
    INCIDENT_ALL = "incident.*", _("障害のお知らせ（incident.*）")


class Subscription(models.Model):
    """A URL that receives some of the company's events, signed with its own secret."""

    url = models.URLField(_("送信先 URL"), max_length=500)
    description = models.CharField(_("説明"), max_length=100, blank=True)
    events = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices), verbose_name=_("イベント")
    )
    # Standard Webhooks secret ("whsec_" + base64), sealed at rest (saas/sealing.py); shown once.
    secret = SealedCharField(max_length=100)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return event_type in self.events or f"{event_type.split('.', 1)[0]}.*" in self.events


class Event(models.Model):
    """The outbox: one row per event, inserted in the transaction of the change it tells about."""

    id = models.BigAutoField(primary_key=True)
    event_type = models.CharField(max_length=40)
    # The JSON body as sent ({"type", "timestamp", "data"}): ids and states, no personal data.
    payload = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the event has been turned into one delivery per subscription that wants it.
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["id"],
                condition=models.Q(dispatched_at__isnull=True),
                name="webhooks_event_undispatched",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("送信待ち")
    SUCCEEDED = "succeeded", _("成功")
    FAILED = "failed", _("失敗")


class Delivery(models.Model):
    """One event to one subscription: its attempts, last answer and when it is tried next."""

    id = models.BigAutoField(primary_key=True)
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # The webhook-id header: the same on every attempt and redelivery, so a receiver can de-duplicate.
    message_id = models.CharField(max_length=40, unique=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=MAX_ATTEMPTS)
    # The HTTP status of the last answer, or a short error name (never the answer's body).
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=60, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhooks_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhooks_delivery_due",
            )
        ]

    def __str__(self) -> str:
        return self.message_id
