"""Tests for the bytes of an upload: encodings, line endings, unusable files, the size limit, file objects, memory."""

import gc
import io
import sys
import time
import tracemalloc
from types import SimpleNamespace

import pytest

from candidates.csvsource import CSVSource, CSVSourceError, detect_encoding
from tests.candidates.csvdata import (
    MYNAVI_CP932,
    MYNAVI_HEADER,
    MYNAVI_ROWS,
    SAMPLES,
    CountingBytesIO,
    Unseekable,
    build_csv,
    error_of,
    mynavi_text,
    open_bytes,
)


@pytest.mark.parametrize(
    ("encoding", "newline", "expected_encoding"),
    [("utf-8-sig", "\r\n", "utf-8-sig"), ("utf-8", "\r\n", "utf-8"), ("cp932", "\n", "cp932")],
)
def test_sample_reencoded_reads_the_same(encoding, newline, expected_encoding):
    original = (SAMPLES / "mynavi.csv").read_bytes()
    text = original.decode("cp932").replace("\r\n", newline)
    reference = open_bytes(original)
    source = open_bytes(text.encode(encoding))
    assert source.encoding == expected_encoding
    assert source.preset.key == "mynavi"
    assert [(row.line, row.raw) for row in source.rows()] == [(row.line, row.raw) for row in reference.rows()]


@pytest.mark.parametrize(
    ("encoding", "newline", "expected_encoding"),
    [
        ("cp932", "\r\n", "cp932"),
        ("cp932", "\n", "cp932"),
        ("cp932", "\r", "cp932"),  # "CSV (Macintosh)" from old Mac Excel
        ("utf-8-sig", "\r\n", "utf-8-sig"),
        ("utf-8", "\n", "utf-8"),
    ],
)
def test_encodings_and_line_endings(encoding, newline, expected_encoding):
    source = open_bytes(mynavi_text(newline=newline).encode(encoding))
    rows = list(source.rows())
    assert source.encoding == expected_encoding
    assert source.preset.key == "mynavi"
    assert [row.line for row in rows] == [2, 3, 4]
    assert rows[0].fields["full_name"] == "髙橋　悠斗"
    assert rows[1].fields["department"] == "英文学専攻①"
    assert rows[2].fields["full_name"] == "佐藤　～"
    assert rows[2].fields["email"] == ""


def test_detect_encoding_tolerates_a_character_cut_at_the_head_boundary():
    text = "氏名,メール\r\n" + "山田太郎,a@example.jp\r\n" * 100
    utf8, cp932 = text.encode("utf-8"), text.encode("cp932")
    assert detect_encoding(head=utf8[:8]) == "utf-8"  # 氏名, then one byte of ,
    assert detect_encoding(head=utf8[:7]) == "utf-8"
    assert detect_encoding(head=cp932[:3]) == "cp932"  # half of 名
    assert detect_encoding(head=b"\xef\xbb\xbfID,name\r\n") == "utf-8-sig"


def test_neither_utf8_nor_cp932_falls_back_to_detection():
    text = "氏名,メールアドレス\r\n" + "山田太郎,taro@example.jp\r\n" * 20
    data = text.encode("euc_jp")
    encoding = detect_encoding(head=data)
    assert encoding not in {"utf-8", "cp932"}
    assert data.decode(encoding) == text
    assert [row.fields["full_name"] for row in open_bytes(data).rows()] == ["山田太郎"] * 20


NOT_CSV = "CSV（コンマ区切り）"


@pytest.mark.parametrize(
    ("data", "code", "message_part"),
    [
        (b"", "empty", "ファイルが空です"),
        (b"\xef\xbb\xbf", "empty", "ファイルが空です"),
        (b"\r\n\r\n,,,\r\n", "empty", "ファイルが空です"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not_csv", NOT_CSV),
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", "not_csv", NOT_CSV),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "not_csv", NOT_CSV),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "not_csv", NOT_CSV),
        ("氏名,メール\r\n山田,a@example.jp\r\n".encode() + b"\x00\x01", "not_csv", NOT_CSV),
        (MYNAVI_ROWS[0].encode("cp932") + b"\r\n", "no_header", "見出し"),
        (b"ID,name\r\n" * 40, "too_large", "ファイルが大きすぎます（上限 300 バイト）"),
    ],
)
def test_unusable_files_are_refused(data, code, message_part):
    error = error_of(data, max_bytes=300)
    assert error.code == code
    assert message_part in error.message


def test_too_large_is_refused_before_reading():
    fileobj = CountingBytesIO(MYNAVI_CP932)
    with pytest.raises(CSVSourceError) as caught:
        CSVSource.open(fileobj=fileobj, max_bytes=len(MYNAVI_CP932) - 1)
    assert caught.value.code == "too_large"
    assert fileobj.bytes_read == 0
    assert len(list(open_bytes(MYNAVI_CP932, max_bytes=len(MYNAVI_CP932)).rows())) == 3


def test_unseekable_input_is_copied_within_the_size_limit():
    with CSVSource.open(fileobj=Unseekable(MYNAVI_CP932)) as source:
        assert len(source.preview(limit=2)) == 2
        assert len(list(source.rows())) == 3
    stream = Unseekable(b"ID,name\r\n" * 1_000_000)
    with pytest.raises(CSVSourceError) as caught:
        CSVSource.open(fileobj=stream, max_bytes=2 * 1024 * 1024)
    assert (caught.value.code, caught.value.message) == ("too_large", "ファイルが大きすぎます（上限 2 MB）")
    assert stream.bytes_read < 3 * 1024 * 1024  # stopped copying at the limit, not at the end


def test_file_proxy_objects_work_and_stay_open():
    file = io.BytesIO(MYNAVI_CP932)

    def seek(*args):  # returns nothing, as some proxies' seek() does
        file.seek(*args)

    # Like django.core.files.File: it delegates to a file but is not an io stream itself.
    proxy = SimpleNamespace(read=file.read, tell=file.tell, seek=seek, seekable=lambda: True)
    assert len(list(CSVSource.open(fileobj=proxy).rows())) == 3
    assert not file.closed


def test_preview_is_rereadable_and_never_closes_the_callers_file():
    fileobj = io.BytesIO(MYNAVI_CP932)
    source = CSVSource.open(fileobj=fileobj)
    first = source.preview(limit=2)
    assert [row.line for row in first] == [2, 3]
    assert source.preview(limit=2) == first
    abandoned = source.rows()
    next(abandoned)
    del abandoned
    assert [row.line for row in source.rows()] == [2, 3, 4]
    assert not fileobj.closed


def test_dropping_an_unfinished_iteration_after_closing_the_file_is_quiet(monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    fileobj = io.BytesIO(MYNAVI_CP932)
    rows = CSVSource.open(fileobj=fileobj).rows()
    next(rows)
    fileobj.close()
    del rows
    gc.collect()
    assert unraisable == []


def test_excel_unicode_text_is_tab_separated_utf16():
    source = open_bytes(mynavi_text().replace(",", "\t").encode("utf-16"))
    assert (source.encoding, source.delimiter) == ("utf-16", "\t")
    assert next(source.rows()).fields["email"] == "takahashi@example.ac.jp"


def test_undecodable_text_later_in_the_file_names_its_line():
    rows = [[f"Student {index:05d}", f"s{index:05d}@example.jp"] for index in range(3000)]
    data = build_csv(["氏名", "メールアドレス"], rows).encode("utf-8") + "山田,y@example.jp".encode("cp932")
    source = open_bytes(data)
    assert source.encoding == "utf-8"
    with pytest.raises(CSVSourceError) as caught:
        list(source.rows())
    assert caught.value.code == "encoding"
    assert "3002行目" in caught.value.message


def test_twenty_thousand_rows_stream_lazily_with_flat_memory():
    note = "連絡事項" * 40
    body = "".join(
        f"{MYNAVI_ROWS[index % 3].replace('MN0000000', f'X{index:06d}-')},{note}\r\n"
        for index in range(20_000)
    )
    data = (",".join(MYNAVI_HEADER) + ",備考\r\n" + body).encode("cp932")
    fileobj = CountingBytesIO(data)
    source = CSVSource.open(fileobj=fileobj)
    rows = source.rows()
    assert iter(rows) is rows
    assert next(rows).line == 2
    assert fileobj.bytes_read < len(data) / 4  # only a chunk was read to produce the first row
    started = time.perf_counter()
    assert sum(1 for _row in rows) == 19_999
    assert time.perf_counter() - started < 2.0

    tracemalloc.start()
    try:
        last_line = 0
        for row in source.rows():
            last_line = row.line
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert last_line == 20_001
    # Holding the decoded file (or the rows) would cost far more than the 8 MB of input.
    assert len(data) > 8_000_000
    assert peak < 3_000_000


def test_a_line_of_millions_of_cells_is_refused_in_bounded_memory():
    from candidates.csvsource import MAX_CELLS, MAX_LINE_CHARS

    header = ",".join(MYNAVI_HEADER) + "\r\n"
    # A 10 MiB line of about 5 million empty cells, as an attacker or a broken export would send.
    flood = header + "MN1," + "," * (10 * 1024 * 1024) + "\r\n"
    tracemalloc.start()
    with pytest.raises(CSVSourceError) as error:
        list(CSVSource.open(fileobj=io.BytesIO(flood.encode())).rows())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert error.value.code == "too_wide" and "2行目" in error.value.message
    assert peak < 40 * 1024 * 1024
    # Within the line length but past the number of cells a record may have.
    wide = header + ",".join(["a"] * (MAX_CELLS + 1)) + "\r\n"
    assert len(wide) < MAX_LINE_CHARS
    with pytest.raises(CSVSourceError) as error:
        list(CSVSource.open(fileobj=io.BytesIO(wide.encode())).rows())
    assert error.value.code == "too_wide" and "列が多すぎます" in error.value.message
