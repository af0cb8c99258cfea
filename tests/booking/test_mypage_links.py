"""My Page sign-in is a one-time exchange: opening a link spends nothing, its button signs in once."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from booking.models import MyPageToken
from booking.services.mypage import mypage_token_create
from tests.booking.conftest import candidate_make


@pytest.fixture
def acme(tenants, db):
    return tenants["acme"]


def test_opening_a_link_shows_a_button_and_does_not_sign_in(acme):
    with schema_context(acme.schema):
        student = candidate_make(rank="A")
        token = mypage_token_create(candidate=student)
    browser = Client(HTTP_HOST=acme.host)
    page = browser.get(f"/my/login/{token}/")
    html = page.content.decode()
    assert page.status_code == 200 and "マイページにログインする" in html and 'method="post"' in html
    assert page["Referrer-Policy"] == "same-origin" and "no-store" in page["Cache-Control"]
    assert browser.get("/my/").status_code == 403
    # A mail scanner or link preview may open the link many times: nothing is spent.
    for _ in range(3):
        assert Client(HTTP_HOST=acme.host).get(f"/my/login/{token}/").status_code == 200
    with schema_context(acme.schema):
        assert MyPageToken.objects.get(candidate=student).last_used_at is None
    assert browser.post(f"/my/login/{token}/").status_code == 302
    assert browser.get("/my/").status_code == 200


def test_a_link_signs_in_once(acme):
    with schema_context(acme.schema):
        token = mypage_token_create(candidate=candidate_make(rank="A"))
    first = Client(HTTP_HOST=acme.host)
    assert first.post(f"/my/login/{token}/").status_code == 302
    # Someone who finds the link later (a forwarded mail, a shared screen) gets nothing.
    second = Client(HTTP_HOST=acme.host)
    again = second.post(f"/my/login/{token}/")
    assert again.status_code == 403 and "使用済み" in again.content.decode()
    assert second.get(f"/my/login/{token}/").status_code == 403
    assert second.get("/my/").status_code == 403
    # The student who used it stays signed in.
    assert first.get("/my/").status_code == 200


def test_sign_in_needs_the_button_form_of_this_site(acme):
    """A third-party page cannot post a link on the student's behalf (login CSRF)."""
    with schema_context(acme.schema):
        token = mypage_token_create(candidate=candidate_make(rank="A"))
    browser = Client(HTTP_HOST=acme.host, enforce_csrf_checks=True)
    assert browser.post(f"/my/login/{token}/").status_code == 403
    assert browser.get("/my/").status_code == 403
