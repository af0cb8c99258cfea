"""Tests for the job-board field normalisers in candidates.textnorm."""

import datetime

import pytest

from candidates.textnorm import (
    FieldError,
    is_formula,
    neutralise_formula,
    nfkc,
    normalise_email,
    normalise_phone,
    parse_date,
    parse_graduation,
    split_name,
    to_katakana,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  ｔａｒｏ　ＹＡＭＡＤＡ  ", "taro YAMADA"),
        ("高橋\u3000\u3000悠斗", "高橋 悠斗"),
        ("a \t\n b", "a b"),
        ("１２３", "123"),
        ("", ""),
    ],
)
def test_nfkc_widens_narrows_and_collapses_spaces(raw, expected):
    assert nfkc(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ﾀｶﾊｼ ﾕｳﾄ", "タカハシ ユウト"),
        ("ﾀｶﾊｼ　ﾕｳﾄ", "タカハシ ユウト"),
        ("たかはし　ゆうと", "タカハシ ユウト"),
        ("ｶﾞｯｺｳ", "ガッコウ"),
        ("ﾕｰｷ", "ユーキ"),
        ("ゆーき", "ユーキ"),
        ("ユ-キ", "ユーキ"),
        ("ゔぃ", "ヴィ"),
        ("タカハシ", "タカハシ"),
    ],
)
def test_to_katakana(raw, expected):
    assert to_katakana(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ｔａｒｏ＠ＥＸＡＭＰＬＥ．ｊｐ", "taro@example.jp"),
        ("  Student000001@Example.AC.JP ", "student000001@example.ac.jp"),
        ("a.b+tag@sub.example.co.jp", "a.b+tag@sub.example.co.jp"),
    ],
)
def test_normalise_email(raw, expected):
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "\u3000"])
def test_normalise_email_empty_is_none(raw):
    assert normalise_email(raw) is None


@pytest.mark.parametrize(
    "raw",
    ["not-an-email", "a@b", "a@@example.jp", "@example.jp", "a b@example.jp", "a@example..jp", "a@.jp"],
)
def test_normalise_email_rejects_invalid(raw):
    with pytest.raises(FieldError) as excinfo:
        normalise_email(raw)
    assert excinfo.value.message == "メールアドレスの形式が正しくありません"
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("090-1234-5678", "09012345678"),
        ("０９０－１２３４－５６７８", "09012345678"),
        ("090ー1234ー5678", "09012345678"),
        ("090‐1234‐5678", "09012345678"),
        ("+81 90 1234 5678", "09012345678"),
        ("+81-90-1234-5678", "09012345678"),
        ("＋８１ ９０ １２３４ ５６７８", "09012345678"),
        ("+81 (0)90-1234-5678", "09012345678"),
        ("(03)1234-5678", "0312345678"),
        ("（０３）１２３４－５６７８", "0312345678"),
        ("03 1234 5678", "0312345678"),
        ("09034608019", "09034608019"),
        # Excel dropped the leading zero after treating the column as numbers.
        ("9034608019", "09034608019"),
    ],
)
def test_normalise_phone(raw, expected):
    assert normalise_phone(raw) == expected


def test_normalise_phone_empty_is_none():
    assert normalise_phone("  ") is None


@pytest.mark.parametrize("raw", ["123", "090-1234-567890", "携帯なし", "03-1234-5678 内線 1234"])
def test_normalise_phone_rejects_wrong_length(raw):
    with pytest.raises(FieldError) as excinfo:
        normalise_phone(raw)
    assert "電話番号" in excinfo.value.message


@pytest.mark.parametrize(
    "raw",
    [
        "2004/03/14",
        "2004/3/14",
        "20040314",
        "2004-03-14",
        "2004.3.14",
        "2004年3月14日",
        "2004年03月14日",
        "２００４／０３／１４",
        "２００４年３月１４日",
        "2004/03/14 0:00",
        "2004/03/14 00:00:00",
        "平成16年3月14日",
        "H16.3.14",
        "h16/03/14",
        "Ｈ１６．３．１４",
        "㍻16年3月14日",
    ],
)
def test_parse_date_forms(raw):
    assert parse_date(raw) == datetime.date(2004, 3, 14)


def test_parse_date_single_digit_month_and_day():
    assert parse_date("2004/3/4") == datetime.date(2004, 3, 4)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("平成元年1月8日", datetime.date(1989, 1, 8)),
        ("昭和63年12月31日", datetime.date(1988, 12, 31)),
        ("令和2年4月1日", datetime.date(2020, 4, 1)),
        ("R2.4.1", datetime.date(2020, 4, 1)),
        ("S63.12.31", datetime.date(1988, 12, 31)),
    ],
)
def test_parse_date_eras(raw, expected):
    assert parse_date(raw) == expected


def test_parse_date_empty_is_none():
    assert parse_date("") is None
    assert parse_date("\u3000") is None


@pytest.mark.parametrize(
    "raw", ["2004/13/45", "2003/02/29", "20041345", "2004年2月30日", "H16.2.30", "昨日", "2004/03"]
)
def test_parse_date_rejects_impossible(raw):
    with pytest.raises(FieldError) as excinfo:
        parse_date(raw)
    assert excinfo.value.message == f"日付として読めません（{raw}）"


def test_parse_date_accepts_leap_day():
    assert parse_date("2004/02/29") == datetime.date(2004, 2, 29)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026年03月", (2026, 3)),
        ("2026年3月", (2026, 3)),
        ("2026/03", (2026, 3)),
        ("2026-09", (2026, 9)),
        ("2026", (2026, 3)),
        ("２０２６", (2026, 3)),
        ("2026年3月卒", (2026, 3)),
        ("2026年3月卒業見込み", (2026, 3)),
        ("2026年卒", (2026, 3)),
        ("26卒", (2026, 3)),
        ("202609", (2026, 9)),
    ],
)
def test_parse_graduation(raw, expected):
    assert parse_graduation(raw) == expected


def test_parse_graduation_empty_is_none():
    assert parse_graduation(" ") is None


@pytest.mark.parametrize("raw", ["2026年13月", "未定", "26"])
def test_parse_graduation_rejects_garbage(raw):
    with pytest.raises(FieldError) as excinfo:
        parse_graduation(raw)
    assert raw in excinfo.value.message


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"full": "高橋\u3000悠斗"}, ("高橋", "悠斗")),
        ({"full": "高橋 悠斗"}, ("高橋", "悠斗")),
        ({"full": " 高橋\u3000\u3000悠斗 "}, ("高橋", "悠斗")),
        ({"full": "ﾀｶﾊｼ ﾕｳﾄ"}, ("タカハシ", "ユウト")),
        ({"full": "高橋悠斗"}, ("高橋悠斗", "")),
        ({"full": "Smith John Paul"}, ("Smith", "John Paul")),
        ({"family": " 斎藤 ", "given": "湊"}, ("斎藤", "湊")),
        ({"family": "斎藤", "given": None}, ("斎藤", "")),
        ({"family": "斎藤", "given": "湊", "full": "ignored"}, ("斎藤", "湊")),
        ({}, ("", "")),
        ({"full": ""}, ("", "")),
    ],
)
def test_split_name(kwargs, expected):
    assert split_name(**kwargs) == expected


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+1+1",
        "-1+cmd|' /C calc'!A0",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "＝1+1",
        # A harmless negative number is quoted too: telling it apart from a formula is what
        # attackers exploit, and we never export numbers that need a leading minus.
        "-123",
    ],
)
def test_neutralise_formula_quotes_dangerous_cells(value):
    assert is_formula(value)
    assert neutralise_formula(value) == "'" + value


@pytest.mark.parametrize("value", ["高橋", "taro@example.ac.jp", "09012345678", "", "a=b", " =1"])
def test_neutralise_formula_leaves_text_alone(value):
    assert not is_formula(value)
    assert neutralise_formula(value) == value


def test_neutralised_formula_is_not_a_formula_any_more():
    once = neutralise_formula("=1+1")
    assert neutralise_formula(once) == once
