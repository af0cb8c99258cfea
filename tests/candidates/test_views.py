"""The recruiters' workspace end to end through acme's host: roles, audit, tenant isolation, export."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from candidates.models import AuditEntry, Candidate, CandidateEvent, Note, PossibleDuplicate
from candidates.services.importing import entries_import_file
from seasons.models import Season
from seasons.services import season_default_set
from tests.candidates.conftest import csv_bytes, sample_bytes


@pytest.fixture
def imported(acme, sample_ranks):
    """The sample students in a company running 26卒: they join their graduation year's season (26卒 unless
    the row says otherwise or has no year); the workspace lists 26卒."""
    season = season_default_set(season=Season.objects.get_or_create(graduation_year=2026)[0])
    entries_import_file(fileobj=io.BytesIO(sample_bytes("mynavi.csv")))
    entries_import_file(fileobj=io.BytesIO(sample_bytes("rikunabi.csv")))
    return Candidate.objects.filter(season=season).count()


def test_list_filters_sorts_paginates_with_fixed_query_count(
    imported, make_user, django_assert_max_num_queries
):
    client, _user = make_user("viewer")
    # The process's first request looks the host up and fills the banners' cache; measured after it.
    client.get("/candidates/")
    with django_assert_max_num_queries(13):  # + the seasons (current season and the header switch)
        response = client.get("/candidates/")
    assert response.status_code == 200
    assert f"{imported}名" in response.content.decode()
    # Same number of queries for a filtered, sorted, later page.
    with django_assert_max_num_queries(13):  # + the seasons (current season and the header switch)
        response = client.get("/candidates/?rank=A&sort=kana&graduation_year=2026&board=rikunabi&page=1")
    page = response.context["page"]
    assert page.object_list and all(c.rank == "A" and c.graduation_year == 2026 for c in page.object_list)
    kana = [c.family_kana for c in page.object_list]
    assert kana == sorted(kana)
    assert all(c.entries.filter(board="rikunabi").exists() for c in page.object_list)
    found = client.get("/candidates/", {"q": "ﾀｶﾊｼ"}).context["page"].object_list
    assert found and all(c.family_kana == "タカハシ" for c in found)
    assert client.get("/candidates/", {"q": "東京大学"}).context["page"].object_list
    assert AuditEntry.objects.filter(action="list").count() == 5  # every list read, the warm-up included
    assert client.get("/candidates/?page=999").status_code == 200


def test_detail_is_audited_and_shows_entries(imported, make_user):
    client, user = make_user("viewer")
    candidate = Entry_candidate("MN00000057")
    response = client.get(f"/candidates/{candidate.pk}/", REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 200
    body = response.content.decode()
    assert "MN00000057" in body and "RK000000412" in body and "東京大学" in body
    audit = AuditEntry.objects.get(action="detail")
    assert (audit.user, audit.student_count, audit.ip) == (user, 1, "198.51.100.7")


def Entry_candidate(member_id: str) -> Candidate:
    from candidates.models import Entry

    return Entry.objects.get(board_member_id=member_id).candidate


def test_viewer_is_read_only_and_admin_pages_are_403(imported, make_user):
    client, _user = make_user("viewer")
    candidate = Candidate.objects.first()
    assert client.post(f"/candidates/{candidate.pk}/rank/", {"rank": "A"}).status_code == 403
    assert client.post(f"/candidates/{candidate.pk}/notes/", {"body": "x"}).status_code == 403
    for path in (
        "/candidates/ranks/",
        "/candidates/audit/",
        "/candidates/imports/",
        "/candidates/export.csv",
        "/accounts/recruiters/",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "権限がありません" in response.content.decode()
    assert Note.objects.count() == 0
    anonymous = Client(HTTP_HOST="acme.localhost")
    assert anonymous.get("/candidates/").status_code == 302


def test_recruiter_edits_rank_status_notes_tags(imported, make_user):
    client, user = make_user("recruiter")
    candidate = Entry_candidate("MN00000057")
    assert client.post(f"/candidates/{candidate.pk}/rank/", {"rank": "C"}).status_code == 302
    candidate.refresh_from_db()
    assert (candidate.rank, candidate.rank_is_manual) == ("C", True)
    client.post(f"/candidates/{candidate.pk}/status/", {"status": "interview"})
    client.post(f"/candidates/{candidate.pk}/notes/", {"body": "面接の印象が良い"})
    client.post(f"/candidates/{candidate.pk}/tags/", {"name": "理系"})
    candidate.refresh_from_db()
    assert candidate.status == "interview" and candidate.notes.get().author == user
    assert list(candidate.tags.values_list("name", flat=True)) == ["理系"]
    assert client.get("/candidates/?tag=理系").context["page"].object_list[0] == candidate
    assert CandidateEvent.objects.filter(candidate=candidate, kind="status").exists()
    response = client.post(f"/candidates/{candidate.pk}/status/", {"status": "nonsense"}, follow=True)
    assert "選考ステータスが正しくありません" in response.content.decode()
    assert client.get("/candidates/ranks/").status_code == 403


def test_other_tenants_candidate_is_404(imported, tenants):
    from accounts.models import User

    acme_ids = list(Candidate.objects.values_list("pk", flat=True))
    with schema_context(tenants["globex"].schema):
        globex_admin = User.objects.get(email=tenants["globex"].admin_email)
        assert not Candidate.objects.filter(pk__in=acme_ids).exists()
        client = Client(HTTP_HOST=tenants["globex"].host)
        client.force_login(globex_admin)
    for candidate_id in acme_ids[:5]:
        assert client.get(f"/candidates/{candidate_id}/").status_code == 404
        assert client.post(f"/candidates/{candidate_id}/rank/", {"rank": "A"}).status_code == 404
    # acme's session cookie means nothing on globex's host.
    with schema_context(tenants["acme"].schema):
        acme_client = Client(HTTP_HOST=tenants["acme"].host)
        acme_client.force_login(User.objects.get(email=tenants["acme"].admin_email))
    acme_client.defaults["HTTP_HOST"] = tenants["globex"].host
    assert acme_client.get(f"/candidates/{acme_ids[0]}/").status_code == 302


@pytest.mark.parametrize("encoding, codec", [("cp932", "cp932"), ("utf8", "utf-8-sig")])
def test_export_csv_neutralised_and_audited(imported, admin_client, encoding, codec, truth):
    response = admin_client.get("/candidates/export.csv", {"encoding": encoding, "rank": ""})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    raw = b"".join(response.streaming_content)
    if codec == "utf-8-sig":
        assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode(codec))))
    assert len(rows) == imported
    taro = next(r for r in rows if r["メールアドレス"] == truth["must_neutralise"][0]["メールアドレス"])
    assert taro["姓"].startswith("'=")
    audit = AuditEntry.objects.get(action="export")
    assert audit.student_count == imported
    assert audit.candidate_ids == sorted(int(row["ID"]) for row in rows)


def test_duplicates_merge_dismiss_undo_through_pages(acme, make_user):
    entries_import_file(
        fileobj=io.BytesIO(
            csv_bytes(
                "氏名,氏名（カナ）,生年月日,メールアドレス,学校名\n"
                "山田　太郎,ヤマダ　タロウ,2004/01/01,one@example.jp,東京大学\n"
                "山田　太郎,ヤマダ　タロウ,2004/01/01,two@example.jp,東大\n",
                encoding="utf-8",
            )
        )
    )
    client, _user = make_user("recruiter")
    duplicate = PossibleDuplicate.objects.get()
    page = client.get("/candidates/duplicates/")
    assert page.status_code == 200 and "one@example.jp" in page.content.decode()
    # A hand-made request with a kept id that is no number: a clear 400, nothing merged.
    for bad in ("abc", "", "1e3", "１２", "9" * 40):
        refused = client.post(f"/candidates/duplicates/{duplicate.pk}/merge/", {"kept": bad})
        assert refused.status_code == 400 and "残す候補者の指定が正しくありません" in refused.content.decode()
    assert not Candidate.objects.exclude(merged_into=None).exists()
    response = client.post(f"/candidates/duplicates/{duplicate.pk}/merge/", {"kept": duplicate.second_id})
    assert response.status_code == 302
    assert Candidate.objects.get(pk=duplicate.first_id).merged_into_id == duplicate.second_id
    # The merged-away candidate leads to the one kept.
    assert client.get(f"/candidates/{duplicate.first_id}/").url.endswith(
        f"/candidates/{duplicate.second_id}/"
    )
    assert client.get("/candidates/").context["page"].paginator.count == 1
    from candidates.models import MergeRecord

    record = MergeRecord.objects.get()
    assert client.post(f"/candidates/merges/{record.pk}/undo/").status_code == 302
    assert Candidate.objects.filter(merged_into=None).count() == 2
    assert client.post(f"/candidates/duplicates/{duplicate.pk}/dismiss/").status_code == 302
    assert PossibleDuplicate.objects.get().status == "dismissed"
    assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"merge", "merge_undo", "list"}


def test_admin_audit_log_and_delete(imported, admin_client):
    candidate = Candidate.objects.first()
    assert admin_client.post(f"/candidates/{candidate.pk}/delete/").status_code == 302
    assert not Candidate.objects.filter(pk=candidate.pk).exists()
    response = admin_client.get("/candidates/audit/")
    assert response.status_code == 200 and "delete" in response.content.decode()


def test_rank_page_rule_and_csv_upload(acme, admin_client, eager_celery, django_capture_on_commit_callbacks):
    entries_import_file(
        fileobj=io.BytesIO(
            csv_bytes("氏名,メールアドレス,学校名\n甲　一,a@example.jp,阪大\n", encoding="utf-8")
        )
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/candidates/ranks/", {"action": "rule", "rule-university": "大阪大学", "rule-rank": "B"}
        )
    assert response.status_code == 302
    assert Candidate.objects.get().rank == "B"
    upload = io.BytesIO(sample_bytes("university_ranks.csv"))
    upload.name = "ranks.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/candidates/ranks/", {"action": "csv", "csv-file": upload, "csv-replace": "on"}
        )
    assert response.status_code == 302
    assert Candidate.objects.get().rank == "A"
    bad = io.BytesIO(b"PK\x03\x04 not a csv")
    bad.name = "ranks.xlsx"
    response = admin_client.post("/candidates/ranks/", {"action": "csv", "csv-file": bad})
    assert response.status_code == 400 and "CSV" in response.content.decode()
    page = admin_client.get("/candidates/ranks/").content.decode()
    assert "大阪大学" in page and "再計算の記録" in page


def test_selection_steps_are_configurable(acme, admin_client, make_user):
    from candidates.models import SelectionStep

    assert list(SelectionStep.objects.values_list("label", flat=True)[:4]) == [
        "エントリー",
        "説明会",
        "面接",
        "内定",
    ]
    assert (
        admin_client.post(
            "/candidates/steps/", {"action": "add", "key": "final", "label": "最終面接"}
        ).status_code
        == 302
    )
    final = SelectionStep.objects.get(key="final")
    assert SelectionStep.objects.last() == final
    admin_client.post(
        "/candidates/steps/", {"action": "update", "step": final.pk, "label": "役員面接", "move": "up"}
    )
    labels = list(SelectionStep.objects.values_list("label", flat=True))
    assert labels[-2] == "役員面接"
    entries_import_file(
        fileobj=io.BytesIO(csv_bytes("氏名,メールアドレス\n甲　一,a@example.jp\n", encoding="utf-8"))
    )
    entry = SelectionStep.objects.get(key="entry")
    response = admin_client.post("/candidates/steps/", {"action": "delete", "step": entry.pk})
    assert response.status_code == 400 and "削除できません" in response.content.decode()
    client, _user = make_user("recruiter")
    assert client.get("/candidates/steps/").status_code == 403


def test_a_viewers_refused_export_merge_and_delete_are_audited(acme, make_user):
    entries_import_file(
        fileobj=io.BytesIO(
            csv_bytes(
                "氏名,氏名（カナ）,生年月日,メールアドレス,学校名\n"
                "佐藤　一郎,サトウ　イチロウ,2004/02/02,a@example.jp,東京大学\n"
                "佐藤　一郎,サトウ　イチロウ,2004/02/02,b@example.jp,東大\n",
                encoding="utf-8",
            )
        )
    )
    duplicate = PossibleDuplicate.objects.get()
    record_id = Candidate.objects.order_by("pk").values_list("pk", flat=True).first()
    client, user = make_user("viewer")
    attempts = [
        ("get", "/candidates/export.csv", "export_denied"),
        ("post", f"/candidates/duplicates/{duplicate.pk}/merge/", "merge_denied"),
        ("post", f"/candidates/duplicates/{duplicate.pk}/dismiss/", "merge_denied"),
        ("post", f"/candidates/{record_id}/delete/", "delete_denied"),
    ]
    for method, path, _action in attempts:
        data = {"kept": duplicate.second_id} if path.endswith("/merge/") else {}
        assert getattr(client, method)(path, data).status_code == 403, path
    entries = list(AuditEntry.objects.filter(user=user).order_by("pk").values_list("action", "target"))
    assert entries == [(action, path) for _method, path, action in attempts]
    assert Candidate.objects.filter(merged_into=None).count() == 2
