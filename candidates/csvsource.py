"""Streaming reader for job-board CSV exports: encoding, header, board detection and rows."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any, BinaryIO

from django.utils.translation import gettext, gettext_lazy

from candidates.boards import PRESETS, BoardPreset, ColumnMap, MappingError, detect_board, resolve_columns
from candidates.csvfile import (  # noqa: F401 - CSVSourceError and detect_encoding are read from here too
    _NOT_CSV_MESSAGE,
    _TEXT_CHUNK,
    CSVSourceError,
    _seekable_stream,
    _too_large,
    detect_encoding,
)

HEAD_BYTES = 64 * 1024
DEFAULT_MAX_BYTES = 200 * 1024 * 1024
# Real exports have tens of columns and lines of a few KB; a line of millions of empty cells would cost
# hundreds of MB as Python strings, so each physical line and each record is bounded before it is kept.
MAX_LINE_CHARS = 100_000
MAX_CELLS = 1_000

_NO_HEADER_MESSAGE = gettext_lazy(
    "1行目に見出し（列名）の行がありません。列名の行を先頭にして保存し直してください。"
)

_NUMERIC_PUNCTUATION = str.maketrans("", "", "-/:. +")


@dataclass(slots=True)
class SourceRow:
    """One record: where it starts in the file, the original cells and the mapped fields."""

    line: int
    raw: dict[str, str]
    fields: dict[str, str]


def _looks_like_data(headers: list[str]) -> bool:
    cells = [header.strip() for header in headers if header.strip()]
    if not cells or any("@" in cell for cell in cells):
        return True
    numeric = sum(1 for cell in cells if cell.translate(_NUMERIC_PUNCTUATION).isdigit())
    return numeric * 2 > len(cells)


def _unique_keys(headers: list[str]) -> list[str]:
    keys: list[str] = []
    seen: set[str] = set()
    for index, header in enumerate(headers):
        key = header if header.strip() else f"列{index + 1}"  # i18n: data — a row's key in the stored report
        if key in seen:
            key = f"{key}_{index + 1}"
        seen.add(key)
        keys.append(key)
    return keys


@contextmanager
def _csv_reader(*, stream: IO[bytes], start: int, encoding: str, delimiter: str) -> Iterator[Any]:
    """Read the file from the top as CSV, turning decoding and format errors into CSVSourceError."""
    stream.seek(start)
    text = io.TextIOWrapper(stream, encoding=encoding, errors="strict", newline="")
    text._CHUNK_SIZE = _TEXT_CHUNK
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter)
    try:
        yield reader
    except UnicodeDecodeError as error:
        line = _first_undecodable_line(stream=stream, start=start, encoding=encoding)
        raise CSVSourceError(
            code="encoding",
            message=gettext(
                "%(line)s行目に文字コード（%(encoding)s）として読めない文字があります。"
                "文字コードを統一して保存し直してください。"
            )
            % {"line": line, "encoding": encoding},
        ) from error
    except csv.Error as error:
        raise CSVSourceError(
            code="not_csv",
            message=gettext("%(line)s行目付近のCSVの形式が正しくありません（%(error)s）。")
            % {"line": reader.line_num, "error": error},
        ) from error
    finally:
        # Detach so that closing or collecting the wrapper never closes the caller's file; if the
        # caller closed it before dropping an unfinished iteration, there is nothing to protect.
        with suppress(ValueError):
            text.detach()


def _bounded_lines(text: IO[str]) -> Iterator[str]:
    """The file's lines, refusing one longer than MAX_LINE_CHARS before it is read whole."""
    number = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise CSVSourceError(
                code="too_wide",
                message=gettext(
                    "%(line)s行目が長すぎます（上限 %(limit)s 文字）。CSVの形式を確かめてください。"
                )
                % {"line": number, "limit": f"{MAX_LINE_CHARS:,}"},
            )
        yield line


def _first_undecodable_line(*, stream: IO[bytes], start: int, encoding: str) -> int:
    # The text layer decodes far ahead of the csv reader, so re-scan line by line to name the
    # exact line; this runs only on the error path.
    stream.seek(start)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    for number, line in enumerate(stream, start=1):
        try:
            decoder.decode(line)
        except UnicodeDecodeError:
            return number
    return 1


def _read_header(*, head: bytes, encoding: str, delimiter: str) -> tuple[list[str], int]:
    """Return the first non-blank record and how many records precede it."""
    # Parsed from the head rather than the stream: the text layer decodes a whole chunk at once,
    # and a bad byte further down must not hide the header; rows() reports that byte's line.
    # The head is shorter than csv's field size limit, so no csv.Error can arise here.
    complete = len(head) < HEAD_BYTES
    text = codecs.getincrementaldecoder(encoding)("replace").decode(head, final=complete)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for index, cells in enumerate(reader):
        if not "".join(cells).strip():
            continue
        if "\ufffd" in "".join(cells):
            raise CSVSourceError(
                code="encoding",
                message=gettext(
                    "%(line)s行目（見出し）に文字コード（%(encoding)s）として読めない文字があります。"
                )
                % {"line": reader.line_num, "encoding": encoding},
            )
        if not complete and next(reader, None) is None:
            break  # the header may run past the head: far too long to be a real header row
        return cells, index
    if complete:
        raise CSVSourceError(code="empty", message=gettext("ファイルが空です"))
    raise CSVSourceError(code="no_header", message=str(_NO_HEADER_MESSAGE))


@dataclass(frozen=True)
class CSVSource:
    """A job-board CSV opened for reading; rows() streams, preview() re-reads the first rows.

    headers are the names as in the file, except that blank ones become 列N and a repeated name
    gets its column number as a suffix (備考_7), so that they can key SourceRow.raw.
    Iterations must not overlap: each one seeks the same file object.
    """

    encoding: str
    delimiter: str
    headers: list[str]
    preset: BoardPreset
    columns: ColumnMap
    _stream: IO[bytes] = field(repr=False)
    _start: int = field(repr=False)
    _header_index: int = field(repr=False)
    _owns_stream: bool = field(repr=False)

    @classmethod
    def open(
        cls,
        *,
        fileobj: BinaryIO,
        max_bytes: int = DEFAULT_MAX_BYTES,
        presets: Iterable[BoardPreset] = PRESETS.values(),
        board: str | BoardPreset | None = None,
    ) -> CSVSource:
        """Open a binary upload at its current position; raise CSVSourceError if unusable."""
        stream, owns_stream = _seekable_stream(fileobj=fileobj, max_bytes=max_bytes)
        try:
            start = stream.tell()
            size = stream.seek(0, io.SEEK_END) - start
            stream.seek(start)
            # Checked before reading anything, so an oversized upload costs nothing.
            if size > max_bytes:
                raise _too_large(max_bytes)
            head = stream.read(HEAD_BYTES)
            encoding = detect_encoding(head=head)
            delimiter = _sniff_delimiter(head=head, encoding=encoding)
            raw_headers, header_index = _read_header(head=head, encoding=encoding, delimiter=delimiter)
            if _looks_like_data(raw_headers):
                raise CSVSourceError(code="no_header", message=str(_NO_HEADER_MESSAGE))
            # A BOM the codec did not consume (e.g. a doubled one) would hide the first header.
            headers = _unique_keys([header.lstrip("\ufeff") for header in raw_headers])
            presets = tuple(presets)
            preset = _choose_preset(headers=headers, presets=presets, board=board)
            try:
                columns = resolve_columns(headers=headers, preset=preset)
            except MappingError as error:
                raise CSVSourceError(code="mapping", message=error.message) from error
        except BaseException:
            if owns_stream:
                stream.close()
            raise
        return cls(
            encoding=encoding,
            delimiter=delimiter,
            headers=headers,
            preset=preset,
            columns=columns,
            _stream=stream,
            _start=start,
            _header_index=header_index,
            _owns_stream=owns_stream,
        )

    def close(self) -> None:
        """Release the temporary copy made for non-seekable input; the caller's file stays open."""
        if self._owns_stream:
            self._stream.close()

    def __enter__(self) -> CSVSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def rows(self) -> Iterator[SourceRow]:
        """Stream data rows lazily; blank rows are skipped, ragged rows are kept as they are."""
        return self._generate_rows()

    def preview(self, *, limit: int = 5) -> list[SourceRow]:
        """Return the first data rows; the file is re-read, so rows() still starts at the top."""
        rows = self._generate_rows()
        try:
            return list(islice(rows, limit))
        finally:
            rows.close()

    def _generate_rows(self) -> Generator[SourceRow, None, None]:
        keys = self.headers
        width = len(keys)
        field_items = tuple(self.columns.fields.items())
        with _csv_reader(
            stream=self._stream, start=self._start, encoding=self.encoding, delimiter=self.delimiter
        ) as reader:
            for _skipped in islice(reader, self._header_index + 1):
                pass
            previous = reader.line_num
            for cells in reader:
                # csv counts the physical lines it consumed, so quoted newlines are accounted for.
                line = previous + 1
                previous = reader.line_num
                if not "".join(cells).strip():
                    continue
                count = len(cells)
                if count > MAX_CELLS:
                    raise CSVSourceError(
                        code="too_wide",
                        message=gettext("%(line)s行目の列が多すぎます（%(count)s 列、上限 %(limit)s 列）。")
                        % {"line": line, "count": f"{count:,}", "limit": f"{MAX_CELLS:,}"},
                    )
                if count < width:
                    cells = cells + [""] * (width - count)
                # Cells beyond the header are added below under 列N keys, so zip may stop early.
                raw = dict(zip(keys, cells, strict=False))
                if count > width:
                    for index in range(width, count):
                        raw[_extra_key(raw, index)] = cells[index]
                yield SourceRow(
                    line=line,
                    raw=raw,
                    fields={name: cells[index].strip() for name, index in field_items},
                )


def _extra_key(raw: dict[str, str], index: int) -> str:
    key = f"列{index + 1}"  # i18n: data — a row's key in the stored report
    while key in raw:
        key += "_"
    return key


def _sniff_delimiter(*, head: bytes, encoding: str) -> str:
    # Only the tab-separated "Unicode text" Excel export differs from plain commas in practice.
    text = head.decode(encoding, errors="ignore")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def _choose_preset(
    *, headers: list[str], presets: tuple[BoardPreset, ...], board: str | BoardPreset | None
) -> BoardPreset:
    if isinstance(board, BoardPreset):
        return board
    by_key = {preset.key: preset for preset in presets}
    if board is not None:
        chosen = by_key.get(board)
        if chosen is None:
            raise CSVSourceError(
                code="mapping",
                message=gettext("指定された求人媒体「%(board)s」の列設定が見つかりません。")
                % {"board": board},
            )
        return chosen
    detected = detect_board(headers=headers, candidates=presets)
    if detected is not None:
        return detected
    # Unknown or ambiguous layout: common Japanese headers still cover most exports.
    return by_key.get("generic", PRESETS["generic"])
