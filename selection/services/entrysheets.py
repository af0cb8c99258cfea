"""エントリーシート writes: the season's sheet and questions, a student's draft as they type, uploads, submission.

Uploads are checked by what they are, not what they say: a PDF, PNG or JPEG by its first bytes, at most
FILE_MAX_BYTES, one per request (saas/bodylimit.py holds the request's limit). After the deadline, or once
submitted, nothing changes.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from candidates.models import Candidate, CandidateEvent
from candidates.textnorm import nfkc
from selection.errors import SelectionError
from selection.models import Answer, EntrySheet, Question, QuestionKind, Round, Submission

if TYPE_CHECKING:
    from seasons.models import Season

FILE_MAX_BYTES = 5 * 1024 * 1024
# What a file must start with, and the extension it is stored under.
FILE_SIGNATURES = ((b"%PDF-", "pdf"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"))
TEXT_LIMIT = 4000


@transaction.atomic
def sheet_for(*, season: Season) -> EntrySheet:
    sheet, _created = EntrySheet.objects.get_or_create(season=season)
    return sheet


@transaction.atomic
def sheet_update(
    *,
    sheet: EntrySheet,
    title: str,
    intro: str,
    deadline: dt.datetime | None,
    is_open: bool,
    round: Round | None,
) -> EntrySheet:
    if round is not None and round.season_id != sheet.season_id:
        raise SelectionError(gettext("この年度の選考を選んでください。"))
    sheet.title = nfkc(title)[:100] or gettext("エントリーシート")
    sheet.intro, sheet.deadline, sheet.is_open, sheet.round = intro.strip()[:4000], deadline, is_open, round
    sheet.save()
    return sheet


@transaction.atomic
def question_add(
    *,
    sheet: EntrySheet,
    label: str,
    kind: str,
    required: bool = True,
    max_length: int = 400,
    choices_text: str = "",
) -> Question:
    text = label.strip()[:300]
    if not text:
        raise SelectionError(gettext("設問を入力してください。"))
    if kind not in QuestionKind.values:
        raise SelectionError(gettext("形式を選んでください。"))
    if not 1 <= max_length <= TEXT_LIMIT:
        raise SelectionError(
            gettext("文字数の上限は1〜%(limit)sで入力してください。") % {"limit": TEXT_LIMIT}
        )
    choices: list[str] = []
    if kind == QuestionKind.CHOICE:
        # i18n: data — the Japanese comma recruiters type is accepted as a separator
        choices = list(
            dict.fromkeys(p for p in (nfkc(part)[:60] for part in re.split(r"[,、\n]", choices_text)) if p)
        )
        if not 2 <= len(choices) <= 20:
            raise SelectionError(gettext("選択肢は2〜20個、カンマ区切りで入力してください。"))
    position = Question.objects.filter(sheet=sheet).count()
    return Question.objects.create(
        sheet=sheet,
        label=text,
        kind=kind,
        required=required,
        max_length=max_length,
        choices=choices,
        position=position,
    )


@transaction.atomic
def question_delete(*, sheet: EntrySheet, question_id: int) -> None:
    if Submission.objects.filter(sheet=sheet, submitted_at__isnull=False).exists():
        raise SelectionError(gettext("提出済みのエントリーシートがあるため、設問は削除できません。"))
    Question.objects.filter(sheet=sheet, pk=question_id).delete()


def _writable(*, sheet: EntrySheet, candidate: Candidate, now: dt.datetime) -> Submission:
    """The student's draft, locked, if the sheet still takes answers from them; else a clear refusal."""
    if sheet.season_id != candidate.season_id or not sheet.is_open:
        raise SelectionError(gettext("エントリーシートは現在受け付けていません。"))
    if sheet.deadline is not None and now >= sheet.deadline:
        raise SelectionError(gettext("提出期限を過ぎたため、エントリーシートは変更・提出できません。"))
    Submission.objects.get_or_create(sheet=sheet, candidate=candidate)
    submission = Submission.objects.select_for_update().get(sheet=sheet, candidate=candidate)
    if submission.submitted_at is not None:
        raise SelectionError(gettext("エントリーシートは提出済みです。"))
    return submission


def _cleaned(*, question: Question, value: str) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if question.kind == QuestionKind.TEXT and len(text) > question.max_length:
        raise SelectionError(
            gettext("「%(label)s」は%(limit)s文字以内で入力してください（現在%(length)s文字）。")
            % {"label": question.label[:30], "limit": question.max_length, "length": len(text)}
        )
    if question.kind == QuestionKind.CHOICE and text and text not in question.choices:
        raise SelectionError(
            gettext("「%(label)s」は選択肢から選んでください。") % {"label": question.label[:30]}
        )
    return text


@transaction.atomic
def draft_save(
    *, sheet: EntrySheet, candidate: Candidate, answers: dict[str, str], now: dt.datetime | None = None
) -> Submission:
    """Save what the student has typed so far (text and choices; files come through answer_file_save)."""
    submission = _writable(sheet=sheet, candidate=candidate, now=now or timezone.now())
    for question in sheet.questions.exclude(kind=QuestionKind.FILE):
        key = str(question.pk)
        if key in answers:
            Answer.objects.update_or_create(
                submission=submission,
                question=question,
                defaults={"text": _cleaned(question=question, value=answers[key])},
            )
    submission.save(update_fields=["updated_at"])
    return submission


def _file_kind(upload: UploadedFile[Any]) -> str:
    if upload.size is None or upload.size > FILE_MAX_BYTES:
        raise SelectionError(
            gettext("ファイルは%(size)sMB以内にしてください。") % {"size": FILE_MAX_BYTES // (1024 * 1024)}
        )
    head = upload.read(16)
    upload.seek(0)
    for signature, extension in FILE_SIGNATURES:
        if head.startswith(signature):
            return extension
    raise SelectionError(gettext("アップロードできるのは PDF・PNG・JPEG のファイルだけです。"))


@transaction.atomic
def answer_file_save(
    *,
    sheet: EntrySheet,
    candidate: Candidate,
    question_id: int,
    upload: UploadedFile[Any],
    now: dt.datetime | None = None,
) -> Answer:
    question = Question.objects.filter(sheet=sheet, pk=question_id, kind=QuestionKind.FILE).first()
    if question is None:
        raise SelectionError(gettext("ファイルを添付する設問が見つかりません。"))
    submission = _writable(sheet=sheet, candidate=candidate, now=now or timezone.now())
    extension = _file_kind(upload)
    answer, _created = Answer.objects.get_or_create(submission=submission, question=question)
    old = answer.file.name if answer.file else ""
    shown = (upload.name or "file").rsplit("/", 1)[-1][:150]
    answer.file.save(f"upload.{extension}", upload, save=False)
    answer.file_name = shown
    answer.save(update_fields=["file", "file_name"])
    if old:
        storage, name = answer.file.storage, old
        transaction.on_commit(lambda: storage.delete(name))
    return answer


@transaction.atomic
def sheet_submit(
    *, sheet: EntrySheet, candidate: Candidate, answers: dict[str, str], now: dt.datetime | None = None
) -> Submission:
    """Save the last answers, check every required question is answered, then submit (once)."""
    now = now or timezone.now()
    submission = draft_save(sheet=sheet, candidate=candidate, answers=answers, now=now)
    given = {answer.question_id: answer for answer in submission.answers.all()}
    for question in sheet.questions.filter(required=True):
        answer = given.get(question.pk)
        if answer is None or not (answer.file if question.kind == QuestionKind.FILE else answer.text):
            raise SelectionError(
                gettext("「%(label)s」に回答してください。") % {"label": question.label[:30]},
                question_id=question.pk,
            )
    Submission.objects.filter(pk=submission.pk, submitted_at__isnull=True).update(submitted_at=now)
    submission.submitted_at = now
    # i18n: data — the student's history records what happened
    CandidateEvent.objects.create(candidate=candidate, kind="entry_sheet", message=f"{sheet.title}を提出")
    return submission
