"""Template helpers of the workspace."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def lookup(mapping: dict[str, Any], key: str) -> Any:
    """mapping[key], or the key itself when absent (e.g. a status whose step was removed)."""
    return mapping.get(key, key) if isinstance(mapping, dict) else key
