"""What selection holds about a student (evaluations; offers with their letters and answers), for 開示 and 削除."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from candidates.personal_data import PersonalDataHolder
from selection.models import Answer, Evaluation, Offer, Submission


def evaluations_collect(candidate_ids: list[int]) -> list[dict[str, Any]]:
    rows = []
    for evaluation in (
        Evaluation.objects.filter(candidate_id__in=candidate_ids)
        .select_related("round")
        .prefetch_related("round__criteria")
    ):
        labels = {str(item.pk): item.label for item in evaluation.round.criteria.all()}
        rows.append(
            {
                "type": "evaluation",
                "round": evaluation.round.name,
                "evaluator": evaluation.evaluator_name,
                "decision": evaluation.get_decision_display(),
                "answers": {labels.get(key, key): value for key, value in evaluation.scores.items()},
                "comment": evaluation.comment,
                "decided_at": timezone.localtime(evaluation.decided_at).isoformat(),
            }
        )
    return rows


def evaluations_erase(candidate_ids: list[int], *, keep_statistics: bool) -> int:
    """Anonymising keeps the decisions (pass rates) without the words written about the student."""
    evaluations = Evaluation.objects.filter(candidate_id__in=candidate_ids)
    if keep_statistics:
        return evaluations.update(comment="", scores={})
    return evaluations.delete()[0]


def evaluations_holder() -> PersonalDataHolder:
    return PersonalDataHolder(
        key="evaluations",
        label=_("選考の評価"),
        collect=evaluations_collect,
        erase=evaluations_erase,
    )


def offers_collect(candidate_ids: list[int]) -> list[dict[str, Any]]:
    return [
        {
            "type": "offer",
            "status": offer.get_status_display(),
            "issued_at": timezone.localtime(offer.issued_at).isoformat(),
            "deadline": timezone.localtime(offer.deadline).isoformat(),
            "start_date": offer.start_date.isoformat(),
            "letter": f"{offer.letter_subject}\n{offer.letter_body}",
            "answered_at": timezone.localtime(offer.responded_at).isoformat() if offer.responded_at else None,
            "decline_reason": offer.get_decline_reason_display(),
            "decline_note": offer.decline_note,
        }
        for offer in Offer.objects.filter(candidate_id__in=candidate_ids)
    ]


def offers_erase(candidate_ids: list[int], *, keep_statistics: bool) -> int:
    """Anonymising keeps the offer's outcome and reason (who will join, why students decline), not the letter."""
    offers = Offer.objects.filter(candidate_id__in=candidate_ids)
    if keep_statistics:
        return offers.update(letter_body="", decline_note="")
    return offers.delete()[0]


def offers_holder() -> PersonalDataHolder:
    return PersonalDataHolder(key="offers", label=_("内定"), collect=offers_collect, erase=offers_erase)


def entry_sheets_collect(candidate_ids: list[int]) -> list[dict[str, Any]]:
    rows = []
    for submission in Submission.objects.filter(candidate_id__in=candidate_ids).select_related("sheet"):
        answers = Answer.objects.filter(submission=submission).select_related("question")
        rows.append(
            {
                "type": "entry_sheet",
                "sheet": submission.sheet.title,
                "submitted_at": timezone.localtime(submission.submitted_at).isoformat()
                if submission.submitted_at
                else None,
                "answers": {answer.question.label: answer.file_name or answer.text for answer in answers},
            }
        )
    return rows


def entry_sheets_erase(candidate_ids: list[int], *, keep_statistics: bool) -> int:
    """Answers and attachments go (the files after the transaction commits); anonymising keeps nothing either:
    an answer is the student's own words."""
    answers = Answer.objects.filter(submission__candidate_id__in=candidate_ids).exclude(file="")
    files = [(answer.file.storage, str(answer.file.name)) for answer in answers]

    def remove() -> None:
        for storage, name in files:
            storage.delete(name)

    transaction.on_commit(remove)
    return Submission.objects.filter(candidate_id__in=candidate_ids).delete()[0]


def entry_sheets_holder() -> PersonalDataHolder:
    return PersonalDataHolder(
        key="entry_sheets",
        label=_("エントリーシート"),
        collect=entry_sheets_collect,
        erase=entry_sheets_erase,
    )
