"""Atom feeds: the public one and one per company (that company's private incidents included)."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext

from incidents.models import Incident
from incidents.selectors import incidents_visible


class PlainTextAtomFeed(Atom1Feed):
    """Atom with the summary as text: Django's Atom1Feed marks it `type="html"`, so a feed reader would
    run markup an incident message carries. Titles are text in Atom already."""

    def add_item_elements(self, handler, item) -> None:
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


class IncidentFeed(Feed):
    feed_type = PlainTextAtomFeed
    link = "/"

    def get_object(self, request, *args, **kwargs):
        tenant = getattr(request, "feed_tenant", None)
        self.path_prefix = "/status/incidents/" if tenant is not None else "/incidents/"
        return tenant

    def title(self, tenant) -> str:
        if tenant is not None:
            return gettext("%(company)s 向け障害情報") % {"company": tenant.name}
        return gettext("新卒採用管理 障害情報")

    def subtitle(self, tenant) -> str:
        return gettext("サービスの障害・メンテナンスのお知らせ")

    def items(self, tenant):
        return incidents_visible(tenant=tenant).prefetch_related("updates").order_by("-created_at")[:50]

    def item_title(self, item: Incident) -> str:
        return f"[{item.get_state_display()}] {item.title}"

    def item_description(self, item: Incident) -> str:
        latest = item.updates.all()[:1]
        return latest[0].message_ja if latest else ""

    def item_link(self, item: Incident) -> str:
        return f"{self.path_prefix}{item.pk}/"

    def item_pubdate(self, item: Incident):
        return item.published_at or item.created_at

    def item_updateddate(self, item: Incident):
        latest = item.updates.all()[:1]
        return latest[0].created_at if latest else item.created_at
