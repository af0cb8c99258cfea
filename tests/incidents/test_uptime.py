"""The status pages' 90-day bars: probe outcomes kept per component per day, an uptime computed from them,
each day's date and status on hover, and a legend."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from incidents.models import Component, ProbeDay
from incidents.selectors import status_overview
from incidents.watchdog.monitor import Config, Watchdog


class Scripted:
    """A probe playing fixed outcomes (True = healthy)."""

    def __init__(self, name: str, outcomes: list[bool]) -> None:
        self.name, self.outcomes = name, list(outcomes)

    def check(self) -> None:
        if not self.outcomes.pop(0):
            raise ConnectionError("scripted failure")


class PerCompany:
    name = "traffic"

    def check_tenants(self) -> dict[str, str | None]:
        return {"t_acme": "errors"}


@pytest.mark.django_db
def test_probe_outcomes_are_kept_per_component_and_day_and_give_the_uptime(tenants):
    # "channels" stands for the live-updates component; one company's failures are not the platform's.
    watchdog = Watchdog(
        probes=[Scripted("channels", [True, True, False, True]), PerCompany()], config=Config(fail_after=3)
    )
    for _ in range(4):
        watchdog.tick()
    watchdog.tallies_write(force=True)
    live = Component.objects.get(slug="live")
    today = timezone.localdate()
    row = ProbeDay.objects.get(component=live, day=today)
    assert (row.probes, row.failures) == (4, 1)
    assert set(ProbeDay.objects.values_list("component__slug", flat=True)) == {"live"}
    # Written again later: added to the day's row, not a second row.
    more = Watchdog(probes=[Scripted("channels", [True] * 4)], config=Config())
    for _ in range(4):
        more.tick()
    more.tallies_write(force=True)
    row.refresh_from_db()
    assert (row.probes, row.failures) == (8, 1)

    [view] = [v for v in status_overview(tenant=None) if v.component.slug == "live"]
    assert view.uptime == 87.5 and view.bars[-1].day == today and view.bars[-1].uptime == 87.5
    assert len(view.bars) == 90 and view.bars[0].uptime is None  # no probes recorded 89 days ago
    [web] = [v for v in status_overview(tenant=None) if v.component.slug == "web"]
    assert web.uptime is None


def _component_block(page: str, slug: str) -> str:
    start = page.index(f'data-slug="{slug}"')
    end = page.find('<div class="component"', start)
    return page[start : end if end != -1 else None]


@pytest.mark.django_db
def test_the_status_page_shows_dates_a_legend_and_the_uptime(tenants):
    live = Component.objects.get(slug="live")
    today = timezone.localdate()
    ProbeDay.objects.create(component=live, day=today, probes=200, failures=1)
    page = Client(HTTP_HOST="status.localhost").get("/").content.decode()
    block = _component_block(page, "live")
    assert "稼働率 99.50%（監視の計測による）" in block
    assert f'title="{today:%Y-%m-%d} 正常 稼働率 99.50%"' in block
    assert len(re.findall(r'data-day="\d{4}-\d{2}-\d{2}"', block)) == 90
    # A component without probes says so instead of claiming 100 %.
    web = _component_block(page, "web")
    assert "監視の計測はまだありません" in web and "稼働率 1" not in web
    legend = page[page.index('class="legend') :]
    for label in ("正常", "パフォーマンス低下", "一部障害", "重大な障害", "メンテナンス中"):
        assert label in legend
