"""Leak signals and the APPI data-leak workflow (public schema; students are referenced by id only)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class SignalKind(models.TextChoices):
    BULK_EXPORT = "bulk_export", _("大量エクスポート")
    BULK_READ = "bulk_read", _("短時間の大量閲覧")
    FOREIGN_TOKEN = "foreign_token", _("他社のトークン・セッションの提示")
    FAILED_SIGNINS = "failed_signins", _("ログイン失敗の多発")
    REPORTED = "reported", _("漏えいの疑いの報告")


class LeakPolicy(models.Model):
    """Per-company thresholds for the leak signals."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="leak_policy")
    export_rows = models.PositiveIntegerField(_("1 回のエクスポート件数の上限"), default=1000)
    reads_per_window = models.PositiveIntegerField(
        _("1 アカウントの閲覧件数の上限（時間枠あたり）"), default=300
    )
    window_minutes = models.PositiveSmallIntegerField(_("時間枠（分）"), default=60)
    failed_signins = models.PositiveSmallIntegerField(_("ログイン失敗回数の上限（15 分）"), default=20)

    def __str__(self) -> str:
        return f"policy:{self.tenant_id}"


class LeakSignal(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="leak_signals")
    kind = models.CharField(max_length=20, choices=SignalKind.choices)
    # Account ids and counts only; never names or e-mail addresses.
    detail = models.JSONField(default=dict, blank=True)
    candidate_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    incident = models.ForeignKey(
        "incidents.Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="leak_signals"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.tenant_id}"


class DataCategory(models.TextChoices):
    NAME = "name", _("氏名")
    KANA = "kana", _("フリガナ")
    CONTACT = "contact", _("連絡先（メール・電話）")
    SCHOOL = "school", _("学校・学部")
    BIRTH_DATE = "birth_date", _("生年月日")
    ADDRESS = "address", _("住所")
    SELECTION = "selection", _("選考情報")
    SENSITIVE = "sensitive", _("要配慮個人情報")
    FINANCIAL = "financial", _("財産的被害のおそれがある情報")


class DataIncident(models.Model):
    """The APPI side of a personal-data incident: awareness time, classification, report clocks."""

    incident = models.OneToOneField("incidents.Incident", on_delete=models.CASCADE, related_name="data")
    aware_at = models.DateTimeField(_("事態を把握した日時"))
    categories = models.JSONField(_("漏えい等したデータの項目"), default=list, blank=True)
    sensitive = models.BooleanField(_("要配慮個人情報を含む"), default=False)
    financial_risk = models.BooleanField(_("財産的被害のおそれ"), default=False)
    malicious = models.BooleanField(_("不正の目的によるおそれ"), default=False)
    preliminary_due = models.DateTimeField(_("速報の期限"))
    final_due = models.DateTimeField(_("確報の期限"))
    preliminary_sent_at = models.DateTimeField(null=True, blank=True)
    final_sent_at = models.DateTimeField(null=True, blank=True)
    preliminary_reminded_at = models.DateTimeField(null=True, blank=True)
    final_reminded_at = models.DateTimeField(null=True, blank=True)
    checklist = models.JSONField(_("報告事項"), default=dict, blank=True)
    # The audit log counts students of an export without naming them: the count still drives the 1,000 rule.
    people_estimate = models.PositiveIntegerField(_("本人の数（推定）"), default=0)

    def __str__(self) -> str:
        return f"data:{self.incident_id}"


class AffectedStudent(models.Model):
    """A student of a company whose record was in a suspicious export or read (id in that tenant's schema)."""

    data_incident = models.ForeignKey(DataIncident, on_delete=models.CASCADE, related_name="students")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
    candidate_id = models.BigIntegerField()
    notice_key = models.CharField(max_length=80, blank=True)
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    notice_error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["candidate_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["data_incident", "tenant", "candidate_id"], name="affected_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.candidate_id}"
