"""The candidate page's My Page panel: send the student their sign-in link, or end their links."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from candidates.detailpanels import Panel


def mypage_panel(*, request: HttpRequest, candidate: Any) -> Panel | None:
    if not getattr(request.user, "can_edit", False) or candidate.anonymised_at:
        return None
    return Panel(
        template="booking/recruiter/_mypage_panel.html",
        context={
            "candidate": candidate,
            "can_mail": bool(candidate.email) and not candidate.email_undeliverable,
            "next": request.get_full_path(),
        },
    )
