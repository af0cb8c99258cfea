"""Unauthenticated load on the rush path stays bounded: LRU caches, and unknown hosts and seminars answered
from memory after the first miss (until a company or seminar is created)."""

from __future__ import annotations

import json
import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from booking.rush import passes
from booking.rush.state import seminar_state, seminar_state_forget
from booking.services.seminars import seminar_create
from tenants.models import Domain
from tenants.selectors import host_cache_clear, tenant_for_host, tenant_for_host_known
from tests.booking.conftest import candidate_make
from tests.booking.test_rush import rush, student_client  # noqa: F401 - the rush seminar fixture


def _queries(function) -> int:
    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured.captured_queries)


def test_made_up_seminar_ids_neither_reach_the_database_nor_push_out_a_live_seminar(rush, acme_schema):  # noqa: F811
    schema = acme_schema.schema
    seminar_state_forget()
    assert seminar_state(schema=schema, seminar_id=rush.pk) is not None
    # Thousands of made-up ids: answered without a query (above the newest id), and the cache keeps the
    # live seminar (a dict that empties itself when full drops it).
    made_up = range(10_000_000, 10_006_000)
    assert _queries(lambda: [seminar_state(schema=schema, seminar_id=i) for i in made_up]) <= 1
    assert _queries(lambda: seminar_state(schema=schema, seminar_id=rush.pk)) == 0
    # A missing id below the newest costs one query, then none.
    gap = rush.pk - 1 if rush.pk > 1 else 0
    with schema_context(schema):
        from booking.models import Seminar

        assert not Seminar.objects.filter(pk=gap).exists() or gap == 0
    seminar_state(schema=schema, seminar_id=gap)
    assert _queries(lambda: seminar_state(schema=schema, seminar_id=gap)) == 0


def test_a_new_seminar_is_seen_at_once_after_its_id_was_answered_missing(
    acme_schema, django_capture_on_commit_callbacks
):
    schema = acme_schema.schema
    seminar_state_forget()
    from booking.models import Seminar

    next_id = (Seminar.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    assert seminar_state(schema=schema, seminar_id=next_id) is None
    with django_capture_on_commit_callbacks(execute=True):
        seminar = seminar_create(title="新しい説明会", published=True)
    try:
        found = seminar_state(schema=schema, seminar_id=seminar.pk)
        assert found is not None and found.title == "新しい説明会"
    finally:
        seminar.delete()
        seminar_state_forget()


def test_unknown_hosts_are_answered_from_memory_until_a_domain_is_added(tenants, db):
    host_cache_clear()
    host = "nobody-here.localhost"
    assert tenant_for_host(hostname=host) is None
    assert tenant_for_host_known(hostname=host) == (True, None)
    assert _queries(lambda: [tenant_for_host(hostname=host) for _ in range(100)]) == 0
    # A domain added by another process (no local notice): seen within a second.
    with schema_context("public"):
        domain = Domain.objects.create(domain=host, tenant=tenants["acme"].tenant, is_primary=False)
    try:
        time.sleep(1.05)
        assert tenant_for_host_known(hostname=host) == (False, None)
        found = tenant_for_host(hostname=host)
        assert found is not None and found.schema_name == tenants["acme"].schema
    finally:
        with schema_context("public"):
            domain.delete()
        host_cache_clear()


def test_a_flood_of_made_up_hosts_does_not_empty_the_host_cache(tenants, db, monkeypatch):
    from cachetools import TTLCache

    from tenants import selectors

    host_cache_clear()
    monkeypatch.setattr(selectors, "_host_missing", TTLCache(maxsize=100, ttl=300))
    acme_host = tenants["acme"].host
    assert tenant_for_host(hostname=acme_host) is not None
    for index in range(250):
        assert tenant_for_host(hostname=f"made-up-{index}.localhost") is None
    # Bounded, least used out first; the company's host still resolves from memory.
    assert len(selectors._host_missing) == 100 and "made-up-249.localhost" in selectors._host_missing
    assert _queries(lambda: tenant_for_host(hostname=acme_host)) == 0
    host_cache_clear()


def test_the_rush_path_refuses_a_missing_pass_before_looking_up_the_seminar(rush, acme_schema):  # noqa: F811
    seminar_state_forget()
    anonymous = Client(HTTP_HOST=acme_schema.host)
    answer = anonymous.post(
        f"/my/rush/{rush.pk}/book",
        data=json.dumps({"slot": 1}),
        content_type="application/json",
        HTTP_X_REQUESTED_WITH="rush",
    )
    assert answer.json()["code"] == "signed_out"
    client = student_client(acme_schema, candidate_make(rank="A"))
    assert client.cookies[passes.STUDENT_COOKIE].value
