"""Tokens: shown once and stored hashed, scopes, expiry, revocation, per-token rate limit, cross-company refusal."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.api.conftest import ApiClient, token_make
from tests.factories import CandidateFactory

pytestmark = pytest.mark.django_db


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["title_en"] and body["title"] != body["title_en"]
    assert body["type"].endswith(code) and body["instance"].startswith("/api/v1/")
    return body


def test_admin_creates_a_token_on_the_settings_page_shown_once_stored_hashed(tenants):
    from accounts.models import User
    from api.models import ApiToken

    with schema_context(tenants["acme"].schema):
        client = Client(HTTP_HOST=tenants["acme"].host)
        client.force_login(User.objects.get(email=tenants["acme"].admin_email))
        page = client.post(
            "/settings/api-tokens/",
            {"action": "create", "name": "人事システム", "days": "30", "scopes": ["candidates:read"]},
        )
        assert page.status_code == 200
        assert page["Cache-Control"].startswith("max-age=0")
        secret = page.context["created_secret"]
        assert secret.startswith("sk_") and secret in page.content.decode()
        token = ApiToken.objects.get(name="人事システム")
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in str(ApiToken.objects.filter(pk=token.pk).values().get())
        # Shown once: the list afterwards names the token by its first characters only.
        listing = client.get("/settings/api-tokens/").content.decode()
        assert "人事システム" in listing and token.prefix in listing and secret not in listing
        assert ApiClient(tenants["acme"].host, secret).get("/ranks").status_code == 200


def test_only_admins_reach_the_tokens_page(tenants):
    from tests.factories import UserFactory

    with schema_context(tenants["acme"].schema):
        recruiter = UserFactory(email="api-recruiter@acme.example.jp", role="recruiter")
        client = Client(HTTP_HOST=tenants["acme"].host)
        client.force_login(recruiter)
        assert client.get("/settings/api-tokens/").status_code == 403
        assert (
            client.post("/settings/api-tokens/", {"name": "x", "scopes": ["candidates:read"]}).status_code
            == 403
        )


def test_no_token_a_wrong_token_and_a_malformed_header_are_401(acme_api):
    anonymous = Client(HTTP_HOST=acme_api.client.defaults["HTTP_HOST"])
    body = _problem(anonymous.get("/api/v1/candidates"), 401, "unauthorized")
    assert "Bearer" in body["detail"]
    _problem(
        ApiClient(acme_api.client.defaults["HTTP_HOST"], "sk_wrong").get("/candidates"), 401, "unauthorized"
    )
    _problem(
        anonymous.get("/api/v1/candidates", headers={"Authorization": "Basic eDp5"}), 401, "unauthorized"
    )


def test_a_scope_is_needed_for_each_operation(tenants):
    created = token_make(schema=tenants["acme"].schema, scopes=["bookings:read"])
    with schema_context(tenants["acme"].schema):
        client = ApiClient(tenants["acme"].host, created.secret)
        assert client.get("/seminars").status_code == 200
        body = _problem(client.get("/candidates"), 403, "insufficient_scope")
        assert body["required_scope"] == "candidates:read"
        _problem(client.post("/bookings", {"candidate_id": 1, "slot_id": 1}), 403, "insufficient_scope")


def test_an_expired_token_is_401(acme_api):
    from api.models import ApiToken

    assert acme_api.get("/ranks").status_code == 200
    ApiToken.objects.filter(pk=acme_api.token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    _problem(acme_api.get("/ranks"), 401, "unauthorized")


def test_a_revoked_token_is_401_from_the_next_call(acme_api):
    from api.services import token_revoke

    assert acme_api.get("/ranks").status_code == 200
    token_revoke(token_id=acme_api.token.pk)
    _problem(acme_api.get("/ranks"), 401, "unauthorized")


def test_last_used_time_is_recorded(acme_api):
    from api.models import ApiToken

    assert ApiToken.objects.get(pk=acme_api.token.pk).last_used_at is None
    acme_api.get("/ranks")
    assert ApiToken.objects.get(pk=acme_api.token.pk).last_used_at is not None


def test_over_the_per_token_limit_is_429_with_retry_after(tenants):
    limited = token_make(schema=tenants["acme"].schema, rate=3)
    other = token_make(schema=tenants["acme"].schema, rate=3)
    with schema_context(tenants["acme"].schema):
        client = ApiClient(tenants["acme"].host, limited.secret)
        statuses = [client.get("/ranks").status_code for _ in range(3)]
        # A minute boundary between the calls would start a new window: allow one more call then.
        refused = client.get("/ranks")
        if refused.status_code == 200:
            refused = [client.get("/ranks") for _ in range(3)][-1]
        assert statuses == [200, 200, 200]
        _problem(refused, 429, "rate_limited")
        assert 1 <= int(refused["Retry-After"]) <= 60
        # The limit is the token's own: another token of the company is still served.
        assert ApiClient(tenants["acme"].host, other.secret).get("/ranks").status_code == 200


def test_a_token_of_one_company_is_401_on_another_companys_host_whatever_the_ids(tenants):
    """Same primary keys in both companies: acme's token never reads globex's student #N."""
    from candidates.models import Candidate

    acme_token = token_make(schema=tenants["acme"].schema)
    globex_token = token_make(schema=tenants["globex"].schema)
    shared_id = 880_001
    for slug, name in (("acme", "アクメ"), ("globex", "グローベックス")):
        with schema_context(tenants[slug].schema):
            CandidateFactory(id=shared_id, family_name=name, email=f"same-id@{slug}.example.jp")
    with schema_context(tenants["globex"].schema):
        on_globex = ApiClient(tenants["globex"].host, acme_token.secret)
        for path in (f"/candidates/{shared_id}", "/candidates", "/ranks", "/seminars"):
            response = on_globex.get(path)
            _problem(response, 401, "unauthorized")
            assert "グローベックス" not in response.content.decode()
        _problem(on_globex.post("/candidates", {"email": "x@example.jp"}), 401, "unauthorized")
        assert not Candidate.objects.filter(email="x@example.jp").exists()
        own = ApiClient(tenants["globex"].host, globex_token.secret).get(f"/candidates/{shared_id}")
        assert own.json()["family_name"] == "グローベックス"
    with schema_context(tenants["acme"].schema):
        assert (
            ApiClient(tenants["acme"].host, acme_token.secret)
            .get(f"/candidates/{shared_id}")
            .json()["family_name"]
            == "アクメ"
        )
