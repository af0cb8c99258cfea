"""Import service: the sample exports, every format variant, refusals, dedupe and idempotence."""

from __future__ import annotations

import io

import pytest

from candidates.errors import ImportFileError
from candidates.models import Candidate, CandidateKey, Entry, PossibleDuplicate
from candidates.services.importing import entries_import_file
from tests.candidates.conftest import csv_bytes, sample_bytes

MYNAVI_HEADER = "マイナビID,氏名,氏名（カナ）,性別,生年月日,メールアドレス,携帯電話番号,学校区分,学校名,学部名,学科名,文理区分,卒業予定年月,エントリー日時"


def run(data: bytes, board: str | None = None):
    return entries_import_file(fileobj=io.BytesIO(data), board=board)


def candidate_by_email(email: str) -> Candidate:
    return CandidateKey.objects.get(kind="email", value=email).candidate


def test_samples_import_to_truth(acme, sample_ranks, truth):
    mynavi = run(sample_bytes("mynavi.csv"))
    rikunabi = run(sample_bytes("rikunabi.csv"))
    assert mynavi.board == "mynavi" and rikunabi.board == "rikunabi"
    assert mynavi.encoding == "cp932"
    assert Candidate.objects.count() == truth["expected_candidates"]
    assert mynavi.rows == truth["mynavi_rows"] and rikunabi.rows == truth["rikunabi_rows"]
    assert Entry.objects.count() == truth["mynavi_rows"] + truth["rikunabi_rows"] - len(truth["must_refuse"])
    checked = 0
    for email, rank in truth["expected_rank"].items():
        # A few students reached us only through a relayed address: their own is not in the files.
        key = CandidateKey.objects.filter(kind="email", value=email).first()
        if key is None:
            continue
        assert key.candidate.rank == (sample_ranks if rank == "default" else rank), email
        checked += 1
    assert checked >= 50
    refused_lines = {item["line"] for item in mynavi.refused}
    assert len(mynavi.refused) == len(truth["must_refuse"]) and rikunabi.refused == []
    reasons = " ".join(item["reason"] for item in mynavi.refused)
    assert "氏名も連絡先" in reasons
    assert "メールアドレスの形式が正しくありません" in reasons and "日付として読めません" in reasons
    assert refused_lines == {30, 41}
    assert {item["column"] for item in mynavi.refused} == {"氏名", "メールアドレス"}
    # Every e-mail of the truth belongs to one person, and all of a person's entries point at them.
    assert mynavi.created + rikunabi.created == truth["expected_candidates"]
    assert rikunabi.merged > 0


def test_reimport_changes_nothing(acme, sample_ranks):
    run(sample_bytes("mynavi.csv"))
    run(sample_bytes("rikunabi.csv"))
    before = (
        list(Candidate.objects.order_by("id").values()),
        Entry.objects.count(),
        CandidateKey.objects.count(),
        PossibleDuplicate.objects.count(),
    )
    again = run(sample_bytes("rikunabi.csv"))
    again_mynavi = run(sample_bytes("mynavi.csv"))
    assert (again.created, again.merged, again.possible_duplicates) == (0, 0, 0)
    assert again.unchanged == 32 and again_mynavi.unchanged == 43
    after = (
        list(Candidate.objects.order_by("id").values()),
        Entry.objects.count(),
        CandidateKey.objects.count(),
        PossibleDuplicate.objects.count(),
    )
    assert after == before


def test_relayed_email_matched_by_phone(acme):
    run(sample_bytes("mynavi.csv"))
    run(sample_bytes("rikunabi.csv"))
    # RK000000405 carries a relay address; MN00000056 the student's own, same mobile number.
    entry = Entry.objects.get(board="rikunabi", board_member_id="RK000000405")
    assert entry.email.endswith("@relay.example.jp")
    assert entry.candidate.entries.filter(board="mynavi", board_member_id="MN00000056").exists()
    assert entry.candidate.email == "student000056@example.ac.jp"


def test_original_row_is_kept_and_fields_normalised(acme):
    run(sample_bytes("rikunabi.csv"))
    entry = Entry.objects.get(board_member_id="RKFORMULA1")
    assert entry.original["漢字氏名（姓）"] == '=HYPERLINK("http://evil.example","x")'
    # Stored as text, untouched; neutralised only on export.
    assert entry.candidate.family_name == '=HYPERLINK("http://evil.example","x")'
    assert entry.candidate.university == "京都大学"


VARIANT_ROWS = [
    # name joined with a full-width space, half-width kana, full-width digits, slashes
    "MN1,山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,男性,２００４/０３/１４,Taro.Yamada@Example.AC.JP,０９０-１２３４-５６７８,大学,慶応大学,法学部,法律学科,文系,2026年03月,2026/03/01 10:00",
    # compact date, hiragana kana, +81 phone
    "MN2,佐藤 花子,さとう はなこ,女性,20040102,hanako@example.jp,+81 80 1111 2222,大学,國學院大學,文学部,史学科,文系,2026/03,2026/03/02",
    # ISO date
    "MN3,鈴木　一郎,スズキ　イチロウ,男性,2003-12-31,ichiro@example.jp,07011112222,大学,東工大,工学部,機械,理系,2027年3月卒,2026-03-03",
]
EXPECTED = {
    "MN1": (
        "山田",
        "太郎",
        "ヤマダ",
        "タロウ",
        "taro.yamada@example.ac.jp",
        "09012345678",
        "2004-03-14",
        "慶應義塾大学",
    ),
    "MN2": (
        "佐藤",
        "花子",
        "サトウ",
        "ハナコ",
        "hanako@example.jp",
        "08011112222",
        "2004-01-02",
        "國學院大學",
    ),
    "MN3": (
        "鈴木",
        "一郎",
        "スズキ",
        "イチロウ",
        "ichiro@example.jp",
        "07011112222",
        "2003-12-31",
        "東京科学大学",
    ),
}


def _check_variants():
    for member, expected in EXPECTED.items():
        candidate = Entry.objects.get(board_member_id=member).candidate
        got = (
            candidate.family_name,
            candidate.given_name,
            candidate.family_kana,
            candidate.given_kana,
            candidate.email,
            candidate.phone,
            candidate.birth_date.isoformat(),
            candidate.university,
        )
        assert got == expected, member


@pytest.mark.parametrize(
    "encoding, newline",
    [("cp932", "\r\n"), ("shift_jis", "\n"), ("utf-8", "\n"), ("utf-8-sig", "\r\n"), ("utf-8", "\r\n")],
)
def test_format_variants(acme, encoding, newline):
    text = "\n".join([MYNAVI_HEADER, *VARIANT_ROWS]) + "\n"
    report = run(csv_bytes(text, encoding=encoding, newline=newline))
    assert report.board == "mynavi"
    assert report.created == 3 and report.refused == []
    _check_variants()


def test_columns_in_any_order_extra_columns_and_split_names(acme):
    text = (
        "備考,メールアドレス,セイ,メイ,姓,名,生年月日,大学名,電話番号,社内メモ\n"
        "=1+1,a@example.jp,ﾀﾅｶ,ﾊﾅ,田中,花,2004/5/6,早大,090-0000-1111,x\n"
    )
    report = run(csv_bytes(text, encoding="utf-8"))
    assert report.board == "generic" and report.created == 1
    candidate = Candidate.objects.get()
    assert (candidate.family_name, candidate.given_name, candidate.family_kana, candidate.given_kana) == (
        "田中",
        "花",
        "タナカ",
        "ハナ",
    )
    assert candidate.university == "早稲田大学"
    assert Entry.objects.get().original["社内メモ"] == "x"


def test_never_merges_two_different_people(acme):
    # Same kana name, birth date and school, different e-mail and mobile: flagged, not merged.
    # Siblings sharing a landline: a landline is not a strong key.
    text = (
        "氏名,氏名（カナ）,生年月日,メールアドレス,電話番号,学校名\n"
        "山田　太郎,ヤマダ　タロウ,2004/01/01,one@example.jp,09011110000,東京大学\n"
        "山田　太郎,ヤマダ　タロウ,2004/01/01,two@example.jp,09022220000,東大\n"
        "山田　次郎,ヤマダ　ジロウ,2005/02/02,jiro@example.jp,0312345678,東京大学\n"
        "山田　三郎,ヤマダ　サブロウ,2006/03/03,saburo@example.jp,03-1234-5678,東京大学\n"
    )
    report = run(csv_bytes(text, encoding="utf-8"))
    assert report.created == 4 and report.merged == 0
    assert report.possible_duplicates == 1
    duplicate = PossibleDuplicate.objects.get()
    assert {duplicate.first.email, duplicate.second.email} == {"one@example.jp", "two@example.jp"}
    assert duplicate.status == "open"


def test_conflicting_strong_keys_are_flagged_not_merged(acme):
    run(
        csv_bytes(
            "氏名,メールアドレス,携帯電話番号\nA　一,a@example.jp,09011112222\nB　二,b@example.jp,09033334444\n",
            encoding="utf-8",
        )
    )
    # A row with A's e-mail and B's mobile: attached to A (e-mail first), A and B flagged.
    report = run(
        csv_bytes("氏名,メールアドレス,携帯電話番号\nA　一,a@example.jp,09033334444\n", encoding="utf-8")
    )
    assert report.merged == 1 and report.created == 0 and report.possible_duplicates == 1
    assert Candidate.objects.count() == 2
    assert CandidateKey.objects.get(value="09033334444").candidate.email == "b@example.jp"


def test_same_person_twice_in_one_file_and_board_member_id(acme):
    text = (
        "マイナビID,氏名,メールアドレス\n"
        "M1,山田　太郎,taro@example.jp\n"
        "M2,山田　太郎,TARO@example.jp\n"
        "M1,山田　太郎,changed@example.jp\n"
    )
    report = run(csv_bytes(text, encoding="utf-8"), board="mynavi")
    assert report.created == 1 and report.merged == 1 and report.unchanged == 1
    assert Candidate.objects.get().entries.count() == 2


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty"),
        (b"PK\x03\x04\x14\x00\x00\x00binary-xlsx", "not_csv"),
        (b"\x00\x01\x02\x03" * 100, "not_csv"),
        (b"1,2,3\n4,5,6\n", "no_header"),
        ("会社名,住所\nA,B\n".encode(), "mapping"),
    ],
)
def test_unusable_files_are_refused_with_japanese_message(acme, data, code):
    with pytest.raises(ImportFileError) as error:
        run(data)
    assert error.value.code == code
    assert error.value.message and not error.value.message.isascii()
    assert Candidate.objects.count() == 0


def test_unknown_board_name(acme):
    with pytest.raises(ImportFileError) as error:
        run(sample_bytes("mynavi.csv"), board="nosuchmapping")
    assert "見つかりません" in error.value.message


def test_saved_mapping_by_name(acme):
    from candidates.models import ImportMapping

    ImportMapping.objects.create(
        name="careerlink",
        label="キャリアリンク",
        columns={"full_name": "学生名", "email": "連絡メール", "board_member_id": "番号"},
    )
    report = run(
        csv_bytes("番号,学生名,連絡メール\nC1,山田　花子,h@example.jp\n", encoding="utf-8"),
        board="careerlink",
    )
    assert report.board == "careerlink" and report.created == 1
    assert Entry.objects.get().board_member_id == "C1"


def test_same_member_id_with_new_content_updates_the_entry(acme):
    run(
        csv_bytes("マイナビID,氏名,メールアドレス\nM1,山田　太郎,old@example.jp\n", encoding="utf-8"),
        board="mynavi",
    )
    report = run(
        csv_bytes(
            "マイナビID,氏名,メールアドレス,携帯電話番号\nM1,山田　太郎,new@example.jp,09012341234\n",
            encoding="utf-8",
        ),
        board="mynavi",
    )
    assert (report.created, report.merged, report.unchanged) == (0, 1, 0)
    candidate = Candidate.objects.get()
    assert set(candidate.keys.values_list("value", flat=True)) == {
        "old@example.jp",
        "new@example.jp",
        "09012341234",
    }
    entry = Entry.objects.get()
    assert entry.email == "new@example.jp" and entry.original["携帯電話番号"] == "09012341234"
    assert candidate.phone == "09012341234" and candidate.email == "old@example.jp"


def test_threaded_writer_outside_a_transaction(tenants, globex_baseline):
    """The parallel path (used by the worker and the benchmark) with real commits (baseline cleans up)."""
    from django_tenants.utils import schema_context

    from candidates.services.importing import entries_import, source_open

    with schema_context(tenants["globex"].schema):
        with source_open(fileobj=io.BytesIO(sample_bytes("mynavi.csv")), board=None) as source:
            report = entries_import(source=source, batch_size=7, parallel=True)
        assert report.created + report.merged == 43 and len(report.refused) == 2
        assert globex_baseline.new(Candidate).count() == report.created
        with source_open(fileobj=io.BytesIO(sample_bytes("mynavi.csv")), board=None) as source:
            again = entries_import(source=source, batch_size=7, parallel=True)
        assert again.unchanged == 43 and again.created == 0


def test_two_concurrent_imports_of_the_same_files_create_each_student_once(tenants, globex_baseline, truth):
    """Real concurrency: two threads, two connections, committed batches; the advisory lock and the
    unique keys keep one candidate per student."""
    import threading

    from django.db import connection
    from django_tenants.utils import schema_context

    from candidates.services.importing import entries_import, source_open

    schema = tenants["globex"].schema
    reports: list = []
    errors: list = []
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        try:
            with schema_context(schema):
                barrier.wait()
                for sample in (name, "rikunabi.csv" if name == "mynavi.csv" else "mynavi.csv"):
                    with source_open(fileobj=io.BytesIO(sample_bytes(sample)), board=None) as source:
                        reports.append(entries_import(source=source, batch_size=5, parallel=False))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("mynavi.csv", "rikunabi.csv")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with schema_context(schema):
        assert globex_baseline.new(Candidate).count() == truth["expected_candidates"]
        assert sum(report.created for report in reports) == truth["expected_candidates"]
        new_entries = Entry.objects.filter(candidate__in=globex_baseline.new(Candidate))
        assert new_entries.count() == truth["mynavi_rows"] + truth["rikunabi_rows"] - 2


def test_candidates_created_elsewhere_are_matched_by_their_email_and_mobile(acme):
    # e.g. a student added by hand or by another app, without key rows.
    by_hand = Candidate.objects.create(family_name="手入力", email="hand@example.jp", phone="09077778888")
    other = Candidate.objects.create(family_name="別人", email="", phone="0312345678")
    report = run(
        csv_bytes(
            "氏名,メールアドレス,携帯電話番号\n手入力　太郎,HAND@example.jp,\n手入力　太郎,,090-7777-8888\n"
            "誰か　別,x@example.jp,03-1234-5678\n",
            encoding="utf-8",
        )
    )
    assert (report.created, report.merged) == (1, 2)
    assert by_hand.entries.count() == 2 and other.entries.count() == 0
    assert set(by_hand.keys.values_list("kind", "value")) == {
        ("email", "hand@example.jp"),
        ("mobile", "09077778888"),
    }
    by_hand.refresh_from_db()
    assert by_hand.given_name == "太郎"  # blanks filled, existing values kept
