"""Candidates: students (one per person), their job-board entries, university ranks (tenant schema)."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from candidates.models.ranks import RankRule, RankSettings, RerankRun, UniversityAlias


class Candidate(models.Model):
    """One student, however many entries (boards, re-entries) point at them."""

    family_name = models.CharField(_("姓"), max_length=100, blank=True)
    given_name = models.CharField(_("名"), max_length=100, blank=True)
    family_kana = models.CharField(_("セイ"), max_length=100, blank=True)
    given_kana = models.CharField(_("メイ"), max_length=100, blank=True)
    email = models.CharField(_("メールアドレス"), max_length=254, blank=True)
    phone = models.CharField(_("電話番号"), max_length=20, blank=True)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    university_raw = models.CharField(_("大学名（入力どおり）"), max_length=200, blank=True)
    university = models.CharField(_("大学名（照合後）"), max_length=200, blank=True)
    rank = models.CharField(_("ランク"), max_length=1, default="Z")
    rank_is_manual = models.BooleanField(_("ランク手動設定"), default=False)
    graduation_year = models.PositiveSmallIntegerField(_("卒業年"), null=True, blank=True)
    status = models.CharField(_("選考ステータス"), max_length=40, default="entry")
    email_undeliverable = models.BooleanField(_("メール不達"), default=False)
    # Set when the retention policy anonymised the student: the row stays for figures, hidden from lists.
    anonymised_at = models.DateTimeField(_("匿名化日時"), null=True, blank=True, editable=False)
    # Added by the import work (additive): kana + birth date + school, for possible-duplicate flags.
    duplicate_key = models.CharField(_("重複候補キー"), max_length=300, blank=True, editable=False)
    # A candidate merged into another stays (hidden) so that the merge can be undone.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("統合先"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # see the partial index in Meta: almost every candidate has none
    )
    tags = models.ManyToManyField(
        "candidates.Tag", verbose_name=_("タグ"), blank=True, related_name="candidates"
    )
    # The database picks it when a row comes without one (imports, forms, other apps): the graduation year's
    # season, else the default one (seasons migration 0001); a changed graduation year moves the student.
    season = models.ForeignKey(
        "seasons.Season",
        verbose_name=_("年度"),
        on_delete=models.PROTECT,
        related_name="+",
        db_default=None,
        db_index=False,  # candidate_season_id below serves the lists
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rank__regex=r"^[A-Z]$"), name="candidate_rank_letter"),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")), name="candidate_not_merged_into_self"
            ),
        ]
        # Plain B-tree indexes declared here rather than db_index=True on the fields: the same
        # equality and range lookups, without the extra varchar_pattern_ops ("_like") index Django
        # adds for each indexed CharField, which only slowed down every imported row.
        indexes = [
            models.Index(fields=["email"], name="candidate_email"),
            models.Index(fields=["phone"], name="candidate_phone"),
            models.Index(fields=["rank"], name="candidate_rank"),
            models.Index(fields=["graduation_year"], name="candidate_graduation_year"),
            models.Index(fields=["season", "id"], name="candidate_season_id"),
            models.Index(fields=["status"], name="candidate_status"),
            models.Index(
                fields=["duplicate_key"],
                name="candidate_duplicate_key",
                condition=~models.Q(duplicate_key=""),
            ),
            models.Index(
                fields=["merged_into"],
                name="candidate_merged_into",
                condition=models.Q(merged_into__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family_name} {self.given_name}".strip() or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}".strip()


class CandidateKey(models.Model):
    """A strong identity key (normalised e-mail, mobile number, board member ID) owned by one candidate.

    The unique constraint is the dedupe invariant: one key can never point at two people, so an
    import that races another cannot create two candidates for the same address.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", _("メールアドレス")
        MOBILE = "mobile", _("携帯電話番号")
        MEMBER = "member", _("媒体会員ID")

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="keys")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=300)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="candidate_key_unique")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class ImportMapping(models.Model):
    """A recruiter's saved column mapping for a board without a preset (canonical field -> header)."""

    name = models.SlugField(_("名前（英数字）"), max_length=40, unique=True)
    label = models.CharField(_("表示名"), max_length=100)
    columns = models.JSONField(_("列の対応"), default=dict)

    def __str__(self) -> str:
        return self.label


class ImportJob(models.Model):
    """One uploaded file imported in the background, with its progress and final report."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待機中")
        RUNNING = "running", _("取り込み中")
        DONE = "done", _("完了")
        FAILED = "failed", _("失敗")

    status = models.CharField(_("状態"), max_length=10, choices=Status.choices, default=Status.PENDING)
    filename = models.CharField(_("ファイル名"), max_length=255)
    stored_path = models.CharField(max_length=500, blank=True, editable=False)
    board = models.CharField(_("媒体"), max_length=40, blank=True)
    encoding = models.CharField(_("文字コード"), max_length=20, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)  # estimated from the line count, for the progress bar
    rows_processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.filename


class Entry(models.Model):
    """One row of one job-board export: the original cells as they came, plus normalised fields."""

    board = models.CharField(_("媒体"), max_length=40)
    board_member_id = models.CharField(_("媒体会員ID"), max_length=100, blank=True)
    # The member ID when the board gives one, else a hash of the row: re-importing is a no-op.
    dedupe_key = models.CharField(max_length=100, editable=False)
    row_hash = models.CharField(max_length=40, editable=False)
    # Indexed through entry_candidate_board (candidate first); a second index would only slow imports.
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="entries", db_index=False)
    source_import = models.ForeignKey(
        ImportJob,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # only followed from an entry to its job, never the other way in bulk
    )
    line = models.PositiveIntegerField(_("行番号"), default=0)
    original = models.JSONField(_("元の行"), default=dict)
    family_name = models.CharField(max_length=100, blank=True)
    given_name = models.CharField(max_length=100, blank=True)
    family_kana = models.CharField(max_length=100, blank=True)
    given_kana = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    university_raw = models.CharField(max_length=200, blank=True)
    faculty = models.CharField(max_length=200, blank=True)
    graduation_year = models.PositiveSmallIntegerField(null=True, blank=True)
    entry_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["board", "dedupe_key"], name="entry_unique_per_board")]
        indexes = [models.Index(fields=["candidate", "board"], name="entry_candidate_board")]

    def __str__(self) -> str:
        return f"{self.board}:{self.board_member_id or self.dedupe_key}"


class AuditEntry(models.Model):
    """Who read, exported, merged or deleted student data: how many students, when, from where."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(_("操作者"), max_length=254, blank=True)
    action = models.CharField(_("操作"), max_length=40, db_index=True)
    target = models.CharField(_("対象"), max_length=200, blank=True)
    student_count = models.PositiveIntegerField(_("学生数"), default=0)
    # Whose records an export or bulk read touched (ids only): the affected students of a leak come from here.
    candidate_ids = ArrayField(
        models.BigIntegerField(), verbose_name=_("対象の学生ID"), default=list, blank=True
    )
    # The filter an export used (search words are never stored, only whether there were any).
    filters = models.JSONField(_("絞り込み条件"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    created_at = models.DateTimeField(_("日時"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.action} ({self.student_count})"


class SelectionStep(models.Model):
    """A configurable step of the selection flow (エントリー → 説明会 → 面接 → 内定 …)."""

    key = models.SlugField(max_length=40, unique=True)
    label = models.CharField(_("表示名"), max_length=60)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label


class Tag(models.Model):
    name = models.CharField(_("タグ"), max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Note(models.Model):
    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    body = models.TextField(_("メモ"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"note #{self.pk}"


class CandidateEvent(models.Model):
    """The candidate's history: created, entries added, rank changes, status, merges."""

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)
    message = models.CharField(max_length=500)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["candidate", "-id"], name="event_candidate_id")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


from candidates.models.duplicates import MergeRecord, PossibleDuplicate  # noqa: E402
from candidates.models.privacy import (  # noqa: E402
    PRIVACY_REQUEST_TARGET_DAYS,
    ErasedRow,
    PrivacyRequest,
    RetentionPolicy,
)

__all__ = [
    "PRIVACY_REQUEST_TARGET_DAYS",
    "AuditEntry",
    "Candidate",
    "CandidateEvent",
    "CandidateKey",
    "Entry",
    "ErasedRow",
    "ImportJob",
    "ImportMapping",
    "MergeRecord",
    "Note",
    "PossibleDuplicate",
    "PrivacyRequest",
    "RankRule",
    "RankSettings",
    "RerankRun",
    "RetentionPolicy",
    "SelectionStep",
    "Tag",
    "UniversityAlias",
]
