"""The rank table uploaded through the API: the page's service and checks, all rows or none, clear problems in
Japanese and English, the ranks:write scope, and no crossing between companies."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context

from tests.api.conftest import ApiClient, token_make
from tests.api.test_tokens import _problem
from tests.factories import CandidateFactory

pytestmark = pytest.mark.django_db


def _upload(
    client: ApiClient, content: bytes, *, replace: bool = False, headers: dict[str, str] | None = None
):
    return client.client.post(
        "/api/v1/ranks/upload",
        {
            "file": SimpleUploadedFile("ranks.csv", content, content_type="text/csv"),
            "replace": str(replace).lower(),
        },
        headers=client._headers(headers),
    )


def test_upload_loads_the_table_through_the_pages_service_and_reranks(
    acme_api, eager_celery, django_capture_on_commit_callbacks
):
    from candidates.models import RankRule

    student = CandidateFactory(university_raw="東京大学", rank="Z")
    with django_capture_on_commit_callbacks(execute=True):
        answer = _upload(acme_api, "\ufeff大学名,ランク\n東京大学,A\n京都大学,Ｂ\n".encode(), replace=True)
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["imported"] == 2
    assert {(rule["university"], rule["rank"]) for rule in body["rules"]} == {
        ("東京大学", "A"),
        ("京都大学", "B"),
    }
    assert RankRule.objects.count() == 2
    student.refresh_from_db()
    assert student.rank == "A"
    # Shift_JIS as the page takes it, added to the table without replacing it.
    added = _upload(acme_api, "大学名,ランク\n大阪大学,C\n".encode("cp932"))
    assert added.status_code == 200 and added.json()["imported"] == 1
    assert RankRule.objects.count() == 3
    assert acme_api.get("/ranks").json()["rules"] == added.json()["rules"]


@pytest.mark.parametrize(
    ("content", "detail_part"),
    [
        ("大学名,ランク\n東京大学,A\n京都大学,AA\n".encode(), "3行目"),
        (b"name,rank\nx,A\n", "列名"),
        (b"", "空"),
        (b"PK\x03\x04\x00\xff\xfe", ""),
        ("大学名,ランク\n,A\n".encode(), "大学名が空"),
    ],
)
def test_bad_uploads_are_problems_in_japanese_and_english_and_change_nothing(acme_api, content, detail_part):
    from candidates.models import RankRule

    _upload(acme_api, "大学名,ランク\n名古屋大学,B\n".encode(), replace=True)
    answer = _upload(acme_api, content, replace=True)
    body = _problem(answer, 422, "rank_table_invalid")
    assert body["title"] == "ランク表を読み込めません" and body["title_en"] == "The rank table cannot be read"
    assert body["detail"] and detail_part in body["detail"]
    assert list(RankRule.objects.values_list("university", "rank")) == [("名古屋大学", "B")]


def test_an_upload_without_a_file_or_too_large_is_refused(acme_api):
    missing = acme_api.client.post(
        "/api/v1/ranks/upload", {"replace": "true"}, headers=acme_api._headers(None)
    )
    assert _problem(missing, 422, "validation")["errors"]
    english = _upload(acme_api, b"x" * (2 * 1024 * 1024 + 1), headers={"Accept-Language": "en"})
    body = _problem(english, 422, "rank_table_invalid")
    assert body["title_en"] == "The rank table cannot be read" and "2 MB" in body["detail"]


def test_a_body_that_is_not_json_is_a_400_bad_request(acme_api):
    answer = acme_api.client.post(
        "/api/v1/bookings", "{not json", content_type="application/json", headers=acme_api._headers(None)
    )
    _problem(answer, 400, "bad_request")


def test_upload_needs_ranks_write_and_never_reaches_another_company(tenants):
    from candidates.models import RankRule

    writer = token_make(schema=tenants["acme"].schema, scopes=["candidates:read", "candidates:write"])
    acme_token = token_make(schema=tenants["acme"].schema, scopes=["ranks:write"])
    with schema_context(tenants["acme"].schema):
        client = ApiClient(tenants["acme"].host, writer.secret)
        refused = _problem(_upload(client, "大学名,ランク\n東京大学,A\n".encode()), 403, "insufficient_scope")
        assert refused["required_scope"] == "ranks:write"
        assert not RankRule.objects.filter(university="東京大学").exists()
    with schema_context(tenants["globex"].schema):
        before = list(RankRule.objects.values_list("university", "rank"))
        intruder = ApiClient(tenants["globex"].host, acme_token.secret)
        _problem(_upload(intruder, "大学名,ランク\n東京大学,A\n".encode(), replace=True), 401, "unauthorized")
        assert list(RankRule.objects.values_list("university", "rank")) == before
