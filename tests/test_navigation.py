"""No dead ends: every recruiter page (from the URLconf) carries one workspace menu and the company name
linking home; the incident pages link back to the status page; students' pages carry neither."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from incidents.models import Scope, Visibility
from incidents.services.lifecycle import incident_create
from tests.incidents.helpers import tenant_client
from tests.pages import mypage_pages, page_html, page_objects, recruiter_pages

pytestmark = pytest.mark.django_db

MENU = 'aria-label="採用管理メニュー"'


def _objects(tenants):
    def incident(title: str):
        return incident_create(
            actor="ops",
            title=title,
            message_ja="—",
            scope=Scope.CHOSEN,
            tenants=[tenants["acme"].tenant],
            visibility=Visibility.TENANTS,
        )

    with schema_context(tenants["acme"].schema):
        return page_objects(incident=incident("案内確認"), data_incident=incident("案内確認: データ"))


def test_every_recruiter_page_has_the_menu_and_the_company_name_links_home(tenants):
    objects = _objects(tenants)
    client = tenant_client(tenants["acme"])
    brand = re.compile(r'<span class="brand"><a href="/home/">アクメ商事</a></span>')
    pages = 0
    for route in recruiter_pages():
        page = page_html(client, route, objects)
        if page is None:
            continue
        pages += 1
        assert page.count(MENU) == 1, route.name
        assert brand.search(page), route.name
        for section in ("/candidates/", "/booking/seminars/", "/booking/interviews/", "/mail/sequences/"):
            assert f'href="{section}"' in page, (route.name, section)
    assert pages >= 30


def test_incident_pages_link_back_to_the_status_page(tenants):
    objects = _objects(tenants)
    client = tenant_client(tenants["acme"])
    for path in (
        f"/status/incidents/{objects['incident'].pk}/",
        f"/status/data/{objects['data_incident'].pk}/",
        "/status/webhooks/",
    ):
        page = client.get(path).content.decode()
        assert '<a href="/status/">' in page and "← " in page, path


def test_students_pages_have_no_workspace_menu(tenants):
    objects = _objects(tenants)
    from django.conf import settings

    from tests.booking.conftest import mypage_session_key

    client = Client(HTTP_HOST=tenants["acme"].host)
    client.cookies[settings.SESSION_COOKIE_NAME] = mypage_session_key(
        schema=tenants["acme"].schema, candidate=objects["candidate"]
    )
    for route in mypage_pages():
        page = page_html(client, route, objects)
        if page is not None:
            assert MENU not in page and 'href="/home/"' not in page, route.name
