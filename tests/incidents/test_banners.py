"""The company's active incidents are on every page it opens: every recruiter page from the URLconf, the My Page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.utils import dateformat, timezone
from django_tenants.utils import schema_context

from incidents.banners import Audience, banners_for
from incidents.context_processors import STUDENT_CACHE_KEY
from incidents.models import Component, Impact, Incident, Scope, State, Visibility
from incidents.services.lifecycle import incident_create, incident_update_post
from tests.booking.conftest import mypage_session_key
from tests.incidents.helpers import tenant_client
from tests.pages import mypage_pages, page_html, page_objects, recruiter_pages, routes_unclassified

pytestmark = pytest.mark.django_db

TITLE = "全ページ確認: 候補者一覧の表示遅延"


def _incident(
    tenants, *, title: str = TITLE, components: tuple[str, ...] = ("mypage",), **fields
) -> Incident:
    return incident_create(
        actor="ops",
        title=title,
        message_ja="一覧の表示に時間がかかっています。",
        impact=fields.pop("impact", Impact.MAJOR),
        scope=Scope.CHOSEN,
        tenants=[tenants["acme"].tenant],
        visibility=fields.pop("visibility", Visibility.TENANTS),
        components=list(Component.objects.filter(slug__in=components)),
        **fields,
    )


def test_every_route_is_a_page_or_said_why_not():
    assert routes_unclassified() == []
    names = {route.name for route in recruiter_pages()}
    # The sections a recruiter works in are all found (the URLconf walk is not vacuous).
    assert {"home", "candidates:list", "candidates:import_upload", "booking:seminar_list"} <= names
    assert {"booking:interview_types", "mail_sequences", "mail_settings", "incidents_tenant_status"} <= names
    assert {"booking:mypage_home", "booking:mypage_seminar"} <= {route.name for route in mypage_pages()}


def test_every_recruiter_page_renders_the_active_incident_on_load(tenants):
    acme = tenants["acme"]
    incident = _incident(tenants)
    data = _incident(tenants, title="全ページ確認: 個人データ", components=())
    with schema_context(acme.schema):
        objects = page_objects(incident=incident, data_incident=data)
    client = tenant_client(acme)
    started = dateformat.format(
        timezone.localtime(incident.published_at or incident.created_at), "n月j日 H:i"
    )
    checked = []
    for route in recruiter_pages():
        page, path = page_html(client, route, objects), route.route
        if page is None:
            continue
        assert f'data-banner="incident-{incident.pk}"' in page, (route.name, path)
        assert TITLE in page and started in page, (route.name, path)
        assert f'href="/status/incidents/{incident.pk}/"' in page, (route.name, path)
        assert 'data-events="/ws/events/"' in page and "js/events.js" in page, (route.name, path)
        checked.append(route.name)
    assert len(checked) >= 30
    # Another company sees none of it.
    globex_page = tenant_client(tenants["globex"]).get("/candidates/").content.decode()
    assert TITLE not in globex_page and "data-banner=" not in globex_page


def _student_client(info, candidate) -> Client:
    client = Client(HTTP_HOST=info.host)
    client.cookies[settings.SESSION_COOKIE_NAME] = mypage_session_key(schema=info.schema, candidate=candidate)
    return client


def test_every_mypage_page_shows_the_notice_while_booking_is_affected(tenants):
    acme = tenants["acme"]
    incident = _incident(tenants, visibility=Visibility.PUBLIC)
    data = _incident(tenants, title="全ページ確認: 個人データ", components=())
    with schema_context(acme.schema):
        objects = page_objects(incident=incident, data_incident=data)
        cache.delete(STUDENT_CACHE_KEY)
    client = _student_client(acme, objects["candidate"])
    for route in mypage_pages():
        page, path = page_html(client, route, objects), route.route
        if page is None:
            continue
        assert f'data-banner="incident-{incident.pk}"' in page, (route.name, path)
        assert "説明会の予約・マイページの一部機能" in page, (route.name, path)
        # Students get the plain notice, its times and the company's status page: never the internal title.
        assert TITLE not in page and 'href="/my/status/"' in page, (route.name, path)
        assert 'data-events="/ws/my/events/"' in page, (route.name, path)


def test_students_are_not_shown_incidents_that_leave_booking_alone(tenants):
    incident = _incident(tenants, components=("email",))
    assert banners_for(tenant=tenants["acme"].tenant, audience=Audience.STUDENTS) == []
    recruiters = banners_for(tenant=tenants["acme"].tenant, audience=Audience.RECRUITERS)
    assert [banner.key for banner in recruiters] == [f"incident-{incident.pk}"]


def test_a_new_update_changes_the_version_and_the_latest_time(tenants):
    incident = _incident(tenants)
    acme = tenants["acme"].tenant
    [before] = banners_for(tenant=acme, audience=Audience.RECRUITERS)
    later = timezone.now() + timedelta(minutes=5)
    update = incident_update_post(
        actor="ops", incident=incident, state=State.IDENTIFIED, message_ja="原因を特定"
    )
    type(update).objects.filter(pk=update.pk).update(created_at=later)
    [after] = banners_for(tenant=acme, audience=Audience.RECRUITERS)
    assert after.version != before.version  # a dismissed banner shows again
    assert after.updated_at == later and after.started_at == before.started_at
    assert "原因を特定" in after.text and "原因特定" in after.text
    incident_update_post(actor="ops", incident=incident, state=State.RESOLVED, message_ja="解決")
    assert banners_for(tenant=acme, audience=Audience.RECRUITERS) == []


def test_drafts_and_other_companies_incidents_are_not_shown(tenants):
    _incident(tenants, visibility=Visibility.DRAFT)
    incident_create(
        actor="ops",
        title="グローベックス様のみ",
        message_ja="—",
        scope=Scope.CHOSEN,
        tenants=[tenants["globex"].tenant],
        visibility=Visibility.PUBLIC,
    )
    assert banners_for(tenant=tenants["acme"].tenant, audience=Audience.RECRUITERS) == []
