"""Selection rounds of a season (説明会 → ES → 一次面接 → … → 内定), their evaluation forms and evaluations."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Round(models.Model):
    """One round of a season's flow; a student is in it while their status is the round's step."""

    season = models.ForeignKey(
        "seasons.Season", verbose_name=_("年度"), on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("名称"), max_length=60)
    position = models.PositiveSmallIntegerField(_("順番"), default=0)
    # The candidate status (candidates.SelectionStep key) of students in this round.
    step_key = models.CharField(_("選考ステップ"), max_length=40)
    # The interview students of this round book (its interviewers evaluate them), if the round has one.
    interview_type = models.ForeignKey(
        "booking.InterviewType",
        verbose_name=_("面接"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Who evaluates: these users only; nobody listed means the interviewers of the round's interview and
    # the company's recruiters.
    evaluators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("評価者"), blank=True, related_name="+"
    )
    pass_invites = models.BooleanField(_("合格で次の面接の予約を案内"), default=True)
    pass_step_mail = models.BooleanField(_("合格でステップメールを開始"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["season_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["season", "step_key"], name="round_one_per_step_and_season"),
        ]

    def __str__(self) -> str:
        return self.name


class CriterionKind(models.TextChoices):
    SCALE = "scale", _("5段階")
    CHOICE = "choice", _("選択肢")


class Criterion(models.Model):
    """One line of a round's evaluation form: a 1–5 scale or a choice among the listed answers."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="criteria")
    label = models.CharField(_("評価項目"), max_length=60)
    kind = models.CharField(
        _("形式"), max_length=8, choices=CriterionKind.choices, default=CriterionKind.SCALE
    )
    choices = models.JSONField(_("選択肢"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["round_id", "position", "id"]

    def __str__(self) -> str:
        return self.label


class Decision(models.TextChoices):
    PASS = "pass", _("合格")
    HOLD = "hold", _("保留")
    FAIL = "fail", _("不合格")


class Evaluation(models.Model):
    """One evaluator's form for one student in one round; the decision is recorded with who and when."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="evaluations")
    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="evaluations"
    )
    evaluator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The evaluator's address as it was, so the record keeps who decided after the account is gone.
    evaluator_name = models.CharField(max_length=254)
    decision = models.CharField(_("判定"), max_length=8, choices=Decision.choices)
    scores = models.JSONField(_("評価"), default=dict)  # criterion id (str) -> 1..5 or the chosen answer
    comment = models.TextField(_("コメント"), blank=True)
    decided_at = models.DateTimeField(_("判定日時"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round__position", "decided_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["round", "candidate", "evaluator"], name="evaluation_one_per_evaluator"
            ),
            models.CheckConstraint(
                condition=Q(decision__in=["pass", "hold", "fail"]), name="evaluation_decision_known"
            ),
        ]
        indexes = [models.Index(fields=["candidate", "round"], name="evaluation_candidate_round")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.candidate_id}:{self.decision}"


class OfferStatus(models.TextChoices):
    ISSUED = "issued", _("回答待ち")
    ACCEPTED = "accepted", _("承諾")
    DECLINED = "declined", _("辞退")
    EXPIRED = "expired", _("期限切れ")


class DeclineReason(models.TextChoices):
    OTHER_COMPANY = "other_company", _("他社への入社を決めたため")
    STUDY = "study", _("進学するため")
    LOCATION = "location", _("勤務地のため")
    WORK = "work", _("仕事内容のため")
    CONDITIONS = "conditions", _("給与・待遇のため")
    PERSONAL = "personal", _("一身上の都合")
    OTHER = "other", _("その他")


class OfferLetter(models.Model):
    """A season's 内定通知書: subject and body with {{ 変数 }} placeholders (selection.offers.LETTER_VARIABLES)."""

    season = models.OneToOneField("seasons.Season", on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.subject


class Offer(models.Model):
    """An offer (内定) to one student: the letter as sent, the acceptance deadline, the answer with its reason."""

    season = models.ForeignKey("seasons.Season", on_delete=models.PROTECT, related_name="+")
    candidate = models.ForeignKey("candidates.Candidate", on_delete=models.CASCADE, related_name="offers")
    status = models.CharField(
        _("状態"), max_length=10, choices=OfferStatus.choices, default=OfferStatus.ISSUED
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_by_name = models.CharField(max_length=254)
    issued_at = models.DateTimeField(_("内定日"))
    deadline = models.DateTimeField(_("承諾期限"))
    start_date = models.DateField(_("入社予定日"))
    letter_subject = models.CharField(max_length=200)
    letter_body = models.TextField()
    responded_at = models.DateTimeField(_("回答日時"), null=True, blank=True)
    decline_reason = models.CharField(_("辞退理由"), max_length=20, choices=DeclineReason.choices, blank=True)
    decline_note = models.CharField(_("辞退理由（自由記述）"), max_length=500, blank=True)
    # How many deadline reminders went out (OFFER_REMINDER_DAYS, the earliest first).
    reminders_sent = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["candidate"],
                condition=Q(status__in=["issued", "accepted"]),
                name="offer_one_open_per_candidate",
            ),
            models.CheckConstraint(
                condition=Q(deadline__gt=models.F("issued_at")), name="offer_deadline_after_issue"
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""), name="offer_decline_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["status", "deadline"], name="offer_status_deadline")]

    def __str__(self) -> str:
        return f"offer {self.pk} ({self.status})"


class EntrySheet(models.Model):
    """A season's エントリーシート: questions students answer on the My Page before the deadline."""

    season = models.OneToOneField("seasons.Season", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("名称"), max_length=100, default=_("エントリーシート"))
    intro = models.TextField(_("説明"), blank=True)
    deadline = models.DateTimeField(_("提出期限"), null=True, blank=True)
    is_open = models.BooleanField(_("受付中"), default=False)
    # The round whose evaluation form scores the sheets (recruiters decide in the same flow).
    round = models.ForeignKey(
        Round, verbose_name=_("評価する選考"), null=True, blank=True, on_delete=models.SET_NULL
    )

    def __str__(self) -> str:
        return self.title


class QuestionKind(models.TextChoices):
    TEXT = "text", _("文章")
    CHOICE = "choice", _("選択肢")
    FILE = "file", _("ファイル（PDF・画像）")


class Question(models.Model):
    sheet = models.ForeignKey(EntrySheet, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField(_("設問"), max_length=300)
    kind = models.CharField(_("形式"), max_length=8, choices=QuestionKind.choices, default=QuestionKind.TEXT)
    required = models.BooleanField(_("必須"), default=True)
    max_length = models.PositiveSmallIntegerField(_("文字数の上限"), default=400)
    choices = models.JSONField(_("選択肢"), default=list, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sheet_id", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_length__gte=1, max_length__lte=4000), name="question_max_length_range"
            )
        ]

    def __str__(self) -> str:
        return self.label


class Submission(models.Model):
    """One student's sheet: a draft saved as they type, then submitted once (read-only from then on)."""

    sheet = models.ForeignKey(EntrySheet, on_delete=models.CASCADE, related_name="submissions")
    candidate = models.ForeignKey(
        "candidates.Candidate", on_delete=models.CASCADE, related_name="entry_sheets"
    )
    submitted_at = models.DateTimeField(_("提出日時"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sheet", "candidate"], name="submission_one_per_student")
        ]

    def __str__(self) -> str:
        return f"submission {self.pk}"


def answer_file_path(_instance: object, filename: str) -> str:
    """A random name (no student's name in paths), keeping the checked extension."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"entry-sheets/{uuid.uuid4().hex}.{extension}"


class Answer(models.Model):
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(blank=True)
    # An uploaded PDF or image: stored under the company's folder, served only to its staff (and the student).
    file = models.FileField(upload_to=answer_file_path, blank=True, max_length=300)
    file_name = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "question"], name="answer_one_per_question")
        ]

    def __str__(self) -> str:
        return f"answer {self.pk}"
