"""The language switch: a cookie for everyone (students keep it a year), the account for signed-in recruiters."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import User
from tests.booking.conftest import candidate_make
from tests.booking.test_mypage_privacy import signed_in
from tests.incidents.helpers import tenant_client

pytestmark = pytest.mark.django_db

SWITCH = 'class="language-switch"'


@pytest.fixture
def acme(tenants):
    return tenants["acme"]


def test_the_first_visit_follows_the_browser(acme):
    client = Client(HTTP_HOST=acme.host)
    assert 'lang="ja"' in client.get("/login/").content.decode()
    english = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert 'lang="en"' in english.content.decode() and english["Content-Language"] == "en"


def test_a_student_keeps_the_choice_in_a_long_lived_cookie(acme):
    with schema_context(acme.schema):
        student = candidate_make()
    client = signed_in(acme, student)
    page = client.get("/my/").content.decode()
    assert SWITCH in page and 'value="en"' in page
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/my/"})
    assert response.status_code == 302 and response["Location"] == "/my/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en" and int(cookie["max-age"]) >= 60 * 60 * 24 * 365
    page = client.get("/my/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert 'lang="en"' in page and 'value="ja"' in page


def test_a_recruiter_choice_lives_on_the_account(acme):
    client = tenant_client(acme)
    assert SWITCH in client.get("/home/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/home/"})
    with schema_context(acme.schema):
        assert User.objects.get(email=acme.admin_email).language == "en"
    # Another browser, which says Japanese and has no cookie: once signed in, the account's choice wins.
    elsewhere = tenant_client(acme)
    response = elsewhere.get("/home/", HTTP_ACCEPT_LANGUAGE="ja")
    assert 'lang="en"' in response.content.decode() and response["Content-Language"] == "en"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    # Back to Japanese, from the other browser.
    elsewhere.post("/i18n/setlang/", {"language": "ja", "next": "/home/"})
    assert 'lang="ja"' in client.get("/home/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_switch_goes_back_only_to_this_host_and_knows_its_languages(acme):
    client = Client(HTTP_HOST=acme.host)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    response = client.post("/i18n/setlang/", {"language": "xx", "next": "/login/"})
    assert response["Location"] == "/login/" and settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert client.get("/i18n/setlang/").status_code == 405


def test_the_public_site_has_the_switch_too(tenants):
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    assert SWITCH in client.get("/support/login/").content.decode()
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/support/login/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"


def test_the_javascript_catalogue_is_served_here_and_cached_per_language_and_version(acme):
    client = Client(HTTP_HOST=acme.host)
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<script src="/i18n/js/?l=en&amp;v=' in page
    response = client.get("/i18n/js/?l=en", HTTP_ACCEPT_LANGUAGE="ja")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert "immutable" in response["Cache-Control"] and "public" in response["Cache-Control"]
    script = response.content.decode()
    assert "django.gettext" in script and '"\\u6700\\u7d42\\u66f4\\u65b0": "Last update"' in script  # 最終更新
    assert "Last update" not in client.get("/i18n/js/?l=ja", HTTP_ACCEPT_LANGUAGE="en").content.decode()
