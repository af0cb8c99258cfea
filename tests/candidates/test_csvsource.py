"""Tests for the streaming job-board CSV reader and the board presets it relies on."""

import csv
import gc
import io
import json
import sys
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

import pytest

from candidates import boards
from candidates.boards import GENERIC, PRESETS, MappingError
from candidates.csvsource import CSVSource, CSVSourceError, detect_encoding

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

MYNAVI_HEADER = (
    "マイナビID,氏名,氏名（カナ）,性別,生年月日,メールアドレス,携帯電話番号,学校区分,学校名,学部名,学科名,"
    "文理区分,卒業予定年月,エントリー日時"
).split(",")
# 髙, 﨑, ① and ～ exist in CP932 but not in plain Shift_JIS, as in real Windows exports.
MYNAVI_ROWS = [
    "MN00000001,髙橋　悠斗,タカハシ　ユウト,男性,2003/05/03,takahashi@example.ac.jp,090-1111-2222,大学,"
    "東京大学,工学部,電気電子工学科,理系,2026年03月,2026/05/24 11:06",
    "MN00000002,山﨑　花子,ヤマザキ　ハナコ,女性,2004/01/31,yamazaki@example.ac.jp,080-3333-4444,大学院,"
    "京都大学,文学研究科,英文学専攻①,文系,2027年03月,2026/06/01 09:00",
    "MN00000003,佐藤　～,サトウ,回答しない,2003/12/01,,070-5555-6666,短大,大阪短期大学,,,文系,2026年03月,"
    "2026/06/02 10:30",
]


def build_csv(header: list[str], rows: list[list[str]], *, newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerows([header, *rows])
    return buffer.getvalue()


def mynavi_text(*, newline: str = "\r\n") -> str:
    return build_csv(MYNAVI_HEADER, [row.split(",") for row in MYNAVI_ROWS], newline=newline)


MYNAVI_CP932 = mynavi_text().encode("cp932")


def open_bytes(data: bytes, **options) -> CSVSource:
    return CSVSource.open(fileobj=io.BytesIO(data), **options)


def error_of(data: bytes, **options) -> CSVSourceError:
    with pytest.raises(CSVSourceError) as caught:
        list(open_bytes(data, **options).rows())
    return caught.value


class CountingBytesIO(io.BytesIO):
    bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    read1 = read  # what the text layer calls


class Unseekable(CountingBytesIO):  # forward-only, like a socket or a decompressor
    def seekable(self):
        return False


@pytest.mark.parametrize(
    ("board", "header", "missing"),
    [
        ("mynavi", "マイナビID", []),
        # Split 姓/名 columns cover full_name, so it is not reported missing.
        ("rikunabi", "リクナビ会員ID", ["gender", "school_type", "humanities_science"]),
    ],
)
def test_sample_exports_are_detected_and_fully_read(board, header, missing):
    truth = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))
    with (SAMPLES / f"{board}.csv").open("rb") as fileobj:
        source = CSVSource.open(fileobj=fileobj)
        rows = list(source.rows())
    assert source.encoding == "cp932"
    assert source.preset.key == board
    assert source.headers[source.columns.fields["board_member_id"]] == header
    assert len(rows) == truth[f"{board}_rows"]
    assert [row.line for row in rows] == list(range(2, len(rows) + 2))
    assert all(row.raw[header] == row.fields["board_member_id"] for row in rows)
    assert source.columns.unmapped_headers == []
    assert source.columns.missing == missing


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


def test_shuffled_and_extra_columns_map_to_the_same_fields():
    reference = [row.fields for row in open_bytes(MYNAVI_CP932).rows()]
    order = [13, 5, 0, 7, 2, 11, 1, 9, 3, 12, 6, 10, 4, 8]
    header = [MYNAVI_HEADER[index] for index in order] + ["備考", "評価"]
    rows = [[row.split(",")[index] for index in order] + ["要連絡", "A"] for row in MYNAVI_ROWS]
    source = open_bytes(build_csv(header, rows).encode("cp932"))
    assert source.preset.key == "mynavi"
    assert [row.fields for row in source.rows()] == reference
    assert source.columns.unmapped_headers == ["備考", "評価"]
    assert next(source.rows()).raw["備考"] == "要連絡"


def test_header_variants_are_normalised_before_matching():
    header = ["氏名(カナ)", " ﾒｰﾙｱﾄﾞﾚｽ ", "携帯 電話番号", "姓", "名", "E-MAIL", "学部・学科"]
    row = ["ヤマダ　タロウ", "taro@example.jp", "09012345678", "山田", "太郎", "x@example.jp", "法学部"]
    source = open_bytes(build_csv(header, [row]).encode("utf-8"))
    expected = dict(family_name=3, given_name=4, full_kana=0, email=1, phone=2, faculty_department=6)
    assert source.columns.fields == expected
    # E-MAIL is a weaker alias of the same field, so it stays available as an extra column.
    assert source.columns.unmapped_headers == ["E-MAIL"]
    assert next(source.rows()).fields["email"] == "taro@example.jp"


def test_preferred_alias_wins_regardless_of_column_order():
    columns = boards.resolve_columns(
        headers=["氏名", "携帯メールアドレス", "PCメールアドレス"], preset=PRESETS["mynavi"]
    )
    assert columns.fields["email"] == 2
    assert columns.unmapped_headers == ["携帯メールアドレス"]


def test_quoted_newlines_keep_later_line_numbers_right():
    rows = [
        ["山田　太郎", "taro@example.jp", "一行"],
        ["鈴木　花子", "hanako@example.jp", "一行目\r\n二行目\r\n三行目"],
        ["佐藤　次郎", "jiro@example.jp", ""],
    ]
    rows += [["", "", ""], [], ["高橋　悠斗", "yuto@example.jp", "最後"]]
    text = build_csv(["氏名", "メールアドレス", "備考"], rows)
    rows_read = list(open_bytes(text.encode("cp932")).rows())
    assert [row.line for row in rows_read] == [2, 3, 6, 9]
    assert rows_read[1].raw["備考"] == "一行目\r\n二行目\r\n三行目"
    assert rows_read[3].fields["full_name"] == "高橋　悠斗"


def test_ragged_rows_are_kept_for_the_importer():
    text = "氏名,メールアドレス,備考\r\n山田　太郎\r\n鈴木　花子,hanako@example.jp,メモ,余り1,余り2\r\n"
    short, long = open_bytes(text.encode("cp932")).rows()
    assert short.raw == {"氏名": "山田　太郎", "メールアドレス": "", "備考": ""}
    assert short.fields == {"full_name": "山田　太郎", "email": ""}
    assert (long.raw["列4"], long.raw["列5"]) == ("余り1", "余り2")
    assert long.fields["email"] == "hanako@example.jp"


def test_blank_and_duplicate_header_names_get_distinct_keys():
    source = open_bytes("氏名,,メモ,メモ\r\n山田,a,b,c\r\n".encode())
    assert source.headers == ["氏名", "列2", "メモ", "メモ_4"]
    assert next(source.rows()).raw == {"氏名": "山田", "列2": "a", "メモ": "b", "メモ_4": "c"}


def test_header_only_file_has_no_rows():
    source = open_bytes(",".join(MYNAVI_HEADER).encode("cp932") + b"\r\n")
    assert source.preset.key == "mynavi"
    assert list(source.rows()) == []
    assert source.preview() == []


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


def test_explicit_board_overrides_detection():
    data = "氏名,メールアドレス,電話番号\r\n山田　太郎,taro@example.jp,0312345678\r\n".encode("cp932")
    assert open_bytes(data).preset.key == "generic"
    assert open_bytes(data, board="rikunabi").preset.key == "rikunabi"
    assert open_bytes(data, board=PRESETS["mynavi"]).preset.key == "mynavi"
    error = error_of(data, board="doda")
    assert error.code == "mapping"
    assert "doda" in error.message


def test_saved_mapping_reads_an_unknown_board():
    header = ["受験者番号", "名前", "フリガナ", "Eメール", "携帯", "学校"]
    row = ["J-0042", "山田　太郎", "ヤマダ　タロウ", "taro@example.jp", "090-1234-5678", "東北大学"]
    fields = ["board_member_id", "full_name", "full_kana", "email", "phone", "university"]
    data = build_csv(header, [row]).encode("cp932")
    # A blank entry is how the mapping form stores "not in this file".
    columns = dict(zip(fields, header, strict=True)) | {"gender": ""}
    saved = boards.mapping_from_saved(key="custom-7", label="自社説明会フォーム", columns=columns)
    assert "board_member_id" not in open_bytes(data).columns.fields
    for source in (open_bytes(data, presets=[*PRESETS.values(), saved]), open_bytes(data, board=saved)):
        assert source.preset.key == "custom-7"
        assert next(source.rows()).fields == dict(zip(fields, row, strict=True))


def test_saved_mapping_rejects_unknown_fields_and_shared_headers():
    with pytest.raises(MappingError):
        boards.mapping_from_saved(key="x", label="x", columns={"nickname": "あだ名"})
    with pytest.raises(MappingError, match="連絡先"):
        boards.mapping_from_saved(key="x", label="x", columns={"email": "連絡先", "phone": "連絡先"})


def test_no_name_and_no_contact_column_is_a_mapping_error():
    header = ["備考", "評価", "学校名"]
    with pytest.raises(MappingError) as caught:
        boards.resolve_columns(headers=header, preset=GENERIC)
    assert "氏名" in caught.value.message
    error = error_of(build_csv(header, [["メモ", "A", "東京大学"]]).encode("cp932"))
    assert (error.code, error.message) == ("mapping", caught.value.message)


def test_detect_board_prefers_the_id_column_and_refuses_to_guess():
    presets = list(PRESETS.values())
    assert boards.detect_board(headers=["リクナビ会員ID", "氏名"], candidates=presets).key == "rikunabi"
    assert boards.detect_board(headers=["氏名", "メールアドレス", "学校名"], candidates=presets) is None
    assert boards.detect_board(headers=["マイナビID", "備考"], candidates=presets).key == "mynavi"
    assert boards.detect_board(headers=["氏名", "備考"], candidates=[GENERIC]) is None


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
