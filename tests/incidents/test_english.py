"""Incidents in English: the public and the company status pages, an incident's page and the support list read in
English when the browser asks for it, with the incident's English title and message when support wrote them;
Japanese is left only in what companies and support typed without an English version (names, components)."""

from __future__ import annotations

import pytest

from incidents.models import Component, Impact, Scope, Visibility
from incidents.services.lifecycle import incident_create
from incidents.texts import both_languages
from incidents.watchdog.probes import SPECS
from tests.booking.test_english import _japanese_left
from tests.incidents.helpers import tenant_client

ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def incident(tenants):
    return incident_create(
        actor="ops",
        title="メール配信の遅延",
        title_en="Mail delivery delays",
        message_ja="一部のメールが遅れて届いています。",
        message_en="Some mails arrive late.",
        impact=Impact.MINOR,
        scope=Scope.ALL,
        visibility=Visibility.PUBLIC,
        components=[Component.objects.get(slug="email")],
    )


def _untranslated_components() -> list[str]:
    return list(Component.objects.filter(name_en="").values_list("name", flat=True))


@pytest.mark.django_db
def test_public_status_page_in_english(client, tenants, incident):
    page = client.get("/", HTTP_HOST="status.localhost", **ENGLISH).content.decode()
    content = page[page.index("<main>") :]
    assert "<h1>Service status</h1>" in content
    assert "There is 1 incident at the moment." in content
    assert "Mail delivery delays" in content and "Some mails arrive late." in content
    assert "Status by feature (last 90 days)" in content and "E-mail delivery" in content
    # Components read their English names; only what support typed without one stays Japanese.
    assert _japanese_left(content, data=_untranslated_components()) == []

    detail = client.get(
        f"/incidents/{incident.pk}/", HTTP_HOST="status.localhost", **ENGLISH
    ).content.decode()
    content = detail[detail.index("<main>") :]
    assert "← Service status" in content and "Impact: Minor" in content and "Updates" in content
    # The timeline shows both languages of each update, the English one marked as such.
    assert (
        _japanese_left(content, data=_untranslated_components() + ["一部のメールが遅れて届いています。"])
        == []
    )

    # In Japanese the page is as it was.
    japanese = client.get("/", HTTP_HOST="status.localhost", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "現在 1 件の障害が発生しています。" in japanese and "メール配信の遅延" in japanese


@pytest.mark.django_db
def test_company_status_page_in_english(tenants, incident):
    acme = tenants["acme"]
    client = tenant_client(acme)
    page = client.get("/status/", **ENGLISH).content.decode()
    content = page[page.index("<h1>") :]
    assert f"Service status for {acme.tenant.name}" in content
    assert "E-mail me about incidents of the ticked features" in content
    assert "Report a suspected personal data breach" in content
    assert _japanese_left(content, data=_untranslated_components() + [acme.tenant.name]) == []


def test_system_written_incidents_keep_both_languages():
    """The watchdog's titles and updates are stored in Japanese and in English whatever the writer's language."""
    title_ja, title_en = both_languages(SPECS["smtp"].title)
    assert (title_ja, title_en) == ("メール送信サーバーの障害", "Mail server outage")
