"""Import writer: one batch of normalised rows into candidates, keys and entries (set-based, COPY)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from candidates.dedupe import Identity, duplicate_reason, identity_conflict
from candidates.models import Candidate, CandidateKey, Entry, PossibleDuplicate
from candidates.services.copying import copy_new_candidates, copy_rows, ids_reserve
from candidates.services.import_matching import KEY_COLUMNS, identities_load, key_sharers_load, rows_fetch
from candidates.services.normalising import (
    CANDIDATE_FIELDS,
    NormalisedRow,
)
from candidates.webhook_events import candidate_updated_emit, candidates_created_emit
from tenants.selectors import current_schema

BATCH_SIZE = 10_000  # measured: fewer, larger COPYs beat 2,000 or 5,000; ~200 MB peak for the worker


@dataclass
class ImportReport:
    """What an import did; `refused` lists {line, column, reason} (reason in Japanese)."""

    board: str = ""
    board_label: str = ""
    encoding: str = ""
    rows: int = 0
    created: int = 0
    merged: int = 0
    unchanged: int = 0
    possible_duplicates: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "board": self.board,
            "board_label": self.board_label,
            "encoding": self.encoding,
            "rows": self.rows,
            "created": self.created,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "possible_duplicates": self.possible_duplicates,
            "refused": self.refused,
        }


@dataclass(slots=True, eq=False)
class _Pending:
    """A candidate created in this batch: its column values, and its id once reserved."""

    values: dict[str, Any]
    pk: int = 0


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _fill_blank_values(current: dict[str, Any], values: dict[str, Any]) -> None:
    for name in CANDIDATE_FIELDS:
        if values.get(name) and not current.get(name):
            current[name] = values[name]


def _fill_blanks(candidate: Candidate, values: dict[str, Any]) -> bool:
    changed = False
    for name in CANDIDATE_FIELDS:
        if values.get(name) and not getattr(candidate, name):
            setattr(candidate, name, values[name])
            changed = True
    return changed


class _BatchWriter:
    def __init__(self, *, board: str, job_id: int | None, report: ImportReport) -> None:
        self.board = board
        self.job_id = job_id
        self.report = report
        # Only look at the candidates' own columns when some candidate lacks its key rows (checked
        # once per import: an anti-join on the key table's candidate index).
        self.adoptable: tuple[tuple[str, str], ...] = (
            KEY_COLUMNS
            if rows_fetch(
                f"SELECT 1 FROM {Candidate._meta.db_table} AS c WHERE c.merged_into_id IS NULL"
                " AND (c.email <> '' OR c.phone ~ '^0[6789]0[0-9]{8}$')"
                f" AND NOT EXISTS (SELECT 1 FROM {CandidateKey._meta.db_table} AS k WHERE k.candidate_id = c.id)"
                " LIMIT 1",
                [],
            )
            else ()
        )

    @transaction.atomic
    def write(self, rows: list[NormalisedRow]) -> None:
        # One import at a time per tenant: the key lookups below and the inserts must not interleave.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"candidates-import:{current_schema()}"]
            )
            # A crash may lose the last batches, never corrupt them, and re-importing is idempotent;
            # not waiting for the WAL flush of every batch is what that buys.
            cursor.execute("SET LOCAL synchronous_commit = off")
        # Raw SQL with one array parameter each: Django's __in would bind thousands of parameters.
        existing_entries: dict[str, tuple[str, int, int]] = {
            dedupe_key: (row_hash, entry_id, candidate_id)
            for dedupe_key, row_hash, entry_id, candidate_id in rows_fetch(
                f"SELECT dedupe_key, row_hash, id, candidate_id FROM {Entry._meta.db_table}"
                " WHERE board = %s AND dedupe_key = ANY(%s)",
                [self.board, [row.dedupe_key for row in rows]],
            )
        }
        seen: set[str] = set()
        changed_entries: list[tuple[int, NormalisedRow]] = []
        wanted: dict[str, set[str]] = {}
        for row in rows:
            for kind, value in row.keys:
                wanted.setdefault(kind, set()).add(value)
        key_owner: dict[tuple[str, str], int | _Pending] = {}
        for kind, values in wanted.items():
            for value, candidate_id in rows_fetch(
                f"SELECT value, candidate_id FROM {CandidateKey._meta.db_table} WHERE kind = %s AND value = ANY(%s)",
                [kind, list(values)],
            ):
                key_owner[(kind, value)] = candidate_id
        # Candidates created elsewhere (a form, a demo, another app) may have no key rows yet: their
        # own e-mail / phone columns count as the same strong keys, and get their key row now.
        adopted: list[tuple[str, str, int]] = []
        for kind, column in self.adoptable:
            missing = [value for value in wanted.get(kind, ()) if (kind, value) not in key_owner]
            if not missing:
                continue
            for value, candidate_id in rows_fetch(
                f"SELECT DISTINCT ON ({column}) {column}, id FROM {Candidate._meta.db_table}"
                f" WHERE {column} = ANY(%s) AND merged_into_id IS NULL ORDER BY {column}, id",
                [missing],
            ):
                key_owner[(kind, value)] = candidate_id
                adopted.append((kind, value, candidate_id))
        duplicate_keys = [row.duplicate_key for row in rows if row.duplicate_key]
        by_duplicate_key: dict[str, list[int | _Pending]] = {}
        for key, candidate_id in rows_fetch(
            f"SELECT duplicate_key, id FROM {Candidate._meta.db_table}"
            " WHERE duplicate_key = ANY(%s) AND merged_into_id IS NULL",
            [duplicate_keys],
        ):
            by_duplicate_key.setdefault(key, []).append(candidate_id)
        identities = identities_load(
            ids={owner for owner in key_owner.values() if isinstance(owner, int)}
            | {known[2] for known in existing_entries.values()}
        )
        key_sharers = key_sharers_load(rows=rows, key_owner=key_owner, identities=identities)

        def identity(ref: int | _Pending) -> Identity:
            return Identity.from_values(ref.values if isinstance(ref, _Pending) else identities[ref])

        new: list[_Pending] = []
        attached: list[tuple[NormalisedRow, int | _Pending]] = []
        new_keys: list[tuple[str, str, int | _Pending]] = []
        pairs: dict[tuple[int | _Pending, int | _Pending], str] = {}
        merged_values: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            known = existing_entries.get(row.dedupe_key)
            if row.dedupe_key in seen or (known is not None and known[0] == row.row_hash):
                self.report.unchanged += 1
                continue
            seen.add(row.dedupe_key)
            owners: list[int | _Pending] = []
            if known is not None:
                # Same board member ID, new content (e.g. a new address): the same student.
                owners.append(known[2])
                changed_entries.append((known[1], row))
            # Everyone carrying one of the row's e-mail / mobile keys joins it unless the rule keeps them apart.
            incoming = Identity.from_values(row.values)
            apart: list[tuple[int | _Pending, str]] = []
            for key in row.keys:
                owner = key_owner.get(key)
                for carrier in [*([owner] if owner is not None else []), *key_sharers.get(key, ())]:
                    if carrier in owners or any(carrier == other for other, _ in apart):
                        continue
                    conflict = identity_conflict(incoming=incoming, known=identity(carrier))
                    if conflict is None:
                        owners.append(carrier)
                    else:
                        apart.append((carrier, duplicate_reason(kind=key[0], conflict=conflict)))
            if owners:
                target = owners[0]
                self.report.merged += 1
                # Keys that belong to someone else: never merge two people silently, ask a recruiter.
                for other in owners[1:]:
                    # i18n: data — the reason is recorded on the possible-duplicate pair
                    pairs.setdefault((target, other), "連絡先が別の候補者と一致")
                if isinstance(target, _Pending):
                    _fill_blank_values(target.values, row.values)
                else:
                    merged_values.setdefault(target, []).append(row.values)
                    _fill_blank_values(identities[target], row.values)
            else:
                target = _Pending({**row.values, "duplicate_key": row.duplicate_key})
                new.append(target)
                self.report.created += 1
                if row.duplicate_key:
                    for other in by_duplicate_key.get(row.duplicate_key, []):
                        pairs.setdefault((other, target), "カナ氏名・生年月日・大学名が一致")  # i18n: data
                    by_duplicate_key.setdefault(row.duplicate_key, []).append(target)
            for other, reason in apart:
                pairs.setdefault((other, target), reason)
            for key in row.keys:
                if key not in key_owner:
                    key_owner[key] = target
                    new_keys.append((key[0], key[1], target))
                elif key_owner[key] != target and target not in key_sharers.get(key, ()):
                    # A key has one owner (the dedupe invariant); later rows still find this student by it.
                    key_sharers.setdefault(key, []).append(target)
            if known is None:
                attached.append((row, target))

        for pending, new_id in zip(new, ids_reserve(model=Candidate, count=len(new)), strict=True):
            pending.pk = new_id
        copy_new_candidates(pending=[(pending.pk, pending.values) for pending in new])
        if merged_values:
            updated = []
            for candidate in Candidate.objects.filter(pk__in=merged_values.keys()):
                if any([_fill_blanks(candidate, values) for values in merged_values[candidate.pk]]):
                    updated.append(candidate)
            Candidate.objects.bulk_update(updated, fields=list(CANDIDATE_FIELDS), batch_size=BATCH_SIZE)

        def pk(ref: int | _Pending) -> int:
            return ref if isinstance(ref, int) else ref.pk

        copy_rows(
            model=CandidateKey,
            columns=["kind", "value", "candidate_id"],
            rows=[*((kind, value, pk(ref)) for kind, value, ref in new_keys), *adopted],
        )
        now = timezone.now()
        copy_rows(
            model=Entry,
            columns=[
                "board",
                "board_member_id",
                "dedupe_key",
                "row_hash",
                "candidate_id",
                "source_import_id",
                "line",
                "original",
                "faculty",
                "entry_date",
                "created_at",
                *CANDIDATE_FIELDS,
            ],
            rows=(
                (
                    self.board,
                    row.member_id,
                    row.dedupe_key,
                    row.row_hash,
                    pk(ref),
                    self.job_id,
                    row.line,
                    row.original,
                    row.faculty,
                    row.entry_date,
                    now,
                    *[row.values[name] for name in CANDIDATE_FIELDS],
                )
                for row, ref in attached
            ),
        )
        if changed_entries:
            entries = Entry.objects.in_bulk([entry_id for entry_id, _ in changed_entries])
            for entry_id, row in changed_entries:
                entry = entries[entry_id]
                entry.original, entry.row_hash, entry.line = row.original, row.row_hash, row.line
                entry.faculty, entry.entry_date, entry.source_import_id = (
                    row.faculty,
                    row.entry_date,
                    self.job_id,
                )
                for name in CANDIDATE_FIELDS:
                    setattr(entry, name, row.values[name])
            Entry.objects.bulk_update(
                entries.values(),
                fields=[
                    "original",
                    "row_hash",
                    "line",
                    "faculty",
                    "entry_date",
                    "source_import",
                    *CANDIDATE_FIELDS,
                ],
            )
        if new:
            # New students enter the "entry imported" step-mail sequences, set-based, in this batch's transaction.
            from notifications.services import sequence_trigger_many

            sequence_trigger_many(
                event="entry_imported",
                candidate_ids=[pending.pk for pending in new],
                occurred_at=now,
                occurrence=f"import:{self.job_id or now.isoformat()}",
            )
            candidates_created_emit(candidate_ids=[pending.pk for pending in new], source=self.board)
        if merged_values:
            # Existing students this batch added entries or details to.
            candidate_updated_emit(candidate_ids=sorted(merged_values), changed=["entries"])
        ordered: dict[tuple[int, int], str] = {}
        for (a, b), reason in pairs.items():
            if pk(a) != pk(b):
                ordered.setdefault((min(pk(a), pk(b)), max(pk(a), pk(b))), reason)
        if ordered:
            already = set(
                PossibleDuplicate.objects.filter(
                    first_id__in=[a for a, _ in ordered], second_id__in=[b for _, b in ordered]
                ).values_list("first_id", "second_id")
            )
            fresh = [pair for pair in ordered if pair not in already]
            PossibleDuplicate.objects.bulk_create(
                [PossibleDuplicate(first_id=a, second_id=b, reason=ordered[(a, b)][:200]) for a, b in fresh],
                ignore_conflicts=True,
            )
            self.report.possible_duplicates += len(fresh)


class _WriterThread:
    """Writes batches on its own connection while the caller reads and normalises the next one."""

    def __init__(self, *, writer: _BatchWriter, schema_name: str) -> None:
        self.writer = writer
        self.schema_name = schema_name
        self.error: BaseException | None = None
        # One batch waiting at most: memory stays flat whatever the file size.
        self.queue: queue.Queue[list[NormalisedRow] | None] = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, name="candidates-import-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (rows := self.queue.get()) is not None:
                if self.error is not None:
                    continue  # keep draining so that the producer never blocks
                try:
                    with schema_context(self.schema_name):
                        self.writer.write(rows)
                except BaseException as error:  # noqa: BLE001 - re-raised in the caller's thread
                    self.error = error
        finally:
            connection.close()

    def put(self, rows: list[NormalisedRow]) -> None:
        if self.error is not None:
            self.close()
        self.queue.put(rows)

    def close(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise self.error
