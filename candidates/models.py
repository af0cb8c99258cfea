"""Candidates: students (one per person), their job-board entries, university ranks (tenant schema)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Candidate(models.Model):
    """One student, however many entries (boards, re-entries) point at them."""

    family_name = models.CharField(_("姓"), max_length=100, blank=True)
    given_name = models.CharField(_("名"), max_length=100, blank=True)
    family_kana = models.CharField(_("セイ"), max_length=100, blank=True)
    given_kana = models.CharField(_("メイ"), max_length=100, blank=True)
    email = models.CharField(_("メールアドレス"), max_length=254, blank=True, db_index=True)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True, db_index=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    university_raw = models.CharField(_("大学名（入力どおり）"), max_length=200, blank=True)
    university = models.CharField(_("大学名（照合後）"), max_length=200, blank=True)
    rank = models.CharField(_("ランク"), max_length=1, default="Z", db_index=True)
    rank_is_manual = models.BooleanField(_("ランク手動設定"), default=False)
    graduation_year = models.PositiveSmallIntegerField(_("卒業年"), null=True, blank=True, db_index=True)
    status = models.CharField(_("選考ステータス"), max_length=40, default="entry", db_index=True)
    email_undeliverable = models.BooleanField(_("メール不達"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rank__regex=r"^[A-Z]$"), name="candidate_rank_letter"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name} {self.given_name}".strip() or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()
