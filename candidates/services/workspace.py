"""Recruiters' edits on one candidate: notes, selection status, tags."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from candidates.errors import CandidateError
from candidates.models import Candidate, CandidateEvent, Note, SelectionStep, Tag
from candidates.textnorm import nfkc
from candidates.webhook_events import candidate_updated_emit


def _actor(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


@transaction.atomic
def note_add(*, candidate: Candidate, body: str, user: Any) -> Note:
    text = body.strip()
    if not text:
        raise CandidateError(gettext("メモを入力してください。"))
    if len(text) > 5000:
        raise CandidateError(gettext("メモは5000文字以内で入力してください。"))
    return Note.objects.create(candidate=candidate, body=text, author=_actor(user))


@transaction.atomic
def candidate_status_set(*, candidate: Candidate, status: str, user: Any) -> Candidate:
    step = SelectionStep.objects.filter(key=status).first()
    if step is None:
        raise CandidateError(gettext("選考ステータスが正しくありません。"))
    old = candidate.status
    if old == status:
        return candidate
    Candidate.objects.filter(pk=candidate.pk).update(status=status)
    candidate.status = status
    old_label = SelectionStep.objects.filter(key=old).values_list("label", flat=True).first() or old
    # i18n: data — the student's history records what happened
    CandidateEvent.objects.create(
        candidate=candidate,
        kind="status",
        message=f"選考ステータス: {old_label} → {step.label}",
        user=_actor(user),
    )
    candidate_updated_emit(candidate_ids=[candidate.pk], changed=["status"])
    return candidate


@transaction.atomic
def candidate_tag_add(*, candidate: Candidate, name: str, user: Any) -> Tag:
    label = nfkc(name)[:40]
    if not label:
        raise CandidateError(gettext("タグ名を入力してください。"))
    tag, _created = Tag.objects.get_or_create(name=label)
    candidate.tags.add(tag)
    # i18n: data — the student's history records what happened
    CandidateEvent.objects.create(
        candidate=candidate, kind="tag", message=f"タグを追加: {label}", user=_actor(user)
    )
    candidate_updated_emit(candidate_ids=[candidate.pk], changed=["tags"])
    return tag


@transaction.atomic
def candidate_tag_remove(*, candidate: Candidate, tag_id: int, user: Any) -> None:
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is not None:
        candidate.tags.remove(tag)
        # i18n: data — the student's history records what happened
        CandidateEvent.objects.create(
            candidate=candidate, kind="tag", message=f"タグを削除: {tag.name}", user=_actor(user)
        )
        candidate_updated_emit(candidate_ids=[candidate.pk], changed=["tags"])


@transaction.atomic
def selection_step_add(*, key: str, label: str) -> SelectionStep:
    """Add a step at the end of the selection flow (key: lower-case letters, digits, hyphens)."""
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", key or ""):
        raise CandidateError(
            gettext("キーは半角英小文字で始まる英数字・ハイフン（40文字以内）で入力してください。"),
            field="key",
        )
    name = nfkc(label)[:60]
    if not name:
        raise CandidateError(gettext("表示名を入力してください。"), field="label")
    if SelectionStep.objects.filter(key=key).exists():
        raise CandidateError(gettext("そのキーはすでに使われています。"), field="key")
    last = SelectionStep.objects.order_by("-position").values_list("position", flat=True).first() or 0
    return SelectionStep.objects.create(key=key, label=name, position=last + 1)


@transaction.atomic
def selection_step_update(*, step_id: int, label: str, move: str = "") -> None:
    """Rename a step, or move it one place up or down."""
    steps = list(SelectionStep.objects.select_for_update().order_by("position", "id"))
    index = next((i for i, step in enumerate(steps) if step.pk == step_id), None)
    if index is None:
        raise CandidateError(gettext("ステップが見つかりません。"))
    if label and nfkc(label):
        steps[index].label = nfkc(label)[:60]
    target = index - 1 if move == "up" else index + 1 if move == "down" else index
    if 0 <= target < len(steps):
        steps[index], steps[target] = steps[target], steps[index]
    for position, step in enumerate(steps):
        step.position = position
    SelectionStep.objects.bulk_update(steps, fields=["label", "position"])


@transaction.atomic
def selection_step_delete(*, step_id: int) -> None:
    step = SelectionStep.objects.select_for_update().filter(pk=step_id).first()
    if step is None:
        raise CandidateError(gettext("ステップが見つかりません。"))
    in_use = Candidate.objects.filter(status=step.key).count()
    if in_use:
        raise CandidateError(
            gettext("「%(label)s」の学生が%(count)s名いるため削除できません。")
            % {"label": step.label, "count": in_use}
        )
    step.delete()
