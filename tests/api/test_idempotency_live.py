"""Retries racing each other on a live server: the same Idempotency-Key never creates twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django_tenants.utils import schema_context

from tests.api.conftest import token_make

pytestmark = pytest.mark.slow


def test_simultaneous_retries_with_one_key_create_one_student(tenants, live_server_daphne, committed):
    from api.models import ApiToken
    from candidates.models import AuditEntry, Candidate, Entry

    acme = tenants["acme"]
    created = token_make(schema=acme.schema)
    body = {"full_name": "同時 再送", "email": "race-retry@example.jp", "external_id": "race-1"}
    headers = {"Authorization": f"Bearer {created.secret}", "Idempotency-Key": "race-key"}

    def post(_: int):
        with live_server_daphne.http(acme.host, timeout=30) as client:
            return client.post("/api/v1/candidates", json=body, headers=headers)

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(post, range(8)))
        statuses = sorted(answer.status_code for answer in answers)
        # Each answer is the first result (201) or "the first is still running" (409): never a second student.
        assert set(statuses) <= {201, 409} and 201 in statuses, statuses
        ids = {answer.json()["candidate"]["id"] for answer in answers if answer.status_code == 201}
        assert len(ids) == 1
        for answer in answers:
            if answer.status_code == 409:
                assert answer.json()["code"] == "idempotency_in_progress" and answer.headers["Retry-After"]
        with schema_context(acme.schema):
            assert Candidate.objects.filter(email="race-retry@example.jp").count() == 1
            assert Entry.objects.filter(board="api", board_member_id="race-1").count() == 1
    finally:
        with schema_context(acme.schema):
            Candidate.objects.filter(email="race-retry@example.jp").delete()
            AuditEntry.objects.filter(target__startswith=f"API {created.token.prefix}").delete()
            ApiToken.objects.filter(pk=created.token.pk).delete()
