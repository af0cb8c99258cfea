"""Ranks (CSV upload, re-rank in the background, manual overrides) and merge / undo / dismiss."""

from __future__ import annotations

import io

import pytest

from candidates.errors import MergeError, RankTableError
from candidates.models import (
    AuditEntry,
    Candidate,
    CandidateEvent,
    CandidateKey,
    Entry,
    PossibleDuplicate,
    RankRule,
    RerankRun,
)
from candidates.services.importing import entries_import_file
from candidates.services.merging import candidate_delete, duplicate_dismiss, duplicate_merge, merge_undo
from candidates.services.ranks import (
    candidate_rank_override,
    rank_default_set,
    rank_rule_save,
    rank_table_import_csv,
    university_alias_add,
)
from tests.candidates.conftest import csv_bytes, sample_bytes


def run(text: str):
    return entries_import_file(fileobj=io.BytesIO(csv_bytes(text, encoding="utf-8")))


def test_rank_csv_upload_accepts_bom_and_cp932_and_refuses_bad_rows(acme):
    assert rank_table_import_csv(fileobj=io.BytesIO(sample_bytes("university_ranks.csv")), replace=True) >= 9
    assert RankRule.objects.get(key="国学院").rank == "C"
    count = rank_table_import_csv(
        fileobj=io.BytesIO("大学名,ランク\n東大,Ａ\n".encode("cp932")), replace=False
    )
    assert count == 1 and RankRule.objects.get(key="東京").rank == "A"
    with pytest.raises(RankTableError, match="3行目"):
        rank_table_import_csv(fileobj=io.BytesIO("大学名,ランク\n東大,A\n京大,AA\n".encode()), replace=False)
    with pytest.raises(RankTableError, match="列名"):
        rank_table_import_csv(fileobj=io.BytesIO(b"name,rank\nx,A\n"), replace=False)
    with pytest.raises(RankTableError):
        rank_table_import_csv(fileobj=io.BytesIO(b"PK\x03\x04xlsx"), replace=False)


def test_rank_table_change_reranks_in_background_and_keeps_manual(
    acme, eager_celery, django_capture_on_commit_callbacks
):
    run(
        "氏名,メールアドレス,学校名\n"
        "甲　一,a@example.jp,慶応大学\n"
        "乙　二,b@example.jp,東工大\n"
        "丙　三,c@example.jp,東京工業大学\n"
        "丁　四,d@example.jp,さくら国際大学\n"
    )
    assert set(Candidate.objects.values_list("rank", flat=True)) == {"Z"}
    manual = Candidate.objects.get(email="b@example.jp")
    candidate_rank_override(candidate=manual, rank="B", user=None)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rank_rule_save(university="慶應義塾大学", rank="A")
        rank_rule_save(university="東京科学大学", rank="a")
        rank_default_set(rank="D")
    # One re-rank scheduled per change (the others end the re-ranked students' rush passes).
    assert len([c for c in callbacks if "rerank_schedule" in c.__qualname__]) == 3
    ranks = dict(Candidate.objects.values_list("email", "rank"))
    # 慶応 → 慶應義塾 (新字体), 東京工業大学 → 東京科学大学 (renamed); b keeps its manual B.
    assert ranks == {"a@example.jp": "A", "b@example.jp": "B", "c@example.jp": "A", "d@example.jp": "D"}
    run_record = RerankRun.objects.order_by("-id").first()
    assert run_record.finished_at is not None
    all_changes = [change for r in RerankRun.objects.all() for change in r.changes]
    assert {
        "candidate": Candidate.objects.get(email="a@example.jp").pk,
        "old": "Z",
        "new": "A",
    } in all_changes
    assert CandidateEvent.objects.filter(kind="rank", candidate__email="c@example.jp").exists()
    # Back to automatic: the table's rank applies again.
    back = candidate_rank_override(candidate=manual, rank=None, user=None)
    assert (back.rank, back.rank_is_manual) == ("A", False)


def test_tenant_alias_matches_and_reranks(acme, eager_celery, django_capture_on_commit_callbacks):
    run("氏名,メールアドレス,学校名\n甲　一,a@example.jp,うちの大\n")
    with django_capture_on_commit_callbacks(execute=True):
        rank_rule_save(university="早稲田大学", rank="A")
        university_alias_add(alias="うちの大", target="早大")
    candidate = Candidate.objects.get()
    assert (candidate.rank, candidate.university) == ("A", "早稲田大学")


def _pair():
    run(
        "氏名,氏名（カナ）,生年月日,メールアドレス,携帯電話番号,学校名\n"
        "山田　太郎,ヤマダ　タロウ,2004/01/01,one@example.jp,09011110000,東京大学\n"
        "山田　太郎,ヤマダ　タロウ,2004/01/01,two@example.jp,,東大\n"
    )
    return PossibleDuplicate.objects.get()


def test_merge_and_undo(acme, django_user_model):
    duplicate = _pair()
    kept, merged = duplicate.first, duplicate.second
    record = duplicate_merge(duplicate_id=duplicate.pk, kept_id=kept.pk, user=None, ip="203.0.113.5")
    kept.refresh_from_db()
    merged.refresh_from_db()
    assert merged.merged_into_id == kept.pk
    assert kept.entries.count() == 2 and merged.entries.count() == 0
    assert set(kept.keys.values_list("value", flat=True)) == {
        "one@example.jp",
        "two@example.jp",
        "09011110000",
    }
    assert PossibleDuplicate.objects.get().status == "merged"
    audit = AuditEntry.objects.get(action="merge")
    assert (audit.student_count, audit.ip) == (2, "203.0.113.5")
    with pytest.raises(MergeError):
        duplicate_merge(duplicate_id=duplicate.pk, kept_id=kept.pk, user=None)

    merge_undo(record_id=record.pk, user=None)
    kept.refresh_from_db()
    merged.refresh_from_db()
    assert merged.merged_into_id is None
    assert kept.entries.count() == 1 and merged.entries.count() == 1
    assert CandidateKey.objects.get(value="two@example.jp").candidate_id == merged.pk
    assert PossibleDuplicate.objects.get().status == "open"
    assert AuditEntry.objects.filter(action="merge_undo").count() == 1
    with pytest.raises(MergeError, match="取り消されています"):
        merge_undo(record_id=record.pk, user=None)
    # After an undo, re-importing still finds each person by their own key.
    report = run("氏名,メールアドレス\n山田　太郎,two@example.jp\n")
    assert report.merged == 1 and Entry.objects.filter(candidate=merged).count() == 2


def test_dismiss_and_delete(acme):
    duplicate = _pair()
    assert duplicate_dismiss(duplicate_id=duplicate.pk, user=None).status == "dismissed"
    with pytest.raises(MergeError):
        duplicate_dismiss(duplicate_id=duplicate.pk, user=None)
    candidate_delete(candidate_id=duplicate.first_id, user=None, ip=None)
    assert Candidate.objects.count() == 1
    assert AuditEntry.objects.filter(action="delete", student_count=1).exists()


def test_rank_table_changed_during_an_import_reranks_afterwards(
    acme, eager_celery, django_capture_on_commit_callbacks, monkeypatch
):
    from candidates.services import importing

    original = importing._BatchWriter.write
    calls = []

    def write_then_change_table(self, rows):
        original(self, rows)
        if not calls:  # after the first batch, an admin edits the table
            calls.append(1)
            RankRule.objects.create(university="京都大学", key="京都", rank="A")
            RerankRun.objects.create(reason="テスト: 取り込み中の変更")

    monkeypatch.setattr(importing._BatchWriter, "write", write_then_change_table)
    text = "氏名,メールアドレス,学校名\n" + "".join(f"学生　{i},s{i}@example.jp,京大\n" for i in range(6))
    with django_capture_on_commit_callbacks(execute=True):
        report = entries_import_file_small(text)
    assert report.created == 6
    assert set(Candidate.objects.values_list("rank", flat=True)) == {"A"}


def entries_import_file_small(text: str):
    from candidates.services.importing import entries_import, source_open

    with source_open(fileobj=io.BytesIO(csv_bytes(text, encoding="utf-8")), board=None) as source:
        return entries_import(source=source, batch_size=2)
