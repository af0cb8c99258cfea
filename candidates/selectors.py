"""Reads of the candidates app: the workspace list, one candidate, exports, duplicates, audit."""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from candidates.listfilters import list_filter_get
from candidates.models import (
    AuditEntry,
    Candidate,
    CandidateKey,
    Entry,
    ImportJob,
    PossibleDuplicate,
    PrivacyRequest,
    RetentionPolicy,
    SelectionStep,
    Tag,
)
from candidates.textnorm import nfkc, to_katakana

SORTS = {
    "new": "-id",
    "old": "id",
    "kana": "family_kana",
    "rank": "rank",
    "year": "graduation_year",
    "university": "university",
}


@dataclass(frozen=True)
class CandidateFilters:
    q: str = ""
    rank: str = ""
    graduation_year: int | None = None
    board: str = ""
    status: str = ""
    tag: str = ""
    sort: str = "new"
    # The season being worked in: lists never mix seasons (None only for whole-company jobs).
    season_id: int | None = None
    # Values of filters other apps registered (candidates.listfilters), as (key, value) pairs.
    extra: tuple[tuple[str, str], ...] = ()


def candidate_list(*, filters: CandidateFilters) -> QuerySet[Candidate]:
    """Visible (not merged-away, not anonymised) candidates matching the workspace filters, sorted."""
    queryset = Candidate.objects.filter(merged_into=None, anonymised_at=None)
    if filters.season_id is not None:
        queryset = queryset.filter(season_id=filters.season_id)
    for key, value in filters.extra:
        list_filter = list_filter_get(key)
        condition = list_filter.condition(value, filters.season_id or 0) if list_filter else None
        if condition is not None:
            queryset = queryset.filter(condition)
    if filters.q:
        queryset = queryset.filter(_search_condition(filters.q))
    if filters.rank:
        queryset = queryset.filter(rank=filters.rank)
    if filters.graduation_year:
        queryset = queryset.filter(graduation_year=filters.graduation_year)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.board:
        queryset = queryset.filter(
            Exists(Entry.objects.filter(candidate=OuterRef("pk"), board=filters.board))
        )
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    order = SORTS.get(filters.sort, "-id")
    return queryset.order_by(order, "-id" if order != "-id" else "id")


_KATAKANA = re.compile(r"^[\u30a0-\u30ff ]+$")
# After NFKC (全角 digits are ASCII then): digits with the hyphens, dashes, brackets and spaces people type.
_PHONE_QUERY = re.compile(r"^\+?[0-9\s()\-\u2010-\u2015\u2212\u30fc]+$")
_PHONE_MIN_DIGITS = 4


def _phone_digits(text: str) -> str | None:
    """The digits of a query that is a phone number or a part of one (+81 read as 0), else None."""
    if not _PHONE_QUERY.match(text):
        return None
    digits = re.sub(r"[^0-9]", "", text)
    if text.startswith("+81"):
        digits = "0" + digits[2:].lstrip("0")
    return digits if len(digits) >= _PHONE_MIN_DIGITS else None


def _search_condition(query: str) -> Q:
    """Search only the columns the text can be in: fewer columns scanned at 100,000 students."""
    text = nfkc(query)
    kana = to_katakana(text)
    phone = _phone_digits(text)
    if phone is not None:
        # A whole number finds its owner through the index; a part of one (the last four digits) scans.
        found = Q(phone=phone) if len(phone) >= 10 else Q(phone__contains=phone)
        return found | Q(email__contains=text.lower())  # digits may be part of an address too
    if "@" in text or text.isascii():
        return Q(email__contains=text.lower())
    if _KATAKANA.match(kana):
        compact = kana.replace(" ", "")
        condition = Q(family_kana__contains=compact) | Q(given_kana__contains=compact)
        if " " in kana:
            family, _, given = kana.partition(" ")
            condition |= Q(family_kana=family, given_kana__startswith=given)
        return condition
    # Kanji: a name or a school (names and schools carry no case, so LIKE rather than ILIKE).
    condition = (
        Q(family_name__contains=text)
        | Q(given_name__contains=text)
        | Q(university_raw__contains=text)
        | Q(university__contains=text)
    )
    if " " in text:
        family, _, given = text.partition(" ")
        condition |= Q(family_name=family, given_name__startswith=given)
    return condition


def candidate_get(*, candidate_id: int) -> Candidate:
    """One candidate (raises Candidate.DoesNotExist, turned into a 404 by the view)."""
    return Candidate.objects.get(pk=candidate_id)


def candidate_detail_context(*, candidate: Candidate) -> dict[str, Any]:
    return {
        "entries": list(candidate.entries.order_by("id")),
        "keys": list(candidate.keys.order_by("kind", "value")),
        "notes": list(candidate.notes.select_related("author")[:50]),
        "events": list(candidate.events.select_related("user")[:100]),
        "tags": list(candidate.tags.all()),
        "steps": list(SelectionStep.objects.all()),
        "all_tags": list(Tag.objects.all()[:200]),
        "privacy_requests": list(PrivacyRequest.objects.filter(candidate=candidate).order_by("-id")[:20]),
        "privacy_kinds": PrivacyRequest.Kind.choices,
        **candidate_activity(candidate=candidate),
        "merged_from": list(
            Candidate.objects.filter(merged_into=candidate).only("id", "family_name", "given_name")
        ),
    }


def candidate_activity(*, candidate: Candidate) -> dict[str, list[Any]]:
    """Bookings and mails of the student, from the booking and notifications apps (read-only)."""
    activity: dict[str, list[Any]] = {"bookings": [], "mails": []}
    try:
        booking_model = apps.get_model("booking", "Booking")
        activity["bookings"] = list(
            booking_model.objects.filter(candidate=candidate)
            .select_related("seminar", "slot")
            .order_by("-id")[:50]
        )
    except (LookupError, FieldError):
        pass  # the booking app is optional for this page
    try:
        outbox_model = apps.get_model("notifications", "OutboxMessage")
        activity["mails"] = list(
            outbox_model.objects.filter(candidate=candidate)
            .order_by("-id")
            .values("subject", "status", "kind", "created_at", "sent_at")[:50]
        )
    except (LookupError, FieldError):
        pass
    return activity


def candidate_export_records(*, queryset: QuerySet[Candidate], chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """One record per candidate with its entries' board IDs; streamed in chunks (flat memory)."""
    last = 0
    base = queryset.order_by("id")
    while True:
        candidates = list(base.filter(id__gt=last)[:chunk])
        if not candidates:
            return
        ids = [candidate.pk for candidate in candidates]
        entries: dict[int, list[dict[str, str]]] = {}
        for candidate_id, board, member_id in Entry.objects.filter(candidate_id__in=ids).values_list(
            "candidate_id", "board", "board_member_id"
        ):
            entries.setdefault(candidate_id, []).append({"board": board, "board_member_id": member_id})
        emails: dict[int, list[str]] = {}
        for candidate_id, value in CandidateKey.objects.filter(
            candidate_id__in=ids, kind=CandidateKey.Kind.EMAIL
        ).values_list("candidate_id", "value"):
            emails.setdefault(candidate_id, []).append(value)
        for candidate in candidates:
            yield {
                "id": candidate.pk,
                "family_name": candidate.family_name,
                "given_name": candidate.given_name,
                "family_kana": candidate.family_kana,
                "given_kana": candidate.given_kana,
                "email": candidate.email,
                "emails": sorted(emails.get(candidate.pk, [])),
                "phone": candidate.phone,
                "birth_date": candidate.birth_date.isoformat() if candidate.birth_date else "",
                "university_raw": candidate.university_raw,
                "university": candidate.university,
                "rank": candidate.rank,
                "rank_is_manual": candidate.rank_is_manual,
                "graduation_year": candidate.graduation_year,
                "status": candidate.status,
                "entries": entries.get(candidate.pk, []),
            }
        last = ids[-1]


def duplicate_list(*, status: str = PossibleDuplicate.Status.OPEN) -> QuerySet[PossibleDuplicate]:
    return PossibleDuplicate.objects.filter(status=status).select_related("first", "second")


def import_job_list() -> QuerySet[ImportJob]:
    return ImportJob.objects.select_related("created_by")


def audit_list() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("user")


def graduation_years(*, season_id: int | None = None) -> list[int]:
    candidates = Candidate.objects.filter(merged_into=None, anonymised_at=None, graduation_year__isnull=False)
    if season_id is not None:
        candidates = candidates.filter(season_id=season_id)
    # graduation_year__isnull=False: never None.
    return list(candidates.order_by("graduation_year").values_list("graduation_year", flat=True).distinct())  # type: ignore[arg-type]


def privacy_request_queue() -> tuple[list[PrivacyRequest], list[PrivacyRequest]]:
    """Open requests oldest first (the legal clock runs from receipt), then the last 100 answered."""
    base = PrivacyRequest.objects.select_related("candidate", "closed_by")
    open_requests = list(base.filter(status=PrivacyRequest.Status.OPEN).order_by("received_at", "id"))
    closed = list(base.exclude(status=PrivacyRequest.Status.OPEN).order_by("-closed_at", "-id")[:100])
    return open_requests, closed


def privacy_requests_of(*, candidate_id: int) -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.filter(candidate_id=candidate_id).order_by("-id")


def retention_cutoff_year(*, months_after_season: int, today: date | None = None) -> int:
    """The latest graduation year whose season (ending 31 March of that year) ended that many months ago."""
    today = today or timezone.localdate()
    total = today.year * 12 + (today.month - 1) - months_after_season
    year, month = divmod(total, 12)
    # The day of the month does not move with the months; March 31 plus N months is reached on its last day.
    shifted = date(year, month + 1, min(today.day, monthrange(year, month + 1)[1]))
    return shifted.year if shifted >= date(shifted.year, 3, 31) else shifted.year - 1


def retention_due(
    *, months_after_season: int, keep_statuses: list[str], today: date | None = None
) -> QuerySet[Candidate]:
    """Students a retention policy with these settings processes now (merged-in records go with them)."""
    cutoff = retention_cutoff_year(months_after_season=months_after_season, today=today)
    return Candidate.objects.filter(
        merged_into=None, anonymised_at=None, graduation_year__isnull=False, graduation_year__lte=cutoff
    ).exclude(status__in=keep_statuses)


@dataclass(frozen=True)
class RetentionPreview:
    due: int
    cutoff_year: int
    by_year: list[tuple[int, int]]
    without_year: int


def retention_preview(*, months_after_season: int, keep_statuses: list[str]) -> RetentionPreview:
    """The dry run: how many students these settings would process tonight, by graduation year."""
    due = retention_due(months_after_season=months_after_season, keep_statuses=keep_statuses)
    by_year = list(due.order_by("graduation_year").values_list("graduation_year").annotate(count=Count("id")))
    return RetentionPreview(
        due=sum(count for _year, count in by_year),
        cutoff_year=retention_cutoff_year(months_after_season=months_after_season),
        by_year=by_year,
        without_year=Candidate.objects.filter(
            merged_into=None, anonymised_at=None, graduation_year__isnull=True
        ).count(),
    )


def retention_policy_get() -> RetentionPolicy:
    """The company's retention policy (off until an admin switches it on); hired students kept by default."""
    policy = RetentionPolicy.objects.filter(pk=1).first()
    return policy or RetentionPolicy(pk=1, keep_statuses=["offer", "accepted"])


def ranks_in_use() -> list[str]:
    """The rank letters a company's students can have: its rank table's and its default rank, in order."""
    from candidates.models import RankRule, RankSettings

    ranks = set(RankRule.objects.values_list("rank", flat=True).distinct())
    ranks.add((RankSettings.objects.first() or RankSettings()).default_rank)
    return sorted(rank for rank in ranks if rank)
