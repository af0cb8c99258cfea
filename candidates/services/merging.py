"""Merging two candidates a recruiter confirmed are one person, undoing it, dismissing a flag, deleting."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from candidates.errors import MergeError
from candidates.models import (
    Candidate,
    CandidateEvent,
    CandidateKey,
    Entry,
    MergeRecord,
    Note,
    PossibleDuplicate,
)
from candidates.services.audit import audit_record
from candidates.services.erasure import student_erase

_FILLED_FIELDS = (
    "family_name",
    "given_name",
    "family_kana",
    "given_kana",
    "email",
    "phone",
    "birth_date",
    "university_raw",
    "university",
    "graduation_year",
)


def _locked_pair(first_id: int, second_id: int) -> dict[int, Candidate]:
    # Always lock in id order: two recruiters merging the same pair cannot deadlock.
    return {
        c.pk: c
        for c in Candidate.objects.select_for_update().filter(pk__in=[first_id, second_id]).order_by("pk")
    }


@transaction.atomic
def candidates_merge(
    *,
    kept_id: int,
    merged_id: int,
    user: Any,
    ip: str | None = None,
    duplicate: PossibleDuplicate | None = None,
) -> MergeRecord:
    """Move every entry, key and note of `merged` to `kept`; `merged` stays hidden so this can be undone."""
    if kept_id == merged_id:
        raise MergeError(gettext("同じ候補者どうしは統合できません。"))
    locked = _locked_pair(kept_id, merged_id)
    if len(locked) != 2:
        raise MergeError(gettext("候補者が見つかりません。"))
    kept, merged = locked[kept_id], locked[merged_id]
    if kept.merged_into_id or merged.merged_into_id:
        raise MergeError(gettext("すでに統合済みの候補者です。"))
    entry_ids = list(Entry.objects.filter(candidate=merged).values_list("id", flat=True))
    key_ids = list(CandidateKey.objects.filter(candidate=merged).values_list("id", flat=True))
    note_ids = list(Note.objects.filter(candidate=merged).values_list("id", flat=True))
    Entry.objects.filter(id__in=entry_ids).update(candidate=kept)
    CandidateKey.objects.filter(id__in=key_ids).update(candidate=kept)
    Note.objects.filter(id__in=note_ids).update(candidate=kept)
    kept_before: dict[str, Any] = {}
    for name in _FILLED_FIELDS:
        if not getattr(kept, name) and getattr(merged, name):
            value = getattr(kept, name)
            kept_before[name] = value.isoformat() if hasattr(value, "isoformat") else value
            setattr(kept, name, getattr(merged, name))
    kept.save(update_fields=[*kept_before, "updated_at"])
    merged.merged_into = kept
    merged.save(update_fields=["merged_into", "updated_at"])
    if duplicate is not None:
        duplicate.status = PossibleDuplicate.Status.MERGED
        duplicate.decided_at = timezone.now()
        duplicate.decided_by = user if getattr(user, "is_authenticated", False) else None
        duplicate.save(update_fields=["status", "decided_at", "decided_by"])
    record = MergeRecord.objects.create(
        kept=kept,
        merged=merged,
        duplicate=duplicate,
        entry_ids=entry_ids,
        key_ids=key_ids,
        note_ids=note_ids,
        kept_before=kept_before,
        merged_by=user if getattr(user, "is_authenticated", False) else None,
    )
    actor = user if getattr(user, "is_authenticated", False) else None
    # i18n: data — the student's history records what happened
    CandidateEvent.objects.bulk_create(
        [
            CandidateEvent(candidate=kept, kind="merge", message=f"候補者 #{merged.pk} を統合", user=actor),
            CandidateEvent(candidate=merged, kind="merge", message=f"候補者 #{kept.pk} に統合", user=actor),
        ]
    )
    audit_record(user=user, action="merge", student_count=2, target=f"#{kept.pk} ← #{merged.pk}", ip=ip)
    return record


@transaction.atomic
def merge_undo(*, record_id: int, user: Any, ip: str | None = None) -> MergeRecord:
    """Put back what one merge moved; entries added to the kept candidate since then stay there."""
    record = MergeRecord.objects.select_for_update().filter(pk=record_id).first()
    if record is None:
        raise MergeError(gettext("統合の記録が見つかりません。"))
    if record.undone_at is not None:
        raise MergeError(gettext("この統合はすでに取り消されています。"))
    locked = _locked_pair(record.kept_id, record.merged_id)
    kept, merged = locked[record.kept_id], locked[record.merged_id]
    Entry.objects.filter(id__in=record.entry_ids, candidate=kept).update(candidate=merged)
    CandidateKey.objects.filter(id__in=record.key_ids, candidate=kept).update(candidate=merged)
    Note.objects.filter(id__in=record.note_ids, candidate=kept).update(candidate=merged)
    for name, value in record.kept_before.items():
        setattr(kept, name, value)  # the blank it had before the merge
    kept.save(update_fields=[*record.kept_before, "updated_at"])
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    if record.duplicate_id:
        PossibleDuplicate.objects.filter(pk=record.duplicate_id).update(
            status=PossibleDuplicate.Status.OPEN, decided_at=None, decided_by=None
        )
    record.undone_at = timezone.now()
    record.save(update_fields=["undone_at"])
    actor = user if getattr(user, "is_authenticated", False) else None
    # i18n: data — the student's history records what happened
    CandidateEvent.objects.bulk_create(
        [
            CandidateEvent(
                candidate=kept, kind="merge", message=f"候補者 #{merged.pk} の統合を取り消し", user=actor
            ),
            CandidateEvent(candidate=merged, kind="merge", message="統合を取り消し", user=actor),
        ]
    )
    audit_record(user=user, action="merge_undo", student_count=2, target=f"#{kept.pk} → #{merged.pk}", ip=ip)
    return record


@transaction.atomic
def duplicate_merge(*, duplicate_id: int, kept_id: int, user: Any, ip: str | None = None) -> MergeRecord:
    """Merge an open possible-duplicate pair, keeping the candidate the recruiter chose."""
    duplicate = PossibleDuplicate.objects.select_for_update().filter(pk=duplicate_id).first()
    if duplicate is None or duplicate.status != PossibleDuplicate.Status.OPEN:
        raise MergeError(gettext("この重複候補はすでに処理されています。"))
    if kept_id not in (duplicate.first_id, duplicate.second_id):
        raise MergeError(gettext("残す候補者を選んでください。"))
    merged_id = duplicate.second_id if kept_id == duplicate.first_id else duplicate.first_id
    return candidates_merge(kept_id=kept_id, merged_id=merged_id, user=user, ip=ip, duplicate=duplicate)


@transaction.atomic
def duplicate_dismiss(*, duplicate_id: int, user: Any) -> PossibleDuplicate:
    """Mark a flagged pair as two different people; it is never flagged again."""
    updated = PossibleDuplicate.objects.filter(pk=duplicate_id, status=PossibleDuplicate.Status.OPEN).update(
        status=PossibleDuplicate.Status.DISMISSED,
        decided_at=timezone.now(),
        decided_by=user if getattr(user, "is_authenticated", False) else None,
    )
    if not updated:
        raise MergeError(gettext("この重複候補はすでに処理されています。"))
    return PossibleDuplicate.objects.get(pk=duplicate_id)


@transaction.atomic
def candidate_delete(*, candidate_id: int, user: Any, ip: str | None = None) -> None:
    """Delete one student everywhere (entries, bookings, mail bodies … as an erasure); audited."""
    if not Candidate.objects.filter(pk=candidate_id).exists():
        raise MergeError(gettext("候補者が見つかりません。"))
    # Candidates merged into this one come back as themselves rather than disappear with it.
    Candidate.objects.filter(merged_into_id=candidate_id).update(merged_into=None)
    student_erase(candidate_id=candidate_id, user=user, ip=ip, audit_action="delete")
