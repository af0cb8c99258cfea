"""Tests for university name matching and tenant rank tables in candidates.universities."""

import csv
import json
from pathlib import Path

import pytest

from candidates import universities
from candidates.textnorm import FieldError, normalise_email
from candidates.universities import (
    RankTable,
    UniversityMatcher,
    builtin_universities,
    fold_kyujitai,
    normalise_university,
)

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
DATA_FILE = Path(universities.__file__).resolve().parent / "data" / "universities.json"


@pytest.fixture(scope="module")
def matcher():
    return UniversityMatcher()


@pytest.fixture(scope="module")
def sample_table(matcher):
    # The sample is written by a spreadsheet: UTF-8 with a byte order mark.
    with (SAMPLES / "university_ranks.csv").open(encoding="utf-8-sig", newline="") as handle:
        entries = {row["大学名"]: row["ランク"] for row in csv.DictReader(handle) if row["大学名"]}
    return RankTable(entries=entries, default_rank="D", matcher=matcher)


# --- the data file -----------------------------------------------------------------------------


def _load_rejecting_duplicates():
    def no_duplicates(pairs):
        keys = [key for key, _ in pairs]
        duplicates = {key for key in keys if keys.count(key) > 1}
        assert not duplicates, f"duplicate JSON keys: {duplicates}"
        return dict(pairs)

    return json.loads(DATA_FILE.read_text(encoding="utf-8"), object_pairs_hook=no_duplicates)


def test_data_file_has_a_useful_starter_list():
    data = _load_rejecting_duplicates()
    names = [university["name"] for university in data["universities"]]
    assert len(names) >= 150
    assert len(names) == len(set(names))
    assert builtin_universities() == names


def test_no_two_universities_share_a_key():
    data = _load_rejecting_duplicates()
    owner: dict[str, str] = {}
    clashes = []
    spellings = [(u["name"], u["name"]) for u in data["universities"]]
    spellings += [(alias, u["name"]) for u in data["universities"] for alias in u["aliases"]]
    spellings += list(data["renamed"].items())
    for spelling, canonical in spellings:
        key = normalise_university(spelling)
        assert key, spelling
        if owner.setdefault(key, canonical) != canonical:
            clashes.append((spelling, key, owner[key], canonical))
    assert clashes == []


def test_renamed_targets_are_listed_universities():
    data = _load_rejecting_duplicates()
    names = set(builtin_universities())
    assert set(data["renamed"].values()) <= names


def test_kyujitai_map_is_single_characters_and_not_chained():
    kyujitai = _load_rejecting_duplicates()["kyujitai"]
    assert all(len(old) == 1 and len(new) == 1 for old, new in kyujitai.items())
    # A target that is itself folded again would make the result depend on the order.
    assert not set(kyujitai.values()) & set(kyujitai)


# --- normalise_university ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("東京大学", "東京"),
        ("東京大", "東京"),
        ("東京 大学", "東京"),
        ("東京大学大学院", "東京"),
        ("東京大学 法学部", "東京"),
        ("国立大学法人 東京大学", "東京"),
        ("国立大学法人東京大学", "東京"),
        ("公立大学法人 大阪公立大学", "大阪公立"),
        ("学校法人 早稲田大学", "早稲田"),
        ("学校法人慶應義塾 慶應義塾大学", "慶応義塾"),
        ("國學院大學", "国学院"),
        ("駒澤大学", "駒沢"),
        ("東京藝術大学", "東京芸術"),
        ("髙崎経済大学", "高崎経済"),
        ("立命館 アジア太平洋大学", "立命館アジア太平洋"),
        ("ICU", "icu"),
        ("ＩＣＵ", "icu"),
        ("さくら国際大学", "さくら国際"),
        ("大学", "大学"),
        ("", ""),
    ],
)
def test_normalise_university(raw, expected):
    assert normalise_university(raw) == expected


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("應", "応"),
        ("國", "国"),
        ("學", "学"),
        ("澤", "沢"),
        ("藝", "芸"),
        ("髙", "高"),
        ("齋", "斎"),
        ("齊", "斉"),
        ("邊", "辺"),
        ("邉", "辺"),
        ("櫻", "桜"),
        ("廣", "広"),
        ("濱", "浜"),
        ("﨑", "崎"),
        ("嶋", "島"),
        ("實", "実"),
        ("圓", "円"),
        ("與", "与"),
        ("佛", "仏"),
        ("關", "関"),
        # Compatibility ideographs are folded by NFKC itself (U+FA19 -> 神, U+F91B -> 亂).
        ("\ufa19", "神"),
        ("\uf91b", "亂"),
    ],
)
def test_fold_kyujitai(old, new):
    assert fold_kyujitai(old) == new


# --- UniversityMatcher -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Variant characters.
        ("慶應義塾大学", "慶應義塾大学"),
        ("慶応義塾大学", "慶應義塾大学"),
        ("慶応大学", "慶應義塾大学"),
        ("慶應", "慶應義塾大学"),
        ("國學院大學", "國學院大學"),
        ("国学院大学", "國學院大學"),
        ("國學院大学", "國學院大學"),
        ("駒澤大学", "駒澤大学"),
        ("駒沢大学", "駒澤大学"),
        ("東京藝術大学", "東京藝術大学"),
        ("東京芸術大学", "東京藝術大学"),
        ("髙崎経済大学", "高崎経済大学"),
        ("國士館大学", "國士舘大学"),
        ("獨協大学", "獨協大学"),
        ("独協大学", "獨協大学"),
        ("仏教大学", "佛教大学"),
        # Short names.
        ("東大", "東京大学"),
        ("京大", "京都大学"),
        ("阪大", "大阪大学"),
        ("早大", "早稲田大学"),
        ("早稲田", "早稲田大学"),
        ("慶大", "慶應義塾大学"),
        ("明大", "明治大学"),
        ("青学", "青山学院大学"),
        ("中大", "中央大学"),
        ("法大", "法政大学"),
        ("関学", "関西学院大学"),
        ("関大", "関西大学"),
        ("立命", "立命館大学"),
        ("理科大", "東京理科大学"),
        ("一橋", "一橋大学"),
        ("名大", "名古屋大学"),
        ("北大", "北海道大学"),
        ("東北大", "東北大学"),
        ("九大", "九州大学"),
        ("神大", "神戸大学"),
        ("筑波大", "筑波大学"),
        ("上智", "上智大学"),
        ("同志社", "同志社大学"),
        ("立教", "立教大学"),
        ("学習院", "学習院大学"),
        ("日大", "日本大学"),
        ("東洋", "東洋大学"),
        ("駒大", "駒澤大学"),
        ("専大", "専修大学"),
        ("近大", "近畿大学"),
        ("芸大", "東京藝術大学"),
        ("藝大", "東京藝術大学"),
        ("外大", "東京外国語大学"),
        ("農工大", "東京農工大学"),
        # Renamed and merged universities.
        ("東工大", "東京科学大学"),
        ("東京工業大学", "東京科学大学"),
        ("東京医科歯科大学", "東京科学大学"),
        ("首都大学東京", "東京都立大学"),
        ("大阪府立大学", "大阪公立大学"),
        ("大阪市立大学", "大阪公立大学"),
        # Trailing 大, width and spacing variants.
        ("東京大", "東京大学"),
        ("東京理科大", "東京理科大学"),
        ("東京 大学", "東京大学"),
        ("東京大学\u3000", "東京大学"),
        ("ＩＣＵ", "国際基督教大学"),
        ("icu", "国際基督教大学"),
        ("東京大学大学院", "東京大学"),
        ("国立大学法人 東京大学", "東京大学"),
        # Different universities that only look alike.
        ("東京女子大学", "東京女子大学"),
        ("東京医科大学", None),
        ("京都芸術大学", "京都芸術大学"),
        ("京都市立芸術大学", "京都市立芸術大学"),
        ("昭和女子大学", "昭和女子大学"),
        ("東京", "東京大学"),
        # Unknown.
        ("さくら国際大学", None),
        ("", None),
        (None, None),
    ],
)
def test_matcher_canonical(matcher, raw, expected):
    assert matcher.canonical(raw) == expected


def test_matcher_extra_aliases_add_and_override():
    tenant = UniversityMatcher(
        extra_aliases={
            "神大": "神奈川大学",
            "さくら国際": "さくら国際大学",
            "うちの東工大": "東工大",
        }
    )
    assert tenant.canonical("神大") == "神奈川大学"
    assert tenant.canonical("さくら国際") == "さくら国際大学"
    assert tenant.canonical("さくら国際大学") == "さくら国際大学"
    assert tenant.canonical("うちの東工大") == "東京科学大学"
    # The built-in matcher is not changed by a tenant's aliases.
    assert UniversityMatcher().canonical("神大") == "神戸大学"


# --- RankTable ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("慶応義塾大学", ("A", "慶應義塾大学")),
        ("慶大", ("A", "慶應義塾大学")),
        ("国学院大学", ("C", "國學院大學")),
        ("駒沢大学", ("C", "駒澤大学")),
        ("東京芸術大学", ("B", "東京藝術大学")),
        ("芸大", ("B", "東京藝術大学")),
        ("東京工業大学", ("A", "東京科学大学")),
        ("東工大", ("A", "東京科学大学")),
        ("東京医科歯科大学", ("A", "東京科学大学")),
        ("東京大", ("A", "東京大学")),
        ("ＴＯＫＹＯ", ("D", None)),
        ("さくら国際大学", ("D", None)),
        ("神戸大学", ("D", None)),
        ("", ("D", None)),
        ("  ", ("D", None)),
        (None, ("D", None)),
    ],
)
def test_rank_for_sample_table(sample_table, raw, expected):
    assert sample_table.rank_for(raw) == expected


def test_rank_table_matches_unknown_schools_by_key():
    table = RankTable(
        entries={"さくら国際大学": "Ｂ", "髙山学園大学": "c"}, default_rank="D", matcher=UniversityMatcher()
    )
    assert table.rank_for("さくら国際大") == ("B", "さくら国際大学")
    assert table.rank_for("さくら 国際 大学") == ("B", "さくら国際大学")
    assert table.rank_for("高山学園大学") == ("C", "髙山学園大学")
    assert table.rank_for("さくら大学") == ("D", None)


def test_rank_table_written_with_variants_and_short_names():
    table = RankTable(
        entries={"慶応大学": "A", "東工大": "A", "国学院": "C", "駒大": "C"},
        default_rank="D",
        matcher=UniversityMatcher(),
    )
    assert table.rank_for("慶應義塾大学") == ("A", "慶應義塾大学")
    assert table.rank_for("東京科学大学") == ("A", "東京科学大学")
    assert table.rank_for("國學院大學") == ("C", "國學院大學")
    assert table.rank_for("駒澤大学") == ("C", "駒澤大学")


def test_rank_table_reports_rows_naming_the_same_school():
    table = RankTable(
        entries={"東京工業大学": "A", "東京医科歯科大学": "B", "東京大学": "A"},
        default_rank="D",
        matcher=UniversityMatcher(),
    )
    assert table.conflicts == [("東京工業大学", "東京医科歯科大学")]
    assert table.rank_for("東京科学大学") == ("A", "東京科学大学")


@pytest.mark.parametrize("bad", ["AA", "1", "", "優"])
def test_rank_table_rejects_bad_rank_letters(bad):
    with pytest.raises(FieldError):
        RankTable(entries={"東京大学": bad}, default_rank="D", matcher=UniversityMatcher())
    with pytest.raises(FieldError):
        RankTable(entries={}, default_rank=bad, matcher=UniversityMatcher())


def test_rank_table_uses_tenant_aliases():
    tenant = UniversityMatcher(extra_aliases={"神大": "神奈川大学"})
    table = RankTable(entries={"神奈川大学": "B"}, default_rank="D", matcher=tenant)
    assert table.rank_for("神大") == ("B", "神奈川大学")


# --- the sample exports ------------------------------------------------------------------------


def _sample_rows(file_name):
    # Job boards export Shift_JIS (CP932 in practice, for ①, ㈱ and NEC/IBM extensions).
    with (SAMPLES / file_name).open(encoding="cp932", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("file_name", "school_column"), [("mynavi.csv", "学校名"), ("rikunabi.csv", "大学名")]
)
def test_sample_exports_get_the_expected_rank(sample_table, file_name, school_column):
    expected_rank = json.loads((SAMPLES / "truth.json").read_text(encoding="utf-8"))["expected_rank"]
    checked = 0
    wrong = []
    for row in _sample_rows(file_name):
        try:
            email = normalise_email(row["メールアドレス"])
        except FieldError:
            continue
        # Relayed addresses (and the refused rows) are not in the truth map.
        if email not in expected_rank:
            continue
        want = expected_rank[email]
        want = "D" if want == "default" else want
        got, _ = sample_table.rank_for(row[school_column])
        if got != want:
            wrong.append((email, row[school_column], want, got))
        checked += 1
    assert wrong == []
    # Every row of the sample except relayed addresses and the two refused rows.
    assert checked == {"mynavi.csv": 43, "rikunabi.csv": 17}[file_name]
