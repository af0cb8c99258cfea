"""Benchmark data for the dedupe rule: 100,000 students on two boards, siblings sharing phones and e-mails.

`people_files` writes a マイナビ and a リクナビ export in which every member ID names its true student, so
`identity_score` can count, after an import, candidates made of two different students (wrong merges)
and students split over several candidates (missed true merges). What the files hold:

- every student enters on マイナビ; about 30 % enter again on リクナビ with the variants real exports have:
  旧字体 (髙橋, 齋藤, 山﨑, 渡邊, 濱田), kana in hiragana or half-width, full-width digits, phone numbers as
  `+81 90-…`, `(090)…`, without the leading zero, e-mail in capitals or replaced by the board's relay
  address (then only the phone number ties the two entries together); 2 % enter マイナビ twice;
- about one pair of students in a thousand shares a mobile number (siblings with a family phone, or both
  typing a parent's number), and about one pair in two thousand a family e-mail address; one sibling pair
  in ten are twins with the same birth date.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

MYNAVI_HEADER = (
    "マイナビID,氏名,氏名（カナ）,性別,生年月日,メールアドレス,携帯電話番号,学校区分,学校名,学部名,学科名,"
    "文理区分,卒業予定年月,エントリー日時"
)
RIKUNABI_HEADER = (
    "リクナビ会員ID,漢字氏名（姓）,漢字氏名（名）,カナ氏名（セイ）,カナ氏名（メイ）,メールアドレス,電話番号,"
    "生年月日,大学名,学部・学科,卒業年度,エントリー日"
)
# (family name, kana, 旧字体 spelling the same student may use on the other board)
FAMILIES = [
    ("佐藤", "サトウ", ""),
    ("鈴木", "スズキ", ""),
    ("高橋", "タカハシ", "髙橋"),
    ("田中", "タナカ", ""),
    ("伊藤", "イトウ", ""),
    ("渡辺", "ワタナベ", "渡邊"),
    ("山本", "ヤマモト", ""),
    ("中村", "ナカムラ", ""),
    ("小林", "コバヤシ", ""),
    ("加藤", "カトウ", ""),
    ("吉田", "ヨシダ", ""),
    ("山田", "ヤマダ", ""),
    ("斎藤", "サイトウ", "齋藤"),
    ("山崎", "ヤマザキ", "山﨑"),
    ("浜田", "ハマダ", "濱田"),
    ("沢田", "サワダ", "澤田"),
    ("松本", "マツモト", ""),
    ("井上", "イノウエ", ""),
    ("木村", "キムラ", ""),
    ("林", "ハヤシ", ""),
]
# Given names and readings (the first eight are also the import benchmark's).
GIVEN = [
    ("太郎", "タロウ"),
    ("花子", "ハナコ"),
    ("悠斗", "ユウト"),
    ("陽菜", "ヒナ"),
    ("蓮", "レン"),
    ("葵", "アオイ"),
    ("湊", "ミナト"),
    ("結衣", "ユイ"),
    ("大輝", "ダイキ"),
    ("美咲", "ミサキ"),
    ("翔太", "ショウタ"),
    ("さくら", "サクラ"),
    ("健太", "ケンタ"),
    ("彩花", "アヤカ"),
    ("拓海", "タクミ"),
    ("凛", "リン"),
]
SCHOOLS = [
    "東京大学",
    "京都大学",
    "慶應義塾大学",
    "早稲田大学",
    "明治大学",
    "日本大学",
    "さくら国際大学",
    "関西学院大学",
]
SCHOOL_VARIANTS = {
    "東京大学": "東大",
    "慶應義塾大学": "慶応義塾大学",
    "早稲田大学": "早大",
    "日本大学": "日大",
}
_HALF_KANA = str.maketrans(
    dict(
        zip(
            "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンー",
            "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｰ",
            strict=True,
        )
    )
)
_VOICED_HALF = {"ガ": "ｶﾞ", "ギ": "ｷﾞ", "グ": "ｸﾞ", "ゲ": "ｹﾞ", "ゴ": "ｺﾞ", "ザ": "ｻﾞ", "ジ": "ｼﾞ", "ズ": "ｽﾞ"}
_VOICED_HALF |= {"ゼ": "ｾﾞ", "ゾ": "ｿﾞ", "ダ": "ﾀﾞ", "デ": "ﾃﾞ", "ド": "ﾄﾞ", "バ": "ﾊﾞ", "ビ": "ﾋﾞ", "ブ": "ﾌﾞ"}
_VOICED_HALF |= {"ベ": "ﾍﾞ", "ボ": "ﾎﾞ", "パ": "ﾊﾟ", "ピ": "ﾋﾟ", "プ": "ﾌﾟ", "ペ": "ﾍﾟ", "ポ": "ﾎﾟ"}
_SMALL_HALF = {"ャ": "ｬ", "ュ": "ｭ", "ョ": "ｮ", "ッ": "ｯ"}
_FULL_DIGITS = str.maketrans("0123456789-", "０１２３４５６７８９－")


@dataclass
class Student:
    number: int
    family: str
    family_kana: str
    old_family: str
    given: str
    given_kana: str
    birth: date
    school: str
    email: str
    mobile: str


@dataclass
class PeopleFiles:
    mynavi: Path
    rikunabi: Path
    students: int
    shared_phone_pairs: int
    shared_email_pairs: int
    twins: int
    rikunabi_rows: int
    # Pairs of student numbers that share a strong key: they must end as two candidates, flagged.
    shared_pairs: list[tuple[int, int]]


def _half_width(kana: str) -> str:
    text = "".join(_VOICED_HALF.get(char, _SMALL_HALF.get(char, char)) for char in kana)
    return text.translate(_HALF_KANA)


def _hiragana(kana: str) -> str:
    return "".join(chr(ord(char) - 0x60) if "ァ" <= char <= "ヶ" else char for char in kana)


def _students(count: int, rng: random.Random) -> tuple[list[Student], list[tuple[int, int]], int, int, int]:
    students = []
    for number in range(count):
        family, family_kana, old_family = rng.choice(FAMILIES)
        given, given_kana = rng.choice(GIVEN)
        students.append(
            Student(
                number=number,
                family=family,
                family_kana=family_kana,
                old_family=old_family,
                given=given,
                given_kana=given_kana,
                birth=date(2002, 4, 2) + timedelta(days=rng.randrange(4 * 365)),
                school=rng.choice(SCHOOLS),
                email=f"s{number:06d}@example.ac.jp",
                # Unique per student: 090 + 8 digits of the number.
                mobile=f"090{number:08d}",
            )
        )
    pairs: list[tuple[int, int]] = []
    phone_pairs = email_pairs = twins = 0
    # Every 667th student has a younger sibling next to them: the same family name, another given name.
    # Two pairs in three share a mobile number, the third a family e-mail address.
    for pair_number, index in enumerate(range(0, count - 2, 667)):
        first, second = students[index], students[index + 1]
        second.family, second.family_kana, second.old_family = (
            first.family,
            first.family_kana,
            first.old_family,
        )
        while second.given == first.given:
            second.given, second.given_kana = rng.choice(GIVEN)
        if rng.random() < 0.1:
            second.birth = first.birth  # twins
            twins += 1
        else:
            second.birth = first.birth + timedelta(days=rng.randrange(400, 1500))
        kind = pair_number % 3
        if kind == 0:
            second.mobile = first.mobile  # the elder's phone, used by the family
            phone_pairs += 1
        elif kind == 1:
            first.mobile = second.mobile = f"080{index:08d}"  # both typed a parent's number
            phone_pairs += 1
        else:
            first.email = second.email = f"family{index:06d}@example.ne.jp"
            email_pairs += 1
        pairs.append((first.number, second.number))
    return students, pairs, phone_pairs, email_pairs, twins


def _phone_variant(mobile: str, rng: random.Random) -> str:
    dashed = f"{mobile[:3]}-{mobile[3:7]}-{mobile[7:]}"
    return rng.choice(
        (
            mobile,
            dashed,
            dashed.translate(_FULL_DIGITS),
            f"+81 {mobile[1:3]}-{mobile[3:7]}-{mobile[7:]}",
            mobile[1:],  # a spreadsheet dropped the leading zero
            f"({mobile[:3]}){mobile[3:7]}-{mobile[7:]}",
        )
    )


def people_files(directory: Path, count: int, *, seed: int = 20261201) -> PeopleFiles:
    """Write the two exports for `count` students; member IDs carry the student number."""
    rng = random.Random(seed)
    students, pairs, phone_pairs, email_pairs, twins = _students(count, rng)
    mynavi = directory / "identity-mynavi.csv"
    rikunabi = directory / "identity-rikunabi.csv"
    rikunabi_rows = 0
    with (
        mynavi.open("w", encoding="cp932", newline="") as m_file,
        rikunabi.open("w", encoding="cp932", newline="") as r_file,
    ):
        m_file.write(MYNAVI_HEADER + "\r\n")
        r_file.write(RIKUNABI_HEADER + "\r\n")
        for student in students:
            graduation = student.birth.year + 23 if student.birth.month >= 4 else student.birth.year + 22
            for again in range(2 if rng.random() < 0.02 else 1):
                m_file.write(
                    f"MN{student.number:07d}{again},{student.family}　{student.given},"
                    f"{student.family_kana}　{student.given_kana},回答しない,{student.birth:%Y/%m/%d},"
                    f"{student.email},{student.mobile[:3]}-{student.mobile[3:7]}-{student.mobile[7:]},大学,"
                    f"{student.school},経済学部,経済学科,文系,{graduation}年03月,2026/05/24 11:06\r\n"
                )
            if rng.random() >= 0.3:
                continue
            rikunabi_rows += 1
            family = student.old_family if student.old_family and rng.random() < 0.5 else student.family
            family_kana, given_kana = student.family_kana, student.given_kana
            style = rng.random()
            if style < 0.2:
                family_kana, given_kana = _hiragana(family_kana), _hiragana(given_kana)
            elif style < 0.3:
                family_kana, given_kana = _half_width(family_kana), _half_width(given_kana)
            choice = rng.random()
            if choice < 0.4:
                email = f"r{rng.randrange(10**9):09d}@relay.example.jp"
            elif choice < 0.5:
                email = student.email.upper()
            else:
                email = student.email
            school = (
                SCHOOL_VARIANTS.get(student.school, student.school) if rng.random() < 0.5 else student.school
            )
            r_file.write(
                f"RK{student.number:07d},{family},{student.given},{family_kana},{given_kana},{email},"
                f"{_phone_variant(student.mobile, rng)},{student.birth:%Y%m%d},{school},経済学部 経済学科,"
                f"{graduation},2026-06-01\r\n"
            )
    return PeopleFiles(
        mynavi=mynavi,
        rikunabi=rikunabi,
        students=count,
        shared_phone_pairs=phone_pairs,
        shared_email_pairs=email_pairs,
        twins=twins,
        rikunabi_rows=rikunabi_rows,
        shared_pairs=pairs,
    )


def identity_score(*, schema: str, shared_pairs: list[tuple[int, int]]) -> dict[str, int]:
    """Count wrong merges, missed true merges and flagged shared-key pairs in a schema after the import."""
    from django.db import connection
    from django_tenants.utils import schema_context

    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(c.merged_into_id, c.id), e.board_member_id FROM candidates_entry e"
            " JOIN candidates_candidate c ON c.id = e.candidate_id"
        )
        people_of: dict[int, set[int]] = {}
        candidates_of: dict[int, set[int]] = {}
        for candidate_id, member_id in cursor.fetchall():
            student = int(member_id[2:9])
            people_of.setdefault(candidate_id, set()).add(student)
            candidates_of.setdefault(student, set()).add(candidate_id)
        cursor.execute("SELECT first_id, second_id FROM candidates_possibleduplicate WHERE status = 'open'")
        flagged = {frozenset(pair) for pair in cursor.fetchall()}
    wrong = [people for people in people_of.values() if len(people) > 1]
    flagged_pairs = 0
    for first, second in shared_pairs:
        mine, theirs = candidates_of.get(first, set()), candidates_of.get(second, set())
        if any(frozenset((a, b)) in flagged for a in mine for b in theirs if a != b):
            flagged_pairs += 1
    return {
        "candidates": len(people_of),
        "wrong_merges": len(wrong),
        "students_in_wrong_merges": sum(len(people) for people in wrong),
        "missed_true_merges": sum(len(candidates) - 1 for candidates in candidates_of.values()),
        "shared_key_pairs_flagged": flagged_pairs,
    }
