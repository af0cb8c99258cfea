"""Students see a plain notice on the My Page while an incident or maintenance affects booking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_tenants.utils import schema_context

from incidents.context_processors import STUDENT_CACHE_KEY
from incidents.models import Component, Scope
from incidents.services.maintenance import maintenance_create, maintenance_tick
from tests.booking.conftest import candidate_make
from tests.booking.test_mypage import _signed_in

pytestmark = pytest.mark.django_db


def _my_page(client, info) -> str:
    with schema_context(info.schema):
        cache.delete(STUDENT_CACHE_KEY)
    return client.get("/my/", HTTP_HOST=info.host).content.decode()


def test_notice_only_for_the_affected_company(client, tenants, django_capture_on_commit_callbacks):
    acme, globex = tenants["acme"], tenants["globex"]
    with schema_context(acme.schema):
        acme_student = candidate_make(rank="A")
    with schema_context(globex.schema):
        globex_student = candidate_make(rank="A")
    _signed_in(client, acme, acme_student)
    assert 'role="status"' not in _my_page(client, acme)
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        maintenance_create(
            actor="ops",
            title="データベースの更新",
            message_ja="説明会予約が停止します。",
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=1),
            components=[Component.objects.get(slug="mypage")],
            scope=Scope.CHOSEN,
            tenants=[acme.tenant],
        )
        maintenance_tick(now=now)
    assert 'role="status"' in _my_page(client, acme)
    _signed_in(client, globex, globex_student)
    assert 'role="status"' not in _my_page(client, globex)
