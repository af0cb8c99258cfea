"""CSV export of candidates (formulas neutralised), audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext, gettext_lazy

from candidates.textnorm import neutralise_formula

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The keys name the record's fields; the headers are in the exporting recruiter's language.
CSV_COLUMNS: list[tuple[str, StrOrPromise]] = [
    ("id", "ID"),
    ("family_name", gettext_lazy("姓")),
    ("given_name", gettext_lazy("名")),
    ("family_kana", gettext_lazy("セイ")),
    ("given_kana", gettext_lazy("メイ")),
    ("email", gettext_lazy("メールアドレス")),
    ("phone", gettext_lazy("電話番号")),
    ("birth_date", gettext_lazy("生年月日")),
    ("university_raw", gettext_lazy("大学名（入力どおり）")),
    ("university", gettext_lazy("大学名（照合後）")),
    ("rank", gettext_lazy("ランク")),
    ("rank_is_manual", gettext_lazy("ランク手動")),
    ("graduation_year", gettext_lazy("卒業年")),
    ("status", gettext_lazy("選考ステータス")),
    ("entries", gettext_lazy("媒体ID")),
]


def _cell(name: str, value: Any) -> str:
    if name == "entries":
        text = " ".join(f"{item['board']}:{item['board_member_id']}" for item in value)
    elif name == "rank_is_manual":
        text = gettext("手動") if value else gettext("自動")
    else:
        text = "" if value is None else str(value)
    # Every cell, including names and IDs that came from a board: any could start a formula.
    return neutralise_formula(text)


def csv_lines(
    *, records: Iterable[dict[str, Any]], columns: Sequence[tuple[str, StrOrPromise]] | None = None
) -> Iterator[str]:
    """The header line, then one CRLF-terminated line per record (`columns`: (key, header) pairs, the
    candidate list's by default)."""
    columns = columns or CSV_COLUMNS
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def take(cells: list[str]) -> str:
        writer.writerow(cells)
        line = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return line

    yield take([str(label) for _, label in columns])
    for record in records:
        yield take([_cell(name, record[name]) for name, _ in columns])


def csv_encoded(
    *,
    records: Iterable[dict[str, Any]],
    encoding: str,
    columns: Sequence[tuple[str, StrOrPromise]] | None = None,
) -> Iterator[bytes]:
    """Bytes for Excel: 'cp932' (characters outside it become '?') or 'utf-8-sig' (with BOM)."""
    if encoding == "cp932":
        for line in csv_lines(records=records, columns=columns):
            yield line.encode("cp932", errors="replace")
        return
    yield "\ufeff".encode()
    for line in csv_lines(records=records, columns=columns):
        yield line.encode("utf-8")
