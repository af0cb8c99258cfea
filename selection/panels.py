"""The candidate page's panel: every round of the student's season with its evaluations side by side."""

from __future__ import annotations

from typing import Any, cast

from django.http import HttpRequest

from accounts.models import User
from candidates.detailpanels import Panel
from selection.selectors import candidate_rounds, evaluation_allowed


def evaluations_panel(*, request: HttpRequest, candidate: Any) -> Panel | None:
    columns = candidate_rounds(candidate=candidate)
    if not columns:
        return None
    user = cast(User, request.user)  # the candidate page is for signed-in members only
    for column in columns:
        # Only whom the rule lets evaluate get the form's link; viewers read.
        column.can_evaluate = evaluation_allowed(user=user, round=column.round, candidate=candidate)
    return Panel(template="selection/_panel.html", context={"columns": columns, "candidate": candidate})
