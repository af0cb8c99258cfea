"""API tokens of a company and the first answers to idempotent requests (tenant schema)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    CANDIDATES_READ = "candidates:read", _("候補者・エントリー・ランクの閲覧")
    CANDIDATES_WRITE = "candidates:write", _("候補者の登録・更新")
    BOOKINGS_READ = "bookings:read", _("説明会・日程・予約の閲覧")
    BOOKINGS_WRITE = "bookings:write", _("学生に代わって予約・キャンセル")
    MAIL_SEND = "mail:send", _("セグメント配信の送信")
    RANKS_WRITE = "ranks:write", _("大学ランク表の読み込み（全候補者のランクを付け直します）")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Webhook（イベント通知）の登録・変更・再送")
    # Support staff's tokens only (public schema): incidents from their monitoring tools.
    INCIDENTS_WRITE = "incidents:write", _("障害の起票・更新・解決（サポート担当）")


COMPANY_SCOPES = (
    Scope.CANDIDATES_READ,
    Scope.CANDIDATES_WRITE,
    Scope.BOOKINGS_READ,
    Scope.BOOKINGS_WRITE,
    Scope.MAIL_SEND,
    Scope.RANKS_WRITE,
    Scope.WEBHOOKS_MANAGE,
)
STAFF_SCOPES = (Scope.INCIDENTS_WRITE,)


class ApiToken(models.Model):
    """A bearer token an admin created; only the SHA-256 of the secret is stored, shown once at creation."""

    name = models.CharField(_("名前"), max_length=100)
    # The first characters of the token, to recognise it in lists and logs (not enough to use it).
    prefix = models.CharField(_("先頭"), max_length=16, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), verbose_name=_("権限"))
    rate_per_minute = models.PositiveIntegerField(_("1分あたりの上限"), default=120)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("有効期限"))
    last_used_at = models.DateTimeField(_("最終利用"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, *, now: object = None) -> bool:
        moment = now or timezone.now()
        return self.revoked_at is None and self.expires_at > moment  # type: ignore[operator]


class IdempotentRequest(models.Model):
    """The first answer to a creating POST with an Idempotency-Key: a retry gets it back, nothing is redone.

    The row is inserted before the work starts (status 0 while it runs), so the unique constraint lets
    only one of two simultaneous retries do the work.
    """

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # Method, path and a hash of the body: the same key sent with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="api_idempotency_unique")]

    def __str__(self) -> str:
        return f"{self.token_id}:{self.key}"
