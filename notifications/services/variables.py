"""Values of the template variables for one student (the fixed set in templating.VARIABLES)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from accounts.services import site_url
from tenants.models import Tenant

# The booking app registers how a student's My Page link is made (BookingConfig.ready): notifications sits
# below booking and never imports it.
_mypage_url_provider: Callable[..., str] | None = None


def mypage_url_provider_set(provider: Callable[..., str] | None) -> None:
    """Register `provider(*, host: str, candidate_id: int) -> str` building a student's My Page URL."""
    global _mypage_url_provider
    _mypage_url_provider = provider


def candidate_mypage_url(*, host: str, candidate_id: int | None) -> str:
    """A personal My Page sign-in link (a fresh token per mail, from the booking app), or the My Page root."""
    if not candidate_id:
        return site_url(host=host, path="/my/")
    if _mypage_url_provider is not None:
        return _mypage_url_provider(host=host, candidate_id=candidate_id)
    # No app registered one: the generic page, where students ask for a link.
    return site_url(host=host, path="/my/")


# What the outbox keeps instead of a link that lets its holder act as the student: the mail that leaves has
# the link, the stored copy (mail history, exports, the database) never does.
# i18n: data — variable names, and what the stored copy (a record of the mail as sent) says instead of a link
_WITHHELD = {
    "マイページURL": "［マイページのログインリンク（送信したメールにだけ記載し、保存していません）］",
    "配信停止URL": "［配信停止リンク（送信したメールにだけ記載し、保存していません）］",
}


def links_withheld(*, host: str, values: dict[str, str]) -> dict[str, str]:
    """Each personal link among the rendered values, mapped to the text stored in its place."""
    public = {site_url(host=host, path="/my/"), ""}
    return {values[name]: shown for name, shown in _WITHHELD.items() if values.get(name, "") not in public}


def text_withhold(text: str, links: dict[str, str]) -> str:
    for link, shown in links.items():
        text = text.replace(link, shown)
    return text


def tenant_for_schema(*, schema_name: str) -> Tenant:
    tenant: Tenant = Tenant.objects.get(schema_name=schema_name)
    return tenant


def candidate_values(
    *,
    tenant: Tenant,
    host: str,
    candidate: dict[str, Any],
    context: dict[str, Any],
    unsubscribe_link: str,
    mypage_url: str | None = None,
) -> dict[str, str]:
    """`mypage_url` given (previews) means no personal link is created."""
    if mypage_url is None:
        mypage_url = candidate_mypage_url(host=host, candidate_id=candidate.get("id"))
    # i18n: data — the template variables' names
    return {
        "姓": candidate.get("family_name", ""),
        "名": candidate.get("given_name", ""),
        "セイ": candidate.get("family_kana", ""),
        "メイ": candidate.get("given_kana", ""),
        "大学名": candidate.get("university", ""),
        "会社名": tenant.name,
        "マイページURL": mypage_url,
        "説明会名": str(context.get("seminar_name", "")),
        "日時": str(context.get("slot_text", "")),
        "配信停止URL": unsubscribe_link,
    }
