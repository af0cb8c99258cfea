"""One student sent to the API goes in exactly like a row of a job-board CSV: same normalisation, same dedupe."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.utils.translation import gettext

from api.errors import ApiProblem
from candidates.boards import CANONICAL_FIELDS, BoardPreset
from candidates.csvsource import CSVSource, CSVSourceError
from candidates.models import Entry
from candidates.services.importing import entries_import
from candidates.services.normalising import Normaliser

# The API is a board of its own: its entries are told apart from the CSV imports', and the member ID is
# the caller's own identifier (re-sending it is the same entry, as with a board's member ID).
API_BOARD = BoardPreset(
    key="api",
    label="API",
    id_column="board_member_id",
    columns={name: (name,) for name in CANONICAL_FIELDS},
)
_FIELDS = {
    "external_id": "board_member_id",
    "full_name": "full_name",
    "family_name": "family_name",
    "given_name": "given_name",
    "full_kana": "full_kana",
    "family_kana": "family_kana",
    "given_kana": "given_kana",
    "email": "email",
    "phone": "phone",
    "birth_date": "birth_date",
    "university": "university",
    "faculty": "faculty",
    "graduation": "graduation",
}


@dataclass(frozen=True)
class ImportedCandidate:
    candidate_id: int
    outcome: str  # created | merged | unchanged
    possible_duplicate: bool


def _csv(values: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    headers = [_FIELDS[name] for name in _FIELDS]
    writer.writerow(headers)
    # A cell starting like a formula is kept as sent: the CSV never leaves the server.
    writer.writerow([(values.get(name) or "").replace("\r", " ").replace("\n", " ") for name in _FIELDS])
    return buffer.getvalue().encode("utf-8")


def candidate_import_one(*, values: dict[str, str]) -> ImportedCandidate:
    """Import one student through the CSV import service; a refusal is a 422 naming the field."""
    try:
        source = CSVSource.open(fileobj=io.BytesIO(_csv(values)), board=API_BOARD)
    except CSVSourceError as error:
        raise ApiProblem("validation", error.message) from None
    with source:
        rows = source.preview(limit=1)
        if not rows:
            raise ApiProblem("validation", gettext("氏名も連絡先（メールアドレス・電話番号）もありません"))
        _member_id, dedupe_key, _row_hash = Normaliser.identity(rows[0])
        report = entries_import(source=source, parallel=False)
    if report.refused:
        refused = report.refused[0]
        raise ApiProblem(
            "validation", str(refused.get("reason", "")), extra={"field": str(refused.get("column", ""))}
        )
    candidate_id = (
        Entry.objects.filter(board=API_BOARD.key, dedupe_key=dedupe_key)
        .values_list("candidate_id", flat=True)
        .first()
    )
    if candidate_id is None:
        raise ApiProblem("validation", gettext("この学生は削除（または匿名化）済みのため登録できません。"))
    outcome = "created" if report.created else "merged" if report.merged else "unchanged"
    return ImportedCandidate(
        candidate_id=candidate_id, outcome=outcome, possible_duplicate=report.possible_duplicates > 0
    )
