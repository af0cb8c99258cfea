"""Booking: seminars, slots, per-rank quotas, bookings, waiting lists, My Page tokens (tenant schema)."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

# The quota row that any allowed rank may take once its own quota is gone.
POOL = "*"


class WaitingRoomMode(models.TextChoices):
    OFF = "off", _("使わない")
    ON = "on", _("常に使う")
    AUTO = "auto", _("混雑時に自動")


class Seminar(models.Model):
    title = models.CharField(_("タイトル"), max_length=200)
    description = models.TextField(_("説明"), blank=True)
    place = models.CharField(_("会場"), max_length=200, blank=True)
    online_url = models.URLField(_("オンラインURL"), blank=True)
    # Defaults for ranks without their own rule.
    default_visible = models.BooleanField(_("ルールのないランクにも公開"), default=True)
    opens_at = models.DateTimeField(_("受付開始（既定）"), null=True, blank=True)
    booking_deadline = models.DateTimeField(_("予約締切"), null=True, blank=True)
    cancellation_deadline = models.DateTimeField(_("キャンセル締切"), null=True, blank=True)
    offer_minutes = models.PositiveIntegerField(_("キャンセル待ちの回答期限（分）"), default=60)
    published = models.BooleanField(_("公開"), default=True)
    # The waiting room of the booking rush: off, always on, or on by itself when answers slow down.
    waiting_room = models.CharField(
        _("待合室"), max_length=8, choices=WaitingRoomMode.choices, default=WaitingRoomMode.AUTO
    )
    admission_per_second = models.PositiveIntegerField(_("入場レート（人/秒）"), default=300)
    waiting_room_latency_ms = models.PositiveIntegerField(
        _("自動で待合室を開く応答時間（ミリ秒）"), default=500
    )
    # Set by the database to the default season when a row comes without one (seasons migration 0001).
    season = models.ForeignKey(
        "seasons.Season", verbose_name=_("年度"), on_delete=models.PROTECT, related_name="+", db_default=None
    )
    # 内定者フォロー (懇親会, 研修): shown on the My Page only to students holding an offer of the season.
    for_offer_holders = models.BooleanField(_("内定者向け（内定者フォロー）"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title


class SeminarRankRule(models.Model):
    """Per-rank visibility and opening time of a seminar (rank D never sees it, rank A opens first)."""

    seminar = models.ForeignKey(Seminar, on_delete=models.CASCADE, related_name="rank_rules")
    rank = models.CharField(_("ランク"), max_length=1)
    visible = models.BooleanField(_("公開"), default=True)
    opens_at = models.DateTimeField(_("受付開始"), null=True, blank=True)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["seminar", "rank"], name="rank_rule_unique"),
            models.CheckConstraint(condition=Q(rank__regex=r"^[A-Z]$"), name="rank_rule_letter"),
        ]

    def __str__(self) -> str:
        return f"{self.seminar_id}:{self.rank}"


class Slot(models.Model):
    seminar = models.ForeignKey(Seminar, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField(_("開始"))
    ends_at = models.DateTimeField(_("終了"))
    capacity = models.PositiveIntegerField(_("定員"))

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.seminar_id}:{self.starts_at:%Y-%m-%d %H:%M}"


class SlotQuota(models.Model):
    """Seats of one slot for one rank (or the shared pool): the one row a booking touches.

    The booked count of a slot is the sum of `taken` over its quota rows; quota seats never add up
    to more than the slot's capacity (checked under the slot's lock when quotas are edited).
    """

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="quotas")
    rank = models.CharField(_("ランク"), max_length=1)  # "A".."Z" or POOL
    seats = models.PositiveIntegerField(_("席数"))
    taken = models.PositiveIntegerField(_("予約済み"), default=0)

    class Meta:
        ordering = ["slot_id", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["slot", "rank"], name="quota_unique_rank"),
            models.CheckConstraint(condition=Q(taken__lte=F("seats")), name="quota_not_overbooked"),
            models.CheckConstraint(condition=Q(taken__gte=0), name="quota_taken_positive"),
            models.CheckConstraint(condition=Q(rank__regex=r"^([A-Z]|\*)$"), name="quota_rank_letter"),
        ]

    def __str__(self) -> str:
        return f"{self.slot_id}:{self.rank}={self.seats}"

    @property
    def remaining(self) -> int:
        return self.seats - self.taken


class BookingStatus(models.TextChoices):
    ACTIVE = "active", _("予約中")
    CANCELLED = "cancelled", _("キャンセル")


class Attendance(models.TextChoices):
    UNKNOWN = "unknown", _("未確認")
    ATTENDED = "attended", _("出席")
    NO_SHOW = "no_show", _("欠席")


class Booking(models.Model):
    candidate = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="bookings")
    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    # Denormalised so the database can enforce one active booking per student and seminar.
    seminar = models.ForeignKey(Seminar, on_delete=models.PROTECT, related_name="bookings")
    quota = models.ForeignKey(SlotQuota, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=16, choices=BookingStatus.choices, default=BookingStatus.ACTIVE)
    attendance = models.CharField(max_length=16, choices=Attendance.choices, default=Attendance.UNKNOWN)
    check_in_code = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "seminar"],
                condition=Q(status="active"),
                name="booking_one_active_per_seminar",
            ),
        ]
        indexes = [models.Index(fields=["slot", "status"], name="booking_slot_status")]

    def __str__(self) -> str:
        return f"booking {self.pk}"


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", _("キャンセル待ち")
    OFFERED = "offered", _("空席のご案内中")
    ACCEPTED = "accepted", _("予約済み")
    EXPIRED = "expired", _("期限切れ")
    LEFT = "left", _("取り下げ")


class WaitlistEntry(models.Model):
    candidate = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="waitlist")
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="waitlist")
    status = models.CharField(max_length=16, choices=WaitlistStatus.choices, default=WaitlistStatus.WAITING)
    # While offered, the seat stays counted as taken on this quota row: nobody else can grab it.
    held_quota = models.ForeignKey(SlotQuota, on_delete=models.SET_NULL, null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "slot"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_open_entry",
            ),
            models.CheckConstraint(
                condition=~Q(status="offered")
                | (Q(held_quota__isnull=False) & Q(offer_expires_at__isnull=False)),
                name="waitlist_offer_holds_a_seat",
            ),
        ]
        indexes = [models.Index(fields=["slot", "status", "created_at"], name="waitlist_queue")]

    def __str__(self) -> str:
        return f"waitlist {self.pk}"


class MyPageToken(models.Model):
    """A personal link to the My Page: only the SHA-256 of the token is stored."""

    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="mypage_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"mypage token {self.pk}"


class RushPassRevocation(models.Model):
    """Rush passes of this student issued before `revoked_at` no longer work (signed out, links revoked, a new
    rank). PostgreSQL holds it so the check still holds while Redis is away; Redis keeps a copy for the gate."""

    candidate = models.OneToOneField(
        "candidates.Candidate", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    revoked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"rush pass revocation {self.pk}"


class InterviewType(models.Model):
    """An interview of one selection step (一次面接, 二次面接 …) and who can run it."""

    name = models.CharField(_("名称"), max_length=100)
    # The candidate status (selection step key) that may book this interview.
    step = models.CharField(_("対象の選考ステップ"), max_length=40)
    duration_minutes = models.PositiveSmallIntegerField(_("所要時間（分）"), default=30)
    buffer_minutes = models.PositiveSmallIntegerField(_("前後の空き時間（分）"), default=10)
    capacity = models.PositiveSmallIntegerField(_("1 回の人数"), default=1)
    place = models.CharField(_("会場"), max_length=200, blank=True)
    online_url = models.URLField(_("オンラインURL"), blank=True)
    change_deadline_hours = models.PositiveSmallIntegerField(
        _("変更・キャンセル締切（開始の何時間前）"), default=24
    )
    interviewers = models.ManyToManyField(
        "accounts.User", related_name="interview_types", verbose_name=_("面接官"), blank=True
    )
    active = models.BooleanField(_("受付中"), default=True)
    # Set by the database to the default season when a row comes without one (seasons migration 0001).
    season = models.ForeignKey(
        "seasons.Season", verbose_name=_("年度"), on_delete=models.PROTECT, related_name="+", db_default=None
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gte=1), name="interview_type_capacity_positive"),
            models.CheckConstraint(condition=Q(duration_minutes__gte=5), name="interview_type_duration"),
        ]

    def __str__(self) -> str:
        return self.name


class InterviewerAvailability(models.Model):
    interviewer = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="availabilities")
    starts_at = models.DateTimeField(_("開始"))
    ends_at = models.DateTimeField(_("終了"))

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="availability_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.interviewer_id}:{self.starts_at:%Y-%m-%d %H:%M}"


class InterviewSession(models.Model):
    """One interviewer at one time; a group interview holds several students."""

    interview_type = models.ForeignKey(InterviewType, on_delete=models.PROTECT, related_name="sessions")
    interviewer = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="interview_sessions"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    taken = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["interviewer", "starts_at"],
                condition=Q(taken__gt=0),
                name="session_one_per_interviewer_start",
            ),
            models.CheckConstraint(condition=Q(taken__lte=F("capacity")), name="session_not_overbooked"),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="session_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.interview_type_id}:{self.interviewer_id}:{self.starts_at:%Y-%m-%d %H:%M}"


class InterviewBooking(models.Model):
    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="interview_bookings"
    )
    session = models.ForeignKey(InterviewSession, on_delete=models.PROTECT, related_name="bookings")
    interview_type = models.ForeignKey(InterviewType, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=16, choices=BookingStatus.choices, default=BookingStatus.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "interview_type"],
                condition=Q(status="active"),
                name="interview_one_active_per_type",
            ),
        ]

    def __str__(self) -> str:
        return f"interview booking {self.pk}"
