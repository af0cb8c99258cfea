"""The My Page request form: a signed-in student asks for 開示・訂正・利用停止・削除 of their own data."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from booking.services.mypage import mypage_token_create
from candidates.models import PrivacyRequest
from tests.booking.conftest import candidate_make
from tests.test_forms import assert_error_beside


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


def signed_in(info, candidate) -> Client:
    """A student's browser signed in through their personal link."""
    client = Client(HTTP_HOST=info.host)
    with schema_context(info.schema):
        token = mypage_token_create(candidate=candidate)
    response = client.post(f"/my/login/{token}/")
    assert response.status_code == 302
    return client


def test_the_form_needs_a_session(client, acme):
    response = client.get("/my/privacy/", HTTP_HOST=acme.host)
    assert response.status_code == 403 and "ログイン" in response.content.decode()
    assert (
        client.post("/my/privacy/", {"kind": "deletion", "understood": "1"}, HTTP_HOST=acme.host).status_code
        == 403
    )


def test_a_student_requests_deletion_and_sees_the_request(acme):
    with schema_context(acme.schema):
        student = candidate_make()
    client = signed_in(acme, student)
    page = client.get("/my/privacy/").content.decode()
    for label in ("開示", "訂正", "利用停止", "削除"):
        assert f"<strong>{label}</strong>" in page
    refused = client.post("/my/privacy/", {"kind": "deletion"})
    assert refused.status_code == 400 and "チェック" in refused.content.decode()
    assert_error_beside(refused.content.decode(), "id_understood")  # beside the box, not in a banner
    done = client.post(
        "/my/privacy/", {"kind": "deletion", "understood": "1", "details": "退会します"}, follow=True
    )
    body = done.content.decode()
    with schema_context(acme.schema):
        request = PrivacyRequest.objects.get(candidate=student)
    assert (request.kind, request.details, request.status) == ("deletion", "退会します", "open")
    assert f"受付番号 {request.number}" in body and "対応待ち" in body
    again = client.post("/my/privacy/", {"kind": "deletion", "understood": "1"})
    assert again.status_code == 400 and "すでに受け付けています" in again.content.decode()


def test_correction_needs_the_correct_content(acme):
    with schema_context(acme.schema):
        student = candidate_make()
    client = signed_in(acme, student)
    response = client.post("/my/privacy/", {"kind": "correction", "details": ""})
    assert response.status_code == 400 and "訂正してほしい内容" in response.content.decode()
    assert (
        client.post("/my/privacy/", {"kind": "correction", "details": "大学名が違います"}).status_code == 302
    )


def test_students_see_only_their_own_requests(acme, tenants):
    with schema_context(acme.schema):
        first, second = candidate_make(), candidate_make()
    signed_in(acme, first).post("/my/privacy/", {"kind": "disclosure", "details": "一人目の請求"})
    page = signed_in(acme, second).get("/my/privacy/").content.decode()
    assert "一人目の請求" not in page and "P-" not in page.split("これまでの請求")[1]
    # The session of acme's My Page is nothing on globex.
    client = signed_in(acme, first)
    assert client.get("/my/privacy/", HTTP_HOST=tenants["globex"].host).status_code == 403


def test_the_form_speaks_english_to_an_english_browser(acme):
    with schema_context(acme.schema):
        student = candidate_make()
    client = signed_in(acme, student)
    page = client.get("/my/privacy/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Your personal data" in page and "Send request" in page
    assert "あなたの個人情報について" not in page
