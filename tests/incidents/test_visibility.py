"""Nothing of one company's private incident reaches another company or the public: pages, feeds, counts, banners."""

from __future__ import annotations

import feedparser
import pytest
from django_tenants.utils import schema_context

from accounts.models import User
from incidents.banners import booking_notice_for
from incidents.models import Component, ComponentStatus, Impact, Scope, StaffAuditEntry, Visibility
from incidents.selectors import incidents_visible
from incidents.services.lifecycle import incident_create
from incidents.services.notify import incident_fanout
from tests.incidents.helpers import group_listener, tenant_client

PRIVATE = "アクメ様のみの予約障害"
PUBLIC = "全体のメール遅延"
DRAFT = "下書きの障害"


@pytest.fixture
def incidents(tenants):
    acme = tenants["acme"].tenant
    mypage = Component.objects.get(slug="mypage")
    public = incident_create(
        actor="ops",
        title=PUBLIC,
        message_ja="全体",
        impact=Impact.MINOR,
        visibility=Visibility.PUBLIC,
        components=[Component.objects.get(slug="email")],
    )
    private = incident_create(
        actor="ops",
        title=PRIVATE,
        message_ja="アクメの説明会予約が遅い",
        impact=Impact.CRITICAL,
        scope=Scope.CHOSEN,
        tenants=[acme],
        visibility=Visibility.TENANTS,
        components=[mypage],
        component_status=ComponentStatus.MAJOR,
    )
    draft = incident_create(actor="ops", title=DRAFT, message_ja="下書き", impact=Impact.MAJOR)
    return {"public": public, "private": private, "draft": draft}


@pytest.mark.django_db
def test_selectors_scope_incidents_to_their_audience(tenants, incidents):
    assert set(incidents_visible(tenant=None)) == {incidents["public"]}
    assert set(incidents_visible(tenant=tenants["acme"].tenant)) == {
        incidents["public"],
        incidents["private"],
    }
    assert set(incidents_visible(tenant=tenants["globex"].tenant)) == {incidents["public"]}


@pytest.mark.django_db
def test_public_status_page_shows_no_private_or_draft_incident(client, tenants, incidents):
    page = client.get("/", HTTP_HOST="status.localhost").content.decode()
    assert PUBLIC in page and PRIVATE not in page and DRAFT not in page
    assert "現在 1 件の障害" in page
    # The private incident's component status (major outage on My Page) does not show publicly (the legend
    # names every status: the components' own status is what counts).
    assert 'class="st-major_outage"' not in page
    assert (
        client.get(f"/incidents/{incidents['private'].pk}/", HTTP_HOST="status.localhost").status_code == 404
    )
    assert client.get(f"/incidents/{incidents['draft'].pk}/", HTTP_HOST="status.localhost").status_code == 404
    assert (
        client.get(f"/incidents/{incidents['public'].pk}/", HTTP_HOST="status.localhost").status_code == 200
    )
    # The landing page stays on the bare domain.
    assert "企業ごとのサブドメイン" in client.get("/", HTTP_HOST="localhost").content.decode()


@pytest.mark.django_db
def test_company_status_pages_show_own_private_incidents_only(tenants, incidents):
    acme_page = tenant_client(tenants["acme"]).get("/status/").content.decode()
    assert PRIVATE in acme_page and PUBLIC in acme_page and "現在 2 件の障害" in acme_page
    assert 'class="st-major_outage"' in acme_page
    globex = tenant_client(tenants["globex"])
    globex_page = globex.get("/status/").content.decode()
    assert (
        PRIVATE not in globex_page
        and "現在 1 件の障害" in globex_page
        and 'class="st-major_outage"' not in globex_page
    )
    assert globex.get(f"/status/incidents/{incidents['private'].pk}/").status_code == 404


@pytest.mark.django_db
def test_status_page_needs_sign_in(client, tenants, incidents):
    response = client.get("/status/", HTTP_HOST=tenants["acme"].host)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_feeds_are_valid_atom_and_scoped(client, tenants, incidents):
    public = feedparser.parse(client.get("/feed.atom", HTTP_HOST="status.localhost").content)
    assert not public.bozo and public.version == "atom10"
    assert [entry.title for entry in public.entries] == [f"[調査中] {PUBLIC}"]
    acme_client = tenant_client(tenants["acme"])
    acme_page = acme_client.get("/status/").content.decode()
    key_url = acme_page.split('href="/status/feed.atom?key=')[1].split('"')[0]
    # A feed reader holds only the signed key, no session.
    acme = feedparser.parse(
        client.get(f"/status/feed.atom?key={key_url}", HTTP_HOST=tenants["acme"].host).content
    )
    assert not acme.bozo and {entry.title for entry in acme.entries} == {
        f"[調査中] {PUBLIC}",
        f"[調査中] {PRIVATE}",
    }
    # acme's key means nothing on globex's host; globex's own feed has no private entry.
    assert client.get(f"/status/feed.atom?key={key_url}", HTTP_HOST=tenants["globex"].host).status_code == 403
    globex = feedparser.parse(tenant_client(tenants["globex"]).get("/status/feed.atom").content)
    assert [entry.title for entry in globex.entries] == [f"[調査中] {PUBLIC}"]


@pytest.mark.django_db
def test_booking_notice_only_for_the_affected_company(tenants, incidents):
    assert "説明会の予約" in booking_notice_for(tenant=tenants["acme"].tenant)
    assert booking_notice_for(tenant=tenants["globex"].tenant) is None


@pytest.mark.django_db
def test_banner_of_private_incident_reaches_only_that_company(tenants, incidents):
    with group_listener({"acme": tenants["acme"].tenant, "globex": tenants["globex"].tenant}) as received:
        fanout = incident_fanout(incident_id=incidents["private"].pk, update_id=None)
    assert fanout.tenant_ids == [tenants["acme"].tenant.pk]
    assert len(received["acme"]) == 1 and PRIVATE in received["acme"][0]["text"]
    assert received["acme"][0]["type"] == "banner"
    assert received["globex"] == []


@pytest.mark.django_db
def test_public_incident_of_one_company_gives_no_notice_to_another(tenants):
    incident_create(
        actor="ops",
        title="アクメ様の予約障害（公開）",
        message_ja="x",
        impact=Impact.MAJOR,
        scope=Scope.CHOSEN,
        tenants=[tenants["acme"].tenant],
        visibility=Visibility.PUBLIC,
        components=[Component.objects.get(slug="mypage")],
    )
    assert booking_notice_for(tenant=tenants["acme"].tenant) is not None
    # Public means readable by anyone, not that globex's students are affected.
    assert booking_notice_for(tenant=tenants["globex"].tenant) is None


@pytest.mark.django_db
def test_feed_summaries_are_text_never_markup(client, tenants):
    message = '<script>alert("x")</script><img src=x onerror="alert(1)"> 復旧作業中'
    incident_create(
        actor="ops",
        title="<b>太字</b> の障害",
        message_ja=message,
        impact=Impact.MINOR,
        visibility=Visibility.PUBLIC,
        components=[Component.objects.get(slug="email")],
    )
    raw = client.get("/feed.atom", HTTP_HOST="status.localhost").content.decode()
    assert 'type="html"' not in raw and "<script>" not in raw
    feed = feedparser.parse(raw)
    [entry] = [entry for entry in feed.entries if "太字" in entry.title]
    assert entry.summary_detail.type == "text/plain" and entry.summary == message
    assert entry.title_detail.type == "text/plain" and entry.title == "[調査中] <b>太字</b> の障害"


@pytest.mark.django_db
def test_feed_keys_expire_and_can_be_revoked(client, tenants, incidents):
    import time

    import time_machine

    from incidents.services.feedkeys import FEED_KEY_DAYS

    host = tenants["acme"].host
    admin = tenant_client(tenants["acme"])

    def key_from_page() -> str:
        return admin.get("/status/").content.decode().split('href="/status/feed.atom?key=')[1].split('"')[0]

    old = key_from_page()
    assert client.get(f"/status/feed.atom?key={old}", HTTP_HOST=host).status_code == 200
    # Keys expire.
    with time_machine.travel(time.time() + (FEED_KEY_DAYS + 1) * 24 * 3600, tick=False):
        assert client.get(f"/status/feed.atom?key={old}", HTTP_HOST=host).status_code == 403
    # An admin revokes every key issued so far; the page then shows a new one that works.
    with schema_context(tenants["acme"].schema):
        User.objects.create_user(username="v@acme.example.jp", email="v@acme.example.jp", role="viewer")
    viewer = tenant_client(tenants["acme"], email="v@acme.example.jp")
    assert viewer.post("/status/feed/revoke/").status_code == 403
    assert client.get(f"/status/feed.atom?key={old}", HTTP_HOST=host).status_code == 200
    assert admin.post("/status/feed/revoke/").status_code == 302
    assert client.get(f"/status/feed.atom?key={old}", HTTP_HOST=host).status_code == 403
    new = key_from_page()
    assert client.get(f"/status/feed.atom?key={new}", HTTP_HOST=host).status_code == 200
    assert StaffAuditEntry.objects.filter(action="feed.keys_revoke").exists()
