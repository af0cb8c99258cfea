"""Import lookups for the dedupe rule: the identity fields of key owners, and the other students sharing a key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from candidates.dedupe import Identity, identity_conflict
from candidates.models import Candidate, CandidateKey
from candidates.services.normalising import NormalisedRow

IDENTITY_FIELDS = ("family_name", "given_name", "family_kana", "given_kana", "birth_date")
# Strong key kinds and the candidate column that holds the same normalised value.
KEY_COLUMNS: tuple[tuple[str, str], ...] = (
    (CandidateKey.Kind.EMAIL, "email"),
    (CandidateKey.Kind.MOBILE, "phone"),
)


def rows_fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def identities_load(*, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The identity fields of existing candidates by id (the writer fills them in as rows join them)."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {
        candidate_id: dict(zip(IDENTITY_FIELDS, fields, strict=True))
        for candidate_id, *fields in rows_fetch(
            f"SELECT id, {', '.join(IDENTITY_FIELDS)} FROM {Candidate._meta.db_table} WHERE id = ANY(%s)",
            [wanted],
        )
    }


def key_sharers_load(
    *,
    rows: list[NormalisedRow],
    key_owner: dict[tuple[str, str], Any],
    identities: dict[int, dict[str, Any]],
) -> dict[tuple[str, str], list[Any]]:
    """Other students with a key's address or number, for the keys whose owner may not be a row's student.

    A key row has one owner (the dedupe invariant); a sibling kept apart from that owner has the shared
    number only in their own columns. Looked up only where the owner conflicts with a row or lacks a name
    or birth date (rare), so the usual batch pays nothing. Adds the sharers' identities to `identities`.
    """
    contested: dict[str, set[str]] = {}
    for row in rows:
        incoming = Identity.from_values(row.values)
        for kind, value in row.keys:
            owner = key_owner.get((kind, value))
            if not isinstance(owner, int):
                continue
            known = Identity.from_values(identities[owner])
            unsure = not (known.family_name or known.family_kana) or known.birth_date is None
            if unsure or identity_conflict(incoming=incoming, known=known) is not None:
                contested.setdefault(kind, set()).add(value)
    sharers: dict[tuple[str, str], list[Any]] = {}
    for kind, column in KEY_COLUMNS:
        if not contested.get(kind):
            continue
        for value, candidate_id, *fields in rows_fetch(
            f"SELECT {column}, id, {', '.join(IDENTITY_FIELDS)} FROM {Candidate._meta.db_table}"
            f" WHERE {column} = ANY(%s) AND merged_into_id IS NULL ORDER BY id",
            [list(contested[kind])],
        ):
            if key_owner.get((kind, value)) != candidate_id:
                sharers.setdefault((kind, value), []).append(candidate_id)
                identities.setdefault(candidate_id, dict(zip(IDENTITY_FIELDS, fields, strict=True)))
    return sharers
