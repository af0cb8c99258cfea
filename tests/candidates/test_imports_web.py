"""Upload → preview → background import with progress → report, and unusable uploads (4xx, nothing lost)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from candidates.models import Candidate, ImportJob
from candidates.services.jobs import abandoned_uploads_delete
from tests.candidates.conftest import sample_bytes


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


def upload(client, data: bytes, name: str = "mynavi.csv", board: str = "auto"):
    return client.post("/candidates/imports/", {"file": SimpleUploadedFile(name, data), "board": board})


def test_upload_preview_import_progress_and_report(
    acme, admin_client, eager_celery, django_capture_on_commit_callbacks, media, truth
):
    response = upload(admin_client, sample_bytes("mynavi.csv"))
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.board == "mynavi" and job.encoding == "cp932" and job.rows_total == truth["mynavi_rows"]
    page = admin_client.get(response.url).content.decode()
    # The preview: detected board and encoding, the mapping, the first rows as written.
    assert "マイナビ" in page and "cp932" in page and "氏名（カナ）" in page and "MN00000057" in page
    assert "取り込み先" in page and "媒体会員ID" in page
    assert Candidate.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(f"/candidates/imports/{job.pk}/start/").status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and job.rows_processed == truth["mynavi_rows"]
    progress = admin_client.get(f"/candidates/imports/{job.pk}/progress.json").json()
    assert progress["percent"] == 100 and progress["status"] == "done"
    assert progress["created"] + progress["merged"] == truth["mynavi_rows"] - 2
    assert [item["line"] for item in progress["report"]["refused"]] == [30, 41]
    assert "氏名も連絡先" in progress["report"]["refused"][0]["reason"]
    assert not Path(job.stored_path).exists()  # the upload is not kept once imported
    page = admin_client.get(f"/candidates/imports/{job.pk}/").content.decode()
    assert "取り込めなかった行" in page and "メールアドレスの形式が正しくありません" in page
    # Starting twice does nothing.
    admin_client.post(f"/candidates/imports/{job.pk}/start/")
    assert ImportJob.objects.get().status == "done"


@pytest.mark.parametrize(
    "data, name, status, message",
    [
        (b"", "empty.csv", 400, "空"),
        (b"PK\x03\x04\x14\x00\x00\x00", "entries.xlsx", 400, "CSVファイル"),
        (b"PK\x03\x04\x14\x00\x00\x00", "entries.csv", 400, "CSVファイルではありません"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "photo.csv", 400, "CSV"),
    ],
)
def test_unusable_uploads_get_a_japanese_4xx(acme, admin_client, media, data, name, status, message):
    entries = Candidate.objects.count()
    response = upload(admin_client, data, name=name)
    assert response.status_code == status
    assert message in response.content.decode()
    assert ImportJob.objects.count() == 0 and Candidate.objects.count() == entries
    assert not list((media / "imports").rglob("*.csv")) if (media / "imports").exists() else True


def test_too_large_upload_is_413(acme, admin_client, media, monkeypatch):
    monkeypatch.setattr("candidates.services.jobs.MAX_UPLOAD_BYTES", 1024)
    response = upload(admin_client, sample_bytes("mynavi.csv"))
    assert response.status_code == 413 and "大きすぎます" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_too_large_upload_is_refused_from_its_header(acme, admin_client, media, monkeypatch):
    monkeypatch.setattr("candidates.views.imports.MAX_UPLOAD_BYTES", 10)
    response = upload(admin_client, b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413 and "大きすぎます" in response.content.decode()


def test_missing_file_field(acme, admin_client):
    response = admin_client.post("/candidates/imports/", {"board": "auto"})
    assert response.status_code == 400 and "ファイルを選んでください" in response.content.decode()


def test_job_of_a_bad_midfile_encoding_fails_cleanly(
    acme, admin_client, eager_celery, django_capture_on_commit_callbacks
):
    good = sample_bytes("mynavi.csv")
    row = ("MN99999999,山田　花子,ヤマダ　ハナコ,,,x@example.jp,,,東大,,,,," + "\r\n").encode("cp932")
    # Near the top: refused at the preview, with the line number.
    response = upload(admin_client, good + row * 10 + b"\x82\xff\r\n")
    assert response.status_code == 400 and "文字コード" in response.content.decode()
    assert ImportJob.objects.count() == 0
    # Far below the preview's reach: the background job fails with the line number.
    response = upload(admin_client, good + row * 8000 + b"\x82\xff\r\n")
    assert response.status_code == 302, response.content.decode()[-2000:]
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/candidates/imports/{job.pk}/start/")
    job.refresh_from_db()
    assert response.status_code == 302
    assert job.status == "failed" and "行目" in job.error
    assert admin_client.get(f"/candidates/imports/{job.pk}/progress.json").status_code == 200


def test_import_page_refused_for_recruiters(acme, make_user):
    client, _user = make_user("recruiter")
    assert client.get("/candidates/imports/").status_code == 403
    assert upload(client, io.BytesIO(b"x").getvalue()).status_code == 403


def test_saved_mapping_from_the_preview(acme, admin_client, eager_celery, django_capture_on_commit_callbacks):
    data = "番号,学生名,連絡メール,学校\nC1,山田　花子,h@example.jp,東大\n".encode()
    response = upload(admin_client, data, name="careerlink.csv")
    job = ImportJob.objects.get()
    assert job.board == "generic"
    page = admin_client.get(response.url).content.decode()
    # No preset knows these columns: the page asks for a mapping and offers no import button yet.
    assert "列の対応付けを設定してください" in page and "学生名" in page and "この内容で取り込む" not in page
    form = {
        "header": ["番号", "学生名", "連絡メール", "学校"],
        "field-0": "board_member_id",
        "field-1": "full_name",
        "field-2": "email",
        "field-3": "university",
        "name": "careerlink",
        "label": "キャリアリンク",
    }
    assert admin_client.post(f"/candidates/imports/{job.pk}/mapping/", form).status_code == 302
    job.refresh_from_db()
    assert job.board == "careerlink"
    page = admin_client.get(response.url).content.decode()
    assert "キャリアリンク" in page
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/candidates/imports/{job.pk}/start/")
    candidate = Candidate.objects.get()
    assert (candidate.email, candidate.university, candidate.entries.get().board_member_id) == (
        "h@example.jp",
        "東京大学",
        "C1",
    )
    # The saved mapping is offered on the next upload, and a duplicate field is refused.
    assert "キャリアリンク" in admin_client.get("/candidates/imports/").content.decode()
    upload(admin_client, data, name="again.csv")
    second = ImportJob.objects.order_by("-id").first()
    bad = {**form, "field-2": "full_name"}
    response = admin_client.post(f"/candidates/imports/{second.pk}/mapping/", bad, follow=True)
    assert "複数の列に割り当てられています" in response.content.decode()


def test_abandoned_uploads_are_deleted(acme, admin_client, media):
    import time_machine

    upload(admin_client, sample_bytes("mynavi.csv"))
    stale = ImportJob.objects.get()
    assert Path(stale.stored_path).exists()
    upload(admin_client, sample_bytes("rikunabi.csv"))
    assert ImportJob.objects.count() == 2  # a fresh one is kept
    with time_machine.travel(stale.created_at + timedelta(hours=25)):
        # What every upload does first (the session would have expired by then in a real request).
        assert abandoned_uploads_delete() == 2
    assert not ImportJob.objects.filter(pk=stale.pk).exists()
    assert not Path(stale.stored_path).exists()
    assert ImportJob.objects.count() == 0


def test_a_job_left_running_by_a_dead_worker_is_resumed(acme, admin_client, truth):
    from candidates.services.jobs import import_job_run

    upload(admin_client, sample_bytes("mynavi.csv"))
    job = ImportJob.objects.get()
    # The worker died after half of the file: some rows are in, the job still says "running".
    entries_import_file_first = io.BytesIO(sample_bytes("mynavi.csv")[:1500])
    from candidates.services.importing import entries_import_file

    half = entries_import_file(fileobj=entries_import_file_first, board="mynavi")
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=job.created_at)
    done = import_job_run(job_id=job.pk)
    assert done.status == "done"
    assert done.report["unchanged"] == half.created + half.merged
    assert Candidate.objects.count() == truth["mynavi_rows"] - 2
