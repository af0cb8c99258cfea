"""The dedupe rule: a shared phone or e-mail merges only when name and birth date do not clearly disagree."""

from __future__ import annotations

import io
from datetime import date

import pytest

from candidates.dedupe import Identity, identity_conflict
from candidates.models import Candidate, CandidateKey, Entry, PossibleDuplicate
from candidates.services.importing import entries_import_file
from candidates.services.merging import duplicate_merge
from tests.candidates.conftest import csv_bytes

MYNAVI = "マイナビID,氏名,氏名（カナ）,生年月日,メールアドレス,携帯電話番号,学校名\n"
RIKUNABI = (
    "リクナビ会員ID,漢字氏名（姓）,漢字氏名（名）,カナ氏名（セイ）,カナ氏名（メイ）,メールアドレス,電話番号,"
    "生年月日,大学名\n"
)


def run(text: str, board: str):
    return entries_import_file(fileobj=io.BytesIO(csv_bytes(text)), board=board)


def candidate_of(member_id: str) -> Candidate:
    return Entry.objects.get(board_member_id=member_id).candidate


def person(family="山田", given="太郎", family_kana="ヤマダ", given_kana="タロウ", birth=date(2004, 1, 1)):
    return Identity(
        family_name=family, given_name=given, family_kana=family_kana, given_kana=given_kana, birth_date=birth
    )


@pytest.mark.parametrize(
    "incoming, expected",
    [
        (person(), None),
        # The same student written another way: 旧字体, widths, spaces, hiragana already made katakana.
        (person(family="髙田", family_kana="タカダ"), "氏名が異なる"),
        (person(given="次郎", given_kana="ジロウ"), "氏名が異なる"),
        (person(given="次郎", given_kana="ジロウ", birth=date(2006, 5, 5)), "氏名・生年月日が異なる"),
        (person(birth=date(2004, 1, 2)), "生年月日が異なる"),
        # Either script agreeing is enough: a typo in the reading, or kanji the other board spelt otherwise.
        (person(given_kana="タロ"), None),
        (person(given="太朗"), None),
        # Missing fields never disagree.
        (Identity(), None),
        (person(birth=None), None),
        (Identity(family_name="山田", birth_date=date(2004, 1, 1)), None),
        (Identity(family_kana="ヤマダ", given_kana="ジロウ"), "氏名が異なる"),
    ],
)
def test_identity_conflict(incoming, expected):
    assert identity_conflict(incoming=incoming, known=person()) == expected


def test_variant_spellings_agree():
    known = Identity(family_name="高橋", given_name="陽菜", family_kana="タカハシ", given_kana="ヒナ")
    for family in ("髙橋", "高 橋", "高橋"):
        assert (
            identity_conflict(incoming=Identity(family_name=family, given_name="陽菜"), known=known) is None
        )
    western = Identity(family_name="Smith", given_name="John")
    assert identity_conflict(incoming=Identity(family_name="JOHN", given_name="smith"), known=western) is None
    # Small kana typed large: ショウタ / シヨウタ.
    shota = Identity(family_kana="シミズ", given_kana="ショウタ")
    assert (
        identity_conflict(incoming=Identity(family_kana="シミズ", given_kana="シヨウタ"), known=shota) is None
    )


def test_siblings_sharing_a_family_mobile_are_two_students_flagged(acme):
    report = run(
        MYNAVI + "M1,山田　太郎,ヤマダ　タロウ,2003/04/10,taro@example.jp,090-1111-2222,東京大学\n"
        "M2,山田　花子,ヤマダ　ハナコ,2005/09/01,hanako@example.jp,090-1111-2222,日本大学\n",
        "mynavi",
    )
    assert (report.created, report.merged, report.possible_duplicates) == (2, 0, 1)
    taro, hanako = candidate_of("M1"), candidate_of("M2")
    assert taro != hanako and hanako.phone == "09011112222"
    pair = PossibleDuplicate.objects.get()
    assert {pair.first, pair.second} == {taro, hanako} and pair.status == "open"
    assert pair.reason == "携帯電話番号が一致（氏名・生年月日が異なる）"
    # The key row stays with its first owner: one key, one person.
    assert CandidateKey.objects.get(kind="mobile").candidate == taro


def test_twins_and_a_family_email_address(acme):
    # Twins: same family name, same birth date, different given names, one family address.
    report = run(
        MYNAVI + "M1,佐藤　蓮,サトウ　レン,2004/06/06,sato-family@example.ne.jp,090-3333-0001,慶應義塾大学\n"
        "M2,佐藤　葵,サトウ　アオイ,2004/06/06,sato-family@example.ne.jp,090-3333-0002,慶應義塾大学\n",
        "mynavi",
    )
    assert (report.created, report.merged) == (2, 0)
    assert PossibleDuplicate.objects.get().reason == "メールアドレスが一致（氏名が異なる）"
    # Each twin still joins their own entries by their own mobile number.
    run(MYNAVI + "M3,佐藤　葵,サトウ　アオイ,2004/06/06,,09033330002,慶應義塾大学\n", "mynavi")
    assert candidate_of("M3") == candidate_of("M2")


def test_same_name_different_birth_date_is_not_merged(acme):
    run(MYNAVI + "M1,田中　健太,タナカ　ケンタ,2003/01/01,k@example.jp,090-5555-0000,東京大学\n", "mynavi")
    report = run(MYNAVI + "M2,田中　健太,タナカ　ケンタ,1971/03/03,,090-5555-0000,\n", "mynavi")
    assert (report.created, report.merged) == (1, 0)
    assert PossibleDuplicate.objects.get().reason == "携帯電話番号が一致（生年月日が異なる）"


def test_the_same_student_from_both_boards_still_merges(acme):
    run(
        MYNAVI + "M1,髙橋　翔太,タカハシ　ショウタ,2004/02/03,shota@example.ac.jp,090-1234-5678,東京大学\n"
        "M2,齋藤　湊,サイトウ　ミナト,2003/05/02,minato@example.ac.jp,080-2222-3333,早稲田大学\n"
        "M3,渡辺　結衣,ワタナベ　ユイ,2005/11/12,yui@example.ac.jp,070-4444-5555,日本大学\n",
        "mynavi",
    )
    report = run(
        RIKUNABI
        # 新字体, hiragana reading, relayed e-mail: only the phone (with +81) ties it to M1.
        + "R1,高橋,翔太,たかはし,しょうた,r123@relay.example.jp,+81 90-1234-5678,20040203,東大\n"
        # Half-width kana, full-width digits, e-mail in capitals.
        + "R2,斎藤,湊,ｻｲﾄｳ,ﾐﾅﾄ,MINATO@EXAMPLE.AC.JP,０８０－２２２２－３３３３,20030502,早大\n"
        # A spreadsheet dropped the leading zero; no kana on this board.
        + "R3,渡邊,結衣,,,r456@relay.example.jp,7044445555,20051112,日大\n",
        "rikunabi",
    )
    assert (report.created, report.merged, report.possible_duplicates) == (0, 3, 0)
    assert Candidate.objects.count() == 3
    for mynavi, rikunabi in (("M1", "R1"), ("M2", "R2"), ("M3", "R3")):
        assert candidate_of(mynavi) == candidate_of(rikunabi)


def test_a_sibling_re_entering_with_the_parents_number_finds_themselves(acme):
    # Both typed a parent's number on マイナビ; the younger one re-enters on リクナビ through a relay address.
    run(
        MYNAVI + "M1,中村　大輝,ナカムラ　ダイキ,2002/08/08,daiki@example.jp,080-9999-0000,京都大学\n"
        "M2,中村　陽菜,ナカムラ　ヒナ,2004/12/24,hina@example.jp,080-9999-0000,京都大学\n",
        "mynavi",
    )
    daiki, hina = candidate_of("M1"), candidate_of("M2")
    report = run(
        RIKUNABI + "R1,中村,陽菜,ナカムラ,ヒナ,r1@relay.example.jp,08099990000,20041224,京大\n", "rikunabi"
    )
    assert (report.created, report.merged, report.possible_duplicates) == (0, 1, 0)
    assert candidate_of("R1") == hina and daiki.entries.count() == 1
    # In one file, too: a sibling's later row finds the sibling created earlier in the same batch.
    report = run(
        MYNAVI + "M3,林　凛,ハヤシ　リン,2003/03/03,,090-7777-1111,\n"
        "M4,林　蓮,ハヤシ　レン,2005/05/05,,090-7777-1111,\n"
        "M5,林　蓮,ハヤシ　レン,2005/05/05,ren@example.jp,090-7777-1111,\n",
        "mynavi",
    )
    assert (report.created, report.merged) == (2, 1)
    assert candidate_of("M5") == candidate_of("M4") != candidate_of("M3")


def test_rows_without_a_name_or_birth_date_still_join_their_key(acme):
    run(MYNAVI + "M1,山本　湊,ヤマモト　ミナト,2004/04/04,minato@example.jp,090-8888-1111,\n", "mynavi")
    report = run("メールアドレス,携帯電話番号,学校名\nminato@example.jp,,東京大学\n,09088881111,\n", None)
    assert (report.created, report.merged) == (0, 2)


def test_candidates_created_elsewhere_are_judged_by_the_same_rule(acme):
    # Added by hand without key rows; the import adopts their columns as keys only for the same student.
    parent = Candidate.objects.create(family_name="木村", given_name="誠", phone="09012120000")
    report = run(
        MYNAVI + "M1,木村　さくら,キムラ　サクラ,2004/07/07,sakura@example.jp,090-1212-0000,\n", "mynavi"
    )
    assert (report.created, report.merged, report.possible_duplicates) == (1, 0, 1)
    assert candidate_of("M1") != parent and parent.entries.count() == 0


def test_a_recruiter_merges_a_flagged_pair_and_later_entries_follow(acme, make_user):
    _client, user = make_user("recruiter")
    run(
        MYNAVI + "M1,加藤　結衣,カトウ　ユイ,2005/11/12,yui@example.jp,090-4040-0000,\n"
        "M2,加藤　結衣,カトウ　ユイ,2005/12/11,,090-4040-0000,\n",  # a birth-date typo: kept apart, flagged
        "mynavi",
    )
    pair = PossibleDuplicate.objects.get()
    first = candidate_of("M1")
    duplicate_merge(duplicate_id=pair.pk, kept_id=first.pk, user=user)
    report = run(MYNAVI + "M3,加藤　結衣,カトウ　ユイ,2005/11/12,,090-4040-0000,\n", "mynavi")
    assert report.merged == 1 and candidate_of("M3") == first
