"""API fixtures: tokens of acme and globex and clients that send them to a company's host."""

from __future__ import annotations

import pytest
from django.test import Client
from django_tenants.utils import schema_context

ALL_SCOPES = [
    "candidates:read",
    "candidates:write",
    "bookings:read",
    "bookings:write",
    "mail:send",
    "ranks:write",
    "webhooks:manage",
]


class ApiClient:
    """A test client for one company's host with a bearer token."""

    def __init__(self, host: str, secret: str) -> None:
        self.client = Client(HTTP_HOST=host)
        self.secret = secret

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}", **(headers or {})}

    def get(self, path: str, headers: dict[str, str] | None = None, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self._headers(headers))

    def post(self, path: str, body=None, headers: dict[str, str] | None = None):
        return self.client.post(
            f"/api/v1{path}", body or {}, content_type="application/json", headers=self._headers(headers)
        )

    def patch(self, path: str, body, headers: dict[str, str] | None = None):
        return self.client.patch(
            f"/api/v1{path}", body, content_type="application/json", headers=self._headers(headers)
        )


def token_make(*, schema: str, scopes=None, days: int = 30, rate: int = 1000):
    from accounts.models import User
    from api.services import token_create

    with schema_context(schema):
        admin = User.objects.filter(role="admin").order_by("id").first()
        return token_create(
            name="連携テスト", scopes=scopes or ALL_SCOPES, days=days, user=admin, rate_per_minute=rate
        )


@pytest.fixture
def acme_api(tenants, db):
    """A token of acme with every scope, on acme's host; the test runs inside acme's schema."""
    created = token_make(schema=tenants["acme"].schema)
    with schema_context(tenants["acme"].schema):
        client = ApiClient(tenants["acme"].host, created.secret)
        client.token = created.token
        yield client
