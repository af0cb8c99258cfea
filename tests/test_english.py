"""The parts that are English throughout, rendered in English: English text, and no Japanese left but the
company's and the students' own data (names the company typed)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.utils import translation

from accounts.models import User
from recovery.middleware import maintenance_response
from saas.unavailable import unavailable_response
from tests.incidents.conftest import staff_signed_in
from tests.incidents.helpers import tenant_client

pytestmark = pytest.mark.django_db

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff01-\uff60\u3000-\u303f]")
# Each language's name in itself, on the language switch.
LANGUAGE_NAMES = ("日本語",)


def japanese_left(page: str, *data: str) -> list[str]:
    """The lines of a page that still hold Japanese once the given data is taken out."""
    for value in (*data, *LANGUAGE_NAMES):
        page = page.replace(value, "")
    return [line.strip()[:100] for line in page.splitlines() if JAPANESE.search(line)]


def english(client: Client, path: str) -> str:
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en", path
    return response.content.decode()


def test_project_error_pages_and_menu_in_english(tenants):
    acme = tenants["acme"]
    missing = Client(HTTP_HOST=acme.host).get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="en")
    page = missing.content.decode()
    assert missing.status_code == 404 and "Page not found" in page and 'lang="en"' in page
    assert japanese_left(page) == []
    with translation.override("en"):
        busy = unavailable_response(RequestFactory().get("/")).content.decode()
    assert "Temporarily unavailable" in busy and "Wait about 5 seconds" in busy
    assert japanese_left(busy) == []
    # A company being restored answers before LocaleMiddleware: the request's own language still counts.
    restoring = maintenance_response(RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="en")).content.decode()
    assert "under maintenance while data is restored" in restoring and japanese_left(restoring) == []
    home = english(tenant_client(acme), "/home/")
    menu = re.search(r'<nav class="card workspace-nav".*?</nav>', home, re.DOTALL)
    assert menu and 'aria-label="Recruiting menu"' in menu.group(0) and ">Candidates</a>" in menu.group(0)
    assert japanese_left(menu.group(0)) == []
    assert ">Sign out</button>" in home


def test_project_pages_in_japanese_are_as_before(tenants):
    missing = Client(HTTP_HOST=tenants["acme"].host).get("/no-such-page/")
    page = missing.content.decode()
    assert "<h1>ページが見つかりません</h1>" in page and '<p class="muted">Page not found (404)</p>' in page


def test_accounts_pages_in_english(tenants):
    acme = tenants["acme"]
    login = english(Client(HTTP_HOST=acme.host), "/login/")
    assert "<h1>Sign in</h1>" in login and ">Email address</label>" in login
    assert japanese_left(login, acme.tenant.name) == []
    client = tenant_client(acme)
    home = english(client, "/home/")
    assert "Welcome, " in home and "(Admin)" in home
    assert japanese_left(home, acme.tenant.name) == []
    recruiters = english(client, "/accounts/recruiters/")
    assert "<h1>Recruiters</h1>" in recruiters and ">Inactive</option>" in recruiters
    assert japanese_left(recruiters, acme.tenant.name) == []


def test_seasons_page_in_english(tenants):
    acme = tenants["acme"]
    page = english(tenant_client(acme), "/seasons/")
    assert "<h1>Seasons (graduation years)</h1>" in page and "Class of &#x27;27" in page
    assert japanese_left(page, acme.tenant.name) == []


def test_tenants_pages_in_english(tenants):
    public = english(Client(HTTP_HOST=settings.BASE_DOMAIN), "/")
    assert "<h1>Graduate recruiting</h1>" in public and "Support staff pages" in public
    assert japanese_left(public) == []
    unknown = Client(HTTP_HOST=f"nobody.{settings.BASE_DOMAIN}").get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert unknown.status_code == 404 and "<p>Page not found (404 Not Found)</p>" in unknown.content.decode()
    staff = User.objects.create_user(
        username="en@support.example.jp", email="en@support.example.jp", password="x" * 12, is_staff=True
    )
    page = english(staff_signed_in(staff), "/support/tenants/")
    assert "<h1>Companies (tenants)</h1>" in page and "Create and send the invitation" in page
    names = [tenants[slug].tenant.name for slug in tenants]
    assert japanese_left(page, *names) == []


def test_dashboard_in_english(tenants):
    acme = tenants["acme"]
    client = tenant_client(acme)
    page = english(client, "/dashboard/")
    assert "Dashboard (Class of &#x27;27)" in page and "Selection funnel" in page
    assert japanese_left(page, acme.tenant.name) == []
    csv = client.get("/dashboard/funnel.csv", HTTP_ACCEPT_LANGUAGE="en").content.decode("cp932")
    assert csv.splitlines()[0] == "Stage,Students,Of entries"


def test_api_tokens_page_and_refusals_in_english(tenants):
    acme = tenants["acme"]
    client = tenant_client(acme)
    client.post(
        "/settings/api-tokens/",
        {"action": "create", "name": "ATS", "days": "30", "scopes": "candidates:read"},
    )
    page = english(client, "/settings/api-tokens/")
    assert "<h1>API tokens</h1>" in page and "Create token" in page and "Never used" in page
    # Dates as English writes them (saas/dates.py): 19 Dec 2026 14:00, not 2026/12/19 14:00.
    assert re.search(r"<td>\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}</td>", page)
    assert japanese_left(page, acme.tenant.name) == []
    refused = Client(HTTP_HOST=acme.host).get("/api/v1/candidates", HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 401 and "Send a valid API token" in refused.json()["detail"]
    japanese = Client(HTTP_HOST=acme.host).get("/api/v1/candidates")
    assert "有効な API トークンを" in japanese.json()["detail"]


def test_api_schema_in_the_reader_language(tenants):
    client = Client(HTTP_HOST=tenants["acme"].host)
    english_schema = client.get("/api/v1/openapi.json", HTTP_ACCEPT_LANGUAGE="en").json()
    summaries = [op["summary"] for path in english_schema["paths"].values() for op in path.values()]
    assert "List candidates" in summaries and not any(JAPANESE.search(summary) for summary in summaries)
    japanese_schema = client.get("/api/v1/openapi.json").json()
    summaries = [op["summary"] for path in japanese_schema["paths"].values() for op in path.values()]
    assert "候補者の一覧 / List candidates" in summaries
