"""Everything about one student: collected for 開示, corrected for 訂正, stopped for 利用停止, erased for 削除.

One student may be several candidate rows (records a recruiter merged into theirs): every function works
on all of them. Each app's own data is reached through `candidates.personal_data` holders. Every
function is audited with the student's ids and never writes personal data into the audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from candidates.errors import CandidateError
from candidates.models import (
    AuditEntry,
    Candidate,
    CandidateEvent,
    CandidateKey,
    Entry,
    Note,
    PrivacyRequest,
)
from candidates.personal_data import holders
from candidates.services.audit import audit_record
from candidates.services.normalising import CANDIDATE_FIELDS
from candidates.textnorm import FieldError, normalise_email, normalise_phone, parse_date, to_katakana

ERASED = "［削除済み］"  # i18n: data — what an erased value becomes
PROFILE_FIELDS = (*CANDIDATE_FIELDS, "university", "rank", "status")


def _iso(value: Any) -> Any:
    if isinstance(value, date):
        return (timezone.localtime(value) if hasattr(value, "hour") else value).isoformat()  # type: ignore[arg-type]
    return value


def student_ids(*, candidate_id: int) -> list[int]:
    """The candidate and every candidate merged into it (merges can chain), smallest first."""
    return students_ids(candidate_ids=[candidate_id])


def _roots(candidate_ids: list[int]) -> set[int]:
    """The visible candidates these records belong to now (a merged-away record leads to its keeper)."""
    pending, seen, roots = set(candidate_ids), set(), set()
    while pending:
        seen |= pending
        parents = dict(Candidate.objects.filter(pk__in=pending).values_list("pk", "merged_into_id"))
        roots |= {pk for pk, parent in parents.items() if parent is None}
        pending = {parent for parent in parents.values() if parent is not None} - seen
    return roots


def student_root(*, candidate_id: int) -> int | None:
    """The visible candidate a (possibly merged-away) record belongs to now; None when it is gone."""
    roots = _roots([candidate_id])
    return next(iter(roots)) if roots else None


def students_ids(*, candidate_ids: list[int]) -> list[int]:
    """These students (whichever record of theirs is given) and every record merged into them, smallest first."""
    found = _roots(candidate_ids)
    frontier = set(found)
    while frontier:
        frontier = (
            set(Candidate.objects.filter(merged_into__in=frontier).values_list("pk", flat=True)) - found
        )
        found |= frontier
    return sorted(found)


def _ids_or_error(candidate_id: int) -> list[int]:
    ids = student_ids(candidate_id=candidate_id)
    if not ids:
        raise CandidateError(gettext("候補者が見つかりません。"))
    return ids


def student_data_collect(*, candidate_id: int) -> dict[str, Any]:
    """Every piece of personal data the company holds about one student, JSON-safe (for 開示)."""
    ids = _ids_or_error(candidate_id)
    candidates = list(Candidate.objects.filter(pk__in=ids).prefetch_related("tags"))
    data: dict[str, Any] = {
        "student_id": candidate_id,
        "generated_at": timezone.localtime().isoformat(),
        "profiles": [
            {
                "id": candidate.pk,
                **{name: _iso(getattr(candidate, name)) for name in PROFILE_FIELDS},
                "tags": [tag.name for tag in candidate.tags.all()],
                "registered_at": _iso(candidate.created_at),
                "merged_into": candidate.merged_into_id,
            }
            for candidate in candidates
        ],
        "entries": [
            {
                "board": entry.board,
                "board_member_id": entry.board_member_id,
                "entered_on": _iso(entry.entry_date),
                "imported_at": _iso(entry.created_at),
                "faculty": entry.faculty,
                "row_as_received": entry.original,
            }
            for entry in Entry.objects.filter(candidate_id__in=ids).order_by("id")
        ],
        "identifiers": [
            {"kind": key.get_kind_display(), "value": key.value}
            for key in CandidateKey.objects.filter(candidate_id__in=ids).order_by("id")
        ],
        "notes": [
            {"written_at": _iso(note.created_at), "text": note.body}
            for note in Note.objects.filter(candidate_id__in=ids).order_by("id")
        ],
        "history": [
            {"at": _iso(event.created_at), "what": event.message}
            for event in CandidateEvent.objects.filter(candidate_id__in=ids).order_by("id")
        ],
        "requests": [
            {
                "number": request.number,
                "kind": request.get_kind_display(),
                "status": request.get_status_display(),
                "received_at": _iso(request.received_at),
                "details": request.details,
                "response": request.response,
            }
            for request in PrivacyRequest.objects.filter(candidate_id__in=ids).order_by("id")
        ],
        # Who in the company read or exported this student's record, and when (ids, not names).
        "accesses": [
            {"at": _iso(entry.created_at), "action": entry.action}
            for entry in AuditEntry.objects.filter(candidate_ids__overlap=ids).order_by("id")[:1000]
        ],
    }
    for holder in holders():
        data[holder.key] = holder.collect(ids)
    return data


def student_data_export(*, candidate_id: int, user: Any, ip: str | None, kind: str) -> dict[str, Any]:
    """`student_data_collect`, audited as a disclosure export of this student (`kind`: json or html)."""
    data = student_data_collect(candidate_id=candidate_id)
    audit_record(
        user=user,
        action="privacy_export",
        student_count=1,
        target=f"#{candidate_id} ({kind})",
        ip=ip,
        candidate_ids=[profile["id"] for profile in data["profiles"]],
    )
    return data


def student_stop_use(*, candidate_id: int, user: Any, ip: str | None = None) -> int:
    """利用停止: every app stops processing this student (marketing and step mails end); audited."""
    ids = _ids_or_error(candidate_id)
    stopped = sum(holder.stop_use(ids) for holder in holders() if holder.stop_use is not None)
    actor = user if getattr(user, "is_authenticated", False) else None
    # i18n: data — a history record
    CandidateEvent.objects.create(
        candidate_id=candidate_id, kind="privacy", message="利用停止の請求に対応", user=actor
    )
    audit_record(
        user=user,
        action="privacy_stop_use",
        student_count=1,
        target=f"#{candidate_id}",
        ip=ip,
        candidate_ids=ids,
    )
    return stopped


# What a student may have corrected: the fields that came from their entries.
CORRECTABLE = CANDIDATE_FIELDS


def _corrected(name: str, value: Any) -> Any:
    if name == "email":
        return normalise_email(str(value or "")) or ""
    if name == "phone":
        return normalise_phone(str(value or "")) or ""
    if name in ("family_kana", "given_kana"):
        return to_katakana(str(value or ""))
    if name == "birth_date":
        return parse_date(str(value)) if value else None
    if name == "graduation_year":
        return int(value) if value not in (None, "") else None
    return value


@transaction.atomic
def candidate_correct(
    *, candidate_id: int, values: Mapping[str, Any], user: Any, ip: str | None = None
) -> list[str]:
    """訂正: set the student's profile fields; returns the names changed (recorded, without values)."""
    candidate = Candidate.objects.select_for_update().filter(pk=candidate_id).first()
    if candidate is None:
        raise CandidateError(gettext("候補者が見つかりません。"))
    changed: list[str] = []
    for name in CORRECTABLE:
        if name not in values:
            continue
        try:
            value = _corrected(name, values[name])
        except FieldError as error:
            raise CandidateError(error.message) from None
        except ValueError:
            raise CandidateError(
                gettext("%(field)sの値を確認してください。")
                % {"field": Candidate._meta.get_field(name).verbose_name}  # type: ignore[union-attr]
            ) from None
        if getattr(candidate, name) != value:
            setattr(candidate, name, value)
            changed.append(name)
    if not changed:
        return []
    candidate.save(update_fields=[*changed, "updated_at"])
    if "email" in changed and candidate.email:
        # The corrected address finds this student on the next import (unless it is someone else's).
        CandidateKey.objects.get_or_create(
            kind=CandidateKey.Kind.EMAIL, value=candidate.email, defaults={"candidate": candidate}
        )
    # i18n: data — a history record
    labels = "・".join(str(Candidate._meta.get_field(name).verbose_name) for name in changed)  # type: ignore[union-attr]
    actor = user if getattr(user, "is_authenticated", False) else None
    # i18n: data — a history record
    CandidateEvent.objects.create(
        candidate=candidate, kind="privacy", message=f"登録情報を訂正（{labels}）", user=actor
    )
    audit_record(
        user=user,
        action="privacy_correct",
        student_count=1,
        target=f"#{candidate_id}",
        ip=ip,
        candidate_ids=[candidate_id],
    )
    return changed
