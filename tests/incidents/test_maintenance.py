"""Scheduled maintenance: reminder before start, automatic start and completion, notices, status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.banners import booking_notice_for
from incidents.models import Component, ComponentStatus, MaintenanceState, Scope
from incidents.selectors import status_overview
from incidents.services.maintenance import maintenance_create, maintenance_tick
from incidents.tasks import maintenance_tick_task
from tests.incidents.helpers import group_listener, outbox_rows


@pytest.mark.django_db
def test_reminder_start_and_completion_happen_on_time(tenants, eager_celery, on_commit):
    now = timezone.now()
    mypage = Component.objects.get(slug="mypage")
    maintenance = on_commit(
        maintenance_create,
        actor="ops",
        title="データベースの更新",
        message_ja="説明会予約が停止します。",
        starts_at=now + timedelta(hours=30),
        ends_at=now + timedelta(hours=32),
        components=[mypage],
        scope=Scope.CHOSEN,
        tenants=[tenants["acme"].tenant],
    )
    queued = outbox_rows(tenants["acme"])
    assert [(row["to_address"], row["kind"]) for row in queued] == [
        (tenants["acme"].admin_email, "transactional")
    ]
    assert "予定" in queued[0]["subject"] and outbox_rows(tenants["globex"]) == []
    assert on_commit(maintenance_tick, now=now) == {"reminded": 0, "started": 0, "completed": 0}
    assert on_commit(maintenance_tick, now=now + timedelta(hours=7)) == {
        "reminded": 1,
        "started": 0,
        "completed": 0,
    }
    queued = outbox_rows(tenants["acme"])
    assert len(queued) == 2 and "まもなく" in queued[1]["subject"]
    assert on_commit(maintenance_tick, now=now + timedelta(hours=8))["reminded"] == 0
    with group_listener({"acme": tenants["acme"].tenant, "globex": tenants["globex"].tenant}) as received:
        assert on_commit(maintenance_tick, now=now + timedelta(hours=30, seconds=1))["started"] == 1
    maintenance.refresh_from_db()
    assert maintenance.state == MaintenanceState.IN_PROGRESS
    assert "開始しました" in received["acme"][0]["text"] and received["globex"] == []
    assert booking_notice_for(tenant=tenants["acme"].tenant) is not None
    assert booking_notice_for(tenant=tenants["globex"].tenant) is None
    acme_view = {v.component.slug: v.status for v in status_overview(tenant=tenants["acme"].tenant)}
    assert acme_view["mypage"] == ComponentStatus.MAINTENANCE
    assert on_commit(maintenance_tick, now=now + timedelta(hours=32, seconds=1))["completed"] == 1
    maintenance.refresh_from_db()
    assert (
        maintenance.state == MaintenanceState.COMPLETED
        and booking_notice_for(tenant=tenants["acme"].tenant) is None
    )


@pytest.mark.django_db
def test_beat_task_runs_the_tick_and_bad_windows_are_refused(tenants, eager_celery):
    from incidents.errors import IncidentError

    now = timezone.now()
    with pytest.raises(IncidentError, match="終了予定"):
        maintenance_create(actor="ops", title="x", message_ja="x", starts_at=now, ends_at=now)
    maintenance = maintenance_create(
        actor="ops",
        title="x",
        message_ja="x",
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
    )
    maintenance_tick_task()
    maintenance.refresh_from_db()
    assert maintenance.state == MaintenanceState.IN_PROGRESS
