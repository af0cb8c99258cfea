"""The candidate page's panel: every round of the student's season with its evaluations side by side."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from candidates.detailpanels import Panel
from selection.forms import OfferForm
from selection.selectors import (
    candidate_rounds,
    entry_sheet_of,
    evaluation_allowed,
    offers_of,
    sheet_answers,
    submission_of,
)


def evaluations_panel(*, request: HttpRequest, candidate: Any) -> Panel | None:
    columns = candidate_rounds(candidate=candidate)
    if not columns:
        return None
    user = cast(User, request.user)  # the candidate page is for signed-in members only
    for column in columns:
        # Only whom the rule lets evaluate get the form's link; viewers read.
        column.can_evaluate = evaluation_allowed(user=user, round=column.round, candidate=candidate)
    return Panel(template="selection/_panel.html", context={"columns": columns, "candidate": candidate})


def offers_panel(*, request: HttpRequest, candidate: Any) -> Panel | None:
    """The student's offers and, for recruiters, the form that issues one (deadline, start in April)."""
    offers = offers_of(candidate=candidate)
    user = cast(User, request.user)
    if not offers and not user.can_edit:
        return None
    start = dt.date((candidate.graduation_year or timezone.localdate().year + 1), 4, 1)
    form = OfferForm(initial={"deadline": timezone.localtime() + dt.timedelta(days=14), "start_date": start})
    return Panel(
        template="selection/_offer_panel.html",
        context={"offers": offers, "candidate": candidate, "form": form, "can_edit": user.can_edit},
    )


def entry_sheet_panel(*, request: HttpRequest, candidate: Any) -> Panel | None:
    """The student's エントリーシート (submitted or draft), read on the candidate page."""
    sheet = entry_sheet_of(season_id=candidate.season_id)
    submission = submission_of(sheet=sheet, candidate=candidate) if sheet is not None else None
    if sheet is None or submission is None:
        return None
    return Panel(
        template="selection/_es_panel.html",
        context={
            "sheet": sheet,
            "submission": submission,
            "rows": sheet_answers(sheet=sheet, submission=submission),
        },
    )
