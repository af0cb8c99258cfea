"""Template context of the My Page: whether the student's season has an エントリーシート open to them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def entry_sheet(request: HttpRequest) -> dict[str, Any]:
    """Lazy: asked only by the My Page home, for a signed-in student (set by booking's mypage_required)."""
    candidate = getattr(request, "candidate", None)
    if candidate is None:
        return {}

    def is_open() -> bool:
        from selection.selectors import entry_sheet_of

        sheet = entry_sheet_of(season_id=candidate.season_id)
        return sheet is not None and sheet.is_open

    return {"entry_sheet_open": is_open}
