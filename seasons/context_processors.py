"""Template context: the current season and the others, for the season switch in the header."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def season(request: HttpRequest) -> dict[str, Any]:
    """Lazy values only: nothing here may load the user or the session (an error page rendered on another
    thread would find no session in its connection's schema and the session cookie would be dropped)."""
    current = getattr(request, "season", None)
    if current is None or request.path.startswith("/my/"):
        return {}
    seasons = getattr(request, "seasons", [])
    return {
        "season": current,
        "seasons": lambda: [row for row in seasons if not row.is_archived or row.pk == current.pk],
    }
