"""What selection holds about a student (evaluations: decisions, answers, comments), for 開示 and 削除."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from candidates.personal_data import PersonalDataHolder
from selection.models import Evaluation


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
