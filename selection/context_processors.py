"""Template context of the My Page home: the student's エントリーシート and offer, when there are any."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def mypage(request: HttpRequest) -> dict[str, Any]:
    """Lazy: asked only by the My Page home, for a signed-in student (set by booking's mypage_required)."""
    candidate = getattr(request, "candidate", None)
    if candidate is None:
        return {}

    def entry_sheet_open() -> bool:
        from selection.selectors import entry_sheet_of

        sheet = entry_sheet_of(season_id=candidate.season_id)
        return sheet is not None and sheet.is_open

    def has_offer() -> bool:
        from selection.selectors import offer_current

        return offer_current(candidate=candidate) is not None

    return {"entry_sheet_open": entry_sheet_open, "has_offer": has_offer}
