"""Turn one job-board CSV row into normalised candidate values, or a refusal {line, column, reason}."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO

from django.utils.translation import gettext

from candidates.boards import PRESETS, BoardPreset, MappingError, mapping_from_saved
from candidates.csvsource import DEFAULT_MAX_BYTES, CSVSource, CSVSourceError, SourceRow
from candidates.errors import ImportFileError
from candidates.models import CandidateKey, ImportMapping
from candidates.textnorm import (
    FieldError,
    nfkc,
    normalise_email,
    normalise_phone,
    parse_date,
    parse_graduation,
    split_name,
    to_katakana,
)
from candidates.universities import RankTable, normalise_university

# Mobile numbers identify one person; a landline may be a family's or a university lab's.
_MOBILE = re.compile(r"^0[6789]0\d{8}$")
CANDIDATE_FIELDS = (
    "family_name",
    "given_name",
    "family_kana",
    "given_kana",
    "email",
    "phone",
    "birth_date",
    "university_raw",
    "graduation_year",
)


@dataclass(slots=True)
class NormalisedRow:
    line: int
    original: dict[str, str]
    member_id: str
    dedupe_key: str
    row_hash: str
    values: dict[str, Any]
    faculty: str
    entry_date: date | None
    keys: list[tuple[str, str]]
    duplicate_key: str


def board_resolve(*, board: str | None) -> str | BoardPreset | None:
    """'auto'/None → detect; a preset key; or the name of a saved mapping in this schema."""
    if board in (None, "", "auto"):
        return None
    if board in PRESETS:
        return board
    mapping = ImportMapping.objects.filter(name=board).first()
    if mapping is None:
        raise ImportFileError(
            gettext("求人媒体または列設定「%(board)s」が見つかりません。") % {"board": board}, code="mapping"
        )
    try:
        return mapping_from_saved(key=mapping.name, label=mapping.label, columns=mapping.columns)
    except MappingError as error:
        raise ImportFileError(error.message, code="mapping") from None


def source_open(*, fileobj: BinaryIO, board: str | None, max_bytes: int = DEFAULT_MAX_BYTES) -> CSVSource:
    """Open an upload for import/preview; file-level problems become ImportFileError."""
    resolved = board_resolve(board=board)
    try:
        return CSVSource.open(fileobj=fileobj, board=resolved, max_bytes=max_bytes)
    except CSVSourceError as error:
        raise ImportFileError(error.message, code=error.code) from None


_MISSING = object()
_MEMO_LIMIT = 200_000


def _names(full: str | None, family: str | None, given: str | None) -> tuple[str, str]:
    return split_name(full=full, family=family, given=given)


def _kana(full: str | None, family: str | None, given: str | None) -> tuple[str, str]:
    family_kana, given_kana = split_name(full=full, family=family, given=given)
    return to_katakana(family_kana), to_katakana(given_kana)


class Normaliser:
    def __init__(self, *, source: CSVSource, board: str, ranks: RankTable) -> None:
        self.board = board
        self.header_of = {name: source.headers[index] for name, index in source.columns.fields.items()}
        self.ranks = ranks
        self._university_cache: dict[str, tuple[str, str, str, str]] = {}
        self._memo_table: dict[tuple[str | None, ...], Any] = {}

    def university(self, raw: str) -> tuple[str, str, str, str]:
        """(as written, canonical or '', rank, matching key) — cached: few distinct schools per file."""
        hit = self._university_cache.get(raw)
        if hit is None:
            written = nfkc(raw)
            canonical = self.ranks.matcher.canonical(written) or ""
            rank, _matched = self.ranks.rank_for(written)
            key = normalise_university(canonical or written) if written else ""
            hit = self._university_cache[raw] = (written, canonical, rank, key)
        return hit

    @staticmethod
    def identity(source_row: SourceRow) -> tuple[str, str, str]:
        """(member ID, dedupe key, row hash): cheap, so re-imported rows skip normalisation."""
        raw = source_row.raw
        digest = hashlib.sha1(
            ("\x1f".join(raw) + "\x1e" + "\x1f".join(raw.values())).encode(), usedforsecurity=False
        ).hexdigest()
        member_id = nfkc(source_row.fields.get("board_member_id", ""))[:100]
        return member_id, member_id or "h:" + digest, digest

    def _memo(self, kind: str, func: Callable[..., Any], *args: str | None) -> Any:
        # Names, kana, dates, graduation years and faculties repeat a lot across one export;
        # computing each distinct value once halves the normalisation time. Errors are not cached.
        key = (kind, *args)
        hit = self._memo_table.get(key, _MISSING)
        if hit is _MISSING:
            hit = func(*args)
            if len(self._memo_table) >= _MEMO_LIMIT:
                self._memo_table.clear()  # bounded memory, whatever the file size
            self._memo_table[key] = hit
        return hit

    def row(self, source_row: SourceRow, identity: tuple[str, str, str]) -> NormalisedRow | dict[str, Any]:
        fields = source_row.fields
        get = fields.get
        errors: list[tuple[str, str]] = []
        memo = self._memo

        def parse(name: str, parser: Callable[[str], Any], cached: bool = False) -> Any:
            text = get(name, "")
            if not text:
                return None
            try:
                return memo(name, parser, text) if cached else parser(text)
            except FieldError as error:
                errors.append((self.header_of[name], error.message))
                return None

        family, given = memo("name", _names, get("full_name"), get("family_name"), get("given_name"))
        family_kana, given_kana = memo("kana", _kana, get("full_kana"), get("family_kana"), get("given_kana"))
        email = parse("email", normalise_email)
        phone = parse("phone", normalise_phone)
        birth = parse("birth_date", parse_date, cached=True)
        graduation = parse("graduation", parse_graduation, cached=True)
        try:
            entry_date = memo("entry_at", parse_date, get("entry_at", "")) if get("entry_at") else None
        except FieldError:
            entry_date = None  # metadata only: a odd entry timestamp never costs a student their row
        member_id, dedupe_key, row_hash = identity
        if not (family or given or family_kana or given_kana) and not (email or phone):
            if not errors:
                # i18n: data — the refused row's reason is recorded in the import's report
                column = self.header_of.get("full_name") or self.header_of.get("family_name") or "氏名"
                # i18n: data — the refused row's reason is recorded in the import's report
                errors.append((column, "氏名も連絡先（メールアドレス・電話番号）もありません"))
        if errors:
            # i18n: data — the refused row's reason is recorded in the import's report
            return {
                "line": source_row.line,
                "column": errors[0][0],
                "reason": "／".join(f"{column}: {message}" for column, message in errors),
            }
        university_written, university, rank, university_key = self.university(get("university", ""))
        faculty = get("faculty_department") or " ".join(x for x in (get("faculty"), get("department")) if x)
        original = source_row.raw
        # The board's member ID is matched through the entry itself (unique per board), see write().
        keys: list[tuple[str, str]] = []
        if email:
            keys.append((CandidateKey.Kind.EMAIL, email))
        if phone and _MOBILE.match(phone):
            keys.append((CandidateKey.Kind.MOBILE, phone))
        kana = (family_kana + given_kana).replace(" ", "")
        duplicate_key = (
            f"{kana}|{birth.isoformat()}|{university_key}" if kana and birth and university_key else ""
        )
        return NormalisedRow(
            line=source_row.line,
            original=original,
            member_id=member_id,
            dedupe_key=dedupe_key,
            row_hash=row_hash,
            values={
                "family_name": family[:100],
                "given_name": given[:100],
                "family_kana": family_kana[:100],
                "given_kana": given_kana[:100],
                "email": email or "",
                "phone": phone or "",
                "birth_date": birth,
                "university_raw": university_written[:200],
                "university": university[:200],
                "rank": rank,
                "graduation_year": graduation[0] if graduation else None,
            },
            faculty=memo("faculty", nfkc, faculty)[:200],
            entry_date=entry_date,
            keys=keys,
            duplicate_key=duplicate_key[:300],
        )
