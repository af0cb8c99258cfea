"""Template helpers of the workspace."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext, pgettext

register = template.Library()


@register.filter
def lookup(mapping: dict[str, Any], key: str) -> Any:
    """mapping[key], or the key itself when absent (e.g. a status whose step was removed)."""
    return mapping.get(key, key) if isinstance(mapping, dict) else key


@register.filter
def disclosure_value(value: Any) -> str:
    """A value of the disclosure export as text: nested rows as 'key: value' lines, empty as a dash."""
    if value in (None, "", [], {}):
        return "—"
    if isinstance(value, dict):
        return "\n".join(f"{key}: {disclosure_value(item)}" for key, item in value.items())
    if isinstance(value, list):
        return pgettext("区切り", "、").join(disclosure_value(item) for item in value)
    if isinstance(value, bool):
        return gettext("はい") if value else gettext("いいえ")
    return str(value)
