"""Tests for the streaming job-board CSV reader: board detection, header mapping, rows and line numbers."""

import json

import pytest

from candidates import boards
from candidates.boards import GENERIC, PRESETS, MappingError
from candidates.csvsource import CSVSource
from tests.candidates.csvdata import (
    MYNAVI_CP932,
    MYNAVI_HEADER,
    MYNAVI_ROWS,
    SAMPLES,
    build_csv,
    error_of,
    open_bytes,
)


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
