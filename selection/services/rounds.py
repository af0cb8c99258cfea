"""Round writes: a season's rounds and their forms, evaluations, and what a pass sets in motion.

A pass moves the student to the next round through moves.py::round_enter, the same service as a move by
hand (one conditional UPDATE: a second evaluator's pass moves nobody twice; then, after commit, the
invitation to book the next round's interview and the step mails of the new status).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from booking.models import InterviewType
from candidates.models import Candidate, CandidateEvent, SelectionStep
from candidates.textnorm import nfkc
from selection.errors import EvaluationNotAllowed, SelectionError
from selection.models import Criterion, CriterionKind, Decision, Evaluation, Round
from selection.selectors import evaluation_allowed, round_next
from selection.services.moves import round_enter

if TYPE_CHECKING:
    from accounts.models import User
    from seasons.models import Season

COMMENT_LIMIT = 4000
CHOICES_LIMIT = 10


@transaction.atomic
def round_create(
    *,
    season: Season,
    name: str,
    step_key: str = "",
    interview_type: InterviewType | None = None,
    evaluators: list[User] | None = None,
    pass_invites: bool = True,
    pass_step_mail: bool = True,
) -> Round:
    """Add a round at the end of the season's flow; without a step, a new selection step named like it."""
    label = nfkc(name)[:60]
    if not label:
        raise SelectionError(gettext("選考の名称を入力してください。"))
    if interview_type is not None and interview_type.season_id != season.pk:
        raise SelectionError(gettext("この年度の面接を選んでください。"))
    if step_key:
        if not SelectionStep.objects.filter(key=step_key).exists():
            raise SelectionError(gettext("選考ステップが正しくありません。"))
    else:
        step_key = _step_for(label=label)
    last = Round.objects.filter(season=season).aggregate(last=Max("position"))["last"]
    try:
        with transaction.atomic():
            created = Round.objects.create(
                season=season,
                name=label,
                step_key=step_key,
                interview_type=interview_type,
                position=0 if last is None else last + 1,
                pass_invites=pass_invites,
                pass_step_mail=pass_step_mail,
            )
    except IntegrityError:
        raise SelectionError(gettext("この選考ステップの選考はすでにあります。")) from None
    created.evaluators.set(evaluators or [])
    return created


def _step_for(*, label: str) -> str:
    """A selection step of its own for a new round (the candidate list filters and shows steps)."""
    last = SelectionStep.objects.aggregate(last=Max("position"))["last"] or 0
    index = SelectionStep.objects.filter(key__startswith="round-").count() + 1
    while SelectionStep.objects.filter(key=f"round-{index}").exists():
        index += 1
    step = SelectionStep.objects.create(key=f"round-{index}", label=label, position=last + 1)
    return step.key


@transaction.atomic
def round_move(*, round: Round, direction: str) -> None:
    """Move a round one place earlier ("up") or later ("down") in its season's flow."""
    rounds = list(
        Round.objects.select_for_update().filter(season_id=round.season_id).order_by("position", "id")
    )
    index = next((i for i, row in enumerate(rounds) if row.pk == round.pk), None)
    if index is None:
        raise SelectionError(gettext("選考が見つかりません。"))
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(rounds):
        rounds[index], rounds[target] = rounds[target], rounds[index]
    for position, row in enumerate(rounds):
        row.position = position
    Round.objects.bulk_update(rounds, fields=["position"])


@transaction.atomic
def round_delete(*, round: Round) -> None:
    if Evaluation.objects.filter(round=round).exists():
        raise SelectionError(gettext("「%(name)s」には評価があるため削除できません。") % {"name": round.name})
    round.delete()


@transaction.atomic
def criterion_add(*, round: Round, label: str, kind: str, choices_text: str = "") -> Criterion:
    """Add a line to the round's form: a 1–5 scale, or a choice among answers (separated by commas or lines)."""
    text = nfkc(label)[:60]
    if not text:
        raise SelectionError(gettext("評価項目を入力してください。"))
    if kind not in CriterionKind.values:
        raise SelectionError(gettext("形式を選んでください。"))
    choices: list[str] = []
    if kind == CriterionKind.CHOICE:
        # i18n: data — the Japanese comma recruiters type is accepted as a separator
        choices = list(
            dict.fromkeys(part for part in (nfkc(p)[:40] for p in re.split(r"[,、\n]", choices_text)) if part)
        )
        if not 2 <= len(choices) <= CHOICES_LIMIT:
            raise SelectionError(
                gettext("選択肢は2〜%(limit)s個、カンマ区切りで入力してください。") % {"limit": CHOICES_LIMIT}
            )
    last = Criterion.objects.filter(round=round).aggregate(last=Max("position"))["last"]
    return Criterion.objects.create(
        round=round, label=text, kind=kind, choices=choices, position=0 if last is None else last + 1
    )


@transaction.atomic
def criterion_delete(*, round: Round, criterion_id: int) -> None:
    Criterion.objects.filter(round=round, pk=criterion_id).delete()


def _scores_clean(*, round: Round, scores: dict[str, Any]) -> dict[str, Any]:
    """Every criterion answered, each within its scale or its listed answers."""
    cleaned: dict[str, Any] = {}
    for criterion in Criterion.objects.filter(round=round):
        raw = str(scores.get(str(criterion.pk), "") or "").strip()
        if not raw:
            raise SelectionError(gettext("「%(label)s」を評価してください。") % {"label": criterion.label})
        if criterion.kind == CriterionKind.SCALE:
            if raw not in {"1", "2", "3", "4", "5"}:
                raise SelectionError(
                    gettext("「%(label)s」は1〜5で評価してください。") % {"label": criterion.label}
                )
            cleaned[str(criterion.pk)] = int(raw)
        else:
            if raw not in criterion.choices:
                raise SelectionError(
                    gettext("「%(label)s」は選択肢から選んでください。") % {"label": criterion.label}
                )
            cleaned[str(criterion.pk)] = raw
    return cleaned


@transaction.atomic
def evaluation_save(
    *,
    round: Round,
    candidate: Candidate,
    user: User,
    decision: str,
    scores: dict[str, Any],
    comment: str = "",
) -> Evaluation:
    """Record (or correct) this evaluator's form for the student; a pass moves them to the next round."""
    if not evaluation_allowed(user=user, round=round, candidate=candidate):
        raise EvaluationNotAllowed(gettext("この学生のこの選考を評価する権限がありません。"))
    if decision not in Decision.values:
        raise SelectionError(gettext("合格・保留・不合格のいずれかを選んでください。"))
    text = (comment or "").strip()
    if len(text) > COMMENT_LIMIT:
        raise SelectionError(
            gettext("コメントは%(limit)s文字以内で入力してください。") % {"limit": COMMENT_LIMIT}
        )
    values = _scores_clean(round=round, scores=scores)
    now = timezone.now()
    evaluation, _created = Evaluation.objects.update_or_create(
        round=round,
        candidate=candidate,
        evaluator=user,
        defaults={
            "evaluator_name": user.display_name or user.email,
            "decision": decision,
            "scores": values,
            "comment": text,
            "decided_at": now,
        },
    )
    # i18n: data — the student's history records what happened
    CandidateEvent.objects.create(
        candidate=candidate,
        kind="evaluation",
        message=f"{round.name}: {Decision(decision).label}（{evaluation.evaluator_name}）",
        user=user,
    )
    if decision == Decision.PASS:
        _pass_apply(round=round, candidate=candidate, user=user)
    return evaluation


def _pass_apply(*, round: Round, candidate: Candidate, user: User) -> None:
    following = round_next(current=round)
    if following is None:
        return
    # i18n: data — the student's history records what happened
    moved = round_enter(
        candidate_ids=[candidate.pk],
        into=following,
        user=user,
        message=f"選考ステータス: {round.name} → {following.name}",
        passed=round,
        from_step=round.step_key,
    )
    if moved:  # else already moved on (another evaluator's pass) or moved by hand: nothing to repeat
        candidate.status = following.step_key
