"""Erasing students (削除 and the retention policy) or anonymising them, everywhere, with a receipt.

Set-based: one transaction erases one student or a batch of them with a fixed number of statements
(the retention policy erases hundreds per transaction). Every app's data goes through its holder in
`candidates.personal_data`; the candidates app's own rows follow. Audit entries keep the ids only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext

from candidates.errors import CandidateError
from candidates.models import (
    Candidate,
    CandidateEvent,
    CandidateKey,
    Entry,
    ErasedRow,
    ImportJob,
    MergeRecord,
    Note,
    PossibleDuplicate,
    PrivacyRequest,
)
from candidates.personal_data import holders
from candidates.services.audit import audit_record
from candidates.services.privacy_data import students_ids

ERASED = "［削除済み］"  # i18n: data — what an erased value becomes
# What anonymising blanks on a candidate: everything that identifies them; school, rank, year and status stay.
ANONYMISED = {
    "family_name": "",
    "given_name": "",
    "family_kana": "",
    "given_kana": "",
    "email": "",
    "phone": "",
    "birth_date": None,
    "university_raw": "",
    "duplicate_key": "",
}


@dataclass(frozen=True)
class ErasureReceipt:
    """What an erasure removed: ids and counts only (kept on the request as its receipt)."""

    candidate_ids: list[int]
    counts: dict[str, int]
    erased_at: str
    erased_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate_ids": self.candidate_ids,
            "counts": self.counts,
            "erased_at": self.erased_at,
            "erased_by": self.erased_by,
        }


def _identifiers(ids: list[int]) -> set[str]:
    """The students' e-mail addresses, phone numbers and names as they may appear in free text."""
    found: set[str] = set()
    for row in Candidate.objects.filter(pk__in=ids).values("email", "phone", "family_name", "given_name"):
        found |= {row["email"], row["phone"], f"{row['family_name']}{row['given_name']}"}
    for entry in Entry.objects.filter(candidate_id__in=ids).values("email", "phone"):
        found |= {entry["email"], entry["phone"]}
    return {value for value in found if len(value) >= 4}


def _scrub(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(ERASED, value)
    if isinstance(value, list):
        return [_scrub(item, pattern) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, pattern) for key, item in value.items()}
    return value


def _import_reports_scrub(ids: list[int]) -> int:
    """Refused rows of an import report quote the cell they refused: the students' values leave too."""
    identifiers = _identifiers(ids)
    if not identifiers:
        return 0
    pattern = re.compile("|".join(re.escape(value) for value in sorted(identifiers, key=len, reverse=True)))
    count = 0
    for job in ImportJob.objects.filter(Q(refused_count__gt=0) | ~Q(error="")).only("report", "error"):
        report, error = _scrub(job.report, pattern), _scrub(job.error, pattern)
        if (report, error) != (job.report, job.error):
            job.report, job.error = report, error
            job.save(update_fields=["report", "error"])
            count += 1
    return count


def _receipt(ids: list[int], counts: dict[str, int], user: Any) -> ErasureReceipt:
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return ErasureReceipt(
        candidate_ids=ids,
        counts=counts,
        erased_at=timezone.localtime().isoformat(),
        erased_by=user.email if authenticated else "system",
    )


def _common(ids: list[int], *, keep_statistics: bool) -> dict[str, int]:
    list(Candidate.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))
    counts: dict[str, int] = {}
    for holder in holders():
        counts[holder.key] = holder.erase(ids, keep_statistics=keep_statistics)
    counts["import_reports"] = _import_reports_scrub(ids)
    # Re-importing an old export must not bring the students back: their rows are remembered by hash.
    ErasedRow.objects.bulk_create(
        [
            ErasedRow(board=board, row_hash=row_hash)
            for board, row_hash in Entry.objects.filter(candidate_id__in=ids)
            .exclude(row_hash="")
            .values_list("board", "row_hash")
        ],
        ignore_conflicts=True,
    )
    counts["requests"] = PrivacyRequest.objects.filter(candidate_id__in=ids).update(details="")
    PossibleDuplicate.objects.filter(Q(first_id__in=ids) | Q(second_id__in=ids)).delete()
    MergeRecord.objects.filter(Q(kept_id__in=ids) | Q(merged_id__in=ids)).delete()
    return counts


@transaction.atomic
def students_erase(
    *, candidate_ids: list[int], user: Any, ip: str | None = None, target: str = "", audit_action: str
) -> ErasureReceipt:
    """Delete students everywhere: every app's data, entries and raw rows, then the candidate rows.

    Records merged into them go too. The privacy requests stay with the id and without the students'
    words; seats they held go back (to the waiting list first). One audit entry with every id.
    """
    ids = students_ids(candidate_ids=candidate_ids)
    if not ids:
        raise CandidateError(gettext("候補者が見つかりません。"))
    counts = _common(ids, keep_statistics=False)
    counts["entries"] = Entry.objects.filter(candidate_id__in=ids).count()
    counts["notes"] = Note.objects.filter(candidate_id__in=ids).count()
    counts["history"] = CandidateEvent.objects.filter(candidate_id__in=ids).count()
    # Records merged into another student point away first; every row then goes in one delete.
    Candidate.objects.filter(pk__in=ids).update(merged_into=None)
    counts["candidates"] = Candidate.objects.filter(pk__in=ids).delete()[1].get("candidates.Candidate", 0)
    audit_record(
        user=user,
        action=audit_action,
        student_count=len(candidate_ids),
        target=target,
        ip=ip,
        candidate_ids=ids,
    )
    return _receipt(ids, counts, user)


def student_erase(
    *,
    candidate_id: int,
    user: Any,
    ip: str | None = None,
    reason: str = "",
    audit_action: str = "privacy_erase",
) -> ErasureReceipt:
    """Delete one student (and the records merged into theirs) everywhere; see `students_erase`."""
    return students_erase(
        candidate_ids=[candidate_id],
        user=user,
        ip=ip,
        target=f"#{candidate_id}{' ' + reason if reason else ''}",
        audit_action=audit_action,
    )


@transaction.atomic
def students_anonymise(
    *, candidate_ids: list[int], user: Any, ip: str | None = None, audit_action: str = "retention_anonymise"
) -> ErasureReceipt:
    """Keep students only as figures: candidate rows without anything that identifies them.

    Entries keep their board and dates (no row as received, no member ID); seminar bookings stay for
    attendance figures; mails, links, notes, identifiers and flags go as in an erasure.
    """
    ids = students_ids(candidate_ids=candidate_ids)
    if not ids:
        raise CandidateError(gettext("候補者が見つかりません。"))
    counts = _common(ids, keep_statistics=True)
    counts["entries"] = Entry.objects.filter(candidate_id__in=ids).update(
        original={},
        board_member_id="",
        dedupe_key=Concat(Value("anonymised:"), Cast("id", output_field=CharField())),
        row_hash="",
        faculty="",
        **{name: value for name, value in ANONYMISED.items() if name != "duplicate_key"},
    )
    counts["identifiers"] = CandidateKey.objects.filter(candidate_id__in=ids).delete()[0]
    counts["notes"] = Note.objects.filter(candidate_id__in=ids).delete()[0]
    counts["candidates"] = Candidate.objects.filter(pk__in=ids).update(
        **ANONYMISED, anonymised_at=timezone.now()
    )
    audit_record(user=user, action=audit_action, student_count=len(candidate_ids), ip=ip, candidate_ids=ids)
    return _receipt(ids, counts, user)
