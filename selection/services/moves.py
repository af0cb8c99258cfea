"""Students entering a round, and what that sets in motion: the one home of the rule for a pass and a move.

A pass (rounds.py::evaluation_save) and a move by hand (bulk.py::bulk_move, a single student being a batch
of one) both come here: one conditional UPDATE of the students' status, a history line each, and, after
commit and as the round passed says, the step mails of the new status and the invitation to book the new
round's interview (once per round and student: the outbox key and the enrollment's occurrence).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from notifications.language import students_language
from notifications.models import Trigger
from notifications.services import sequence_trigger
from notifications.services.outbox import outbox_enqueue_many
from notifications.services.templating import PLACEHOLDERS
from selection.models import Round
from selection.selectors import round_previous
from tenants.selectors import current_schema

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)

# Up to this many students the step mails start right after commit; more go to a worker (selection.tasks),
# so a bulk move of thousands answers in a second (each student's start is a few statements).
STEP_MAILS_INLINE = 50

INVITATION_SUBJECT = gettext_lazy("【%(company)s】%(name)sのご案内")
INVITATION_BODY = gettext_lazy(
    "%(family_name)s %(given_name)s 様\n\n"
    "選考の結果、次の「%(name)s」にお進みいただくことになりました。\n"
    "マイページから面接の日時をお選びください。\n\n%(mypage_url)s\n\n%(company)s 採用担当\n"
)


def history_add(*, candidate_ids: list[int], kind: str, message: str, user: User | None) -> None:
    """One history line per student, in one INSERT."""
    if not candidate_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO candidates_candidateevent (candidate_id, kind, message, user_id, created_at)"
            " SELECT unnest(%s::bigint[]), %s, %s, %s, %s",
            [candidate_ids, kind, message[:500], user.pk if user else None, timezone.now()],
        )


def round_enter(
    *,
    candidate_ids: list[int],
    into: Round,
    user: User | None,
    message: str,
    passed: Round | None = None,
    from_step: str | None = None,
) -> list[int]:
    """Put the season's students in `into` and start what a pass starts; returns the ids that moved.

    `from_step` moves only students at that step (a pass: a second evaluator's pass moves nobody twice);
    without it, every listed student not yet in `into`. `passed` is the round whose settings say what
    follows (a pass: the round passed; a move by hand: the round before `into`, or both when it is first).
    """
    if not candidate_ids:
        return []
    condition, value = (
        ("status = %s", from_step) if from_step is not None else ("status <> %s", into.step_key)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE candidates_candidate SET status = %s, updated_at = %s"
            f" WHERE id = ANY(%s) AND season_id = %s AND {condition}"
            " RETURNING id, email, email_undeliverable",
            [into.step_key, timezone.now(), candidate_ids, into.season_id, value],
        )
        moved = cursor.fetchall()
    ids = [row[0] for row in moved]
    history_add(candidate_ids=ids, kind="status", message=message, user=user)
    settings_from = passed if passed is not None else round_previous(current=into)
    step_mail = settings_from.pass_step_mail if settings_from is not None else True
    invites = settings_from.pass_invites if settings_from is not None else True
    if ids and step_mail:
        schema_name, status = current_schema(), into.step_key
        transaction.on_commit(
            lambda: step_mails_start_many(schema_name=schema_name, candidate_ids=ids, status=status)
        )
    interview = into.interview_type
    if invites and interview is not None and interview.active:
        _invitations_queue(
            round=into, recipients=[(pk, email) for pk, email, gone in moved if email and not gone]
        )
    return ids


def _invitations_queue(*, round: Round, recipients: list[tuple[int, str]]) -> None:
    """The invitations to book the round's interview, through the company's outbox (sent after commit)."""
    # i18n: data — braces in a name never open a mail variable
    name = round.name.replace("{", "｛").replace("}", "｝")
    values = {**PLACEHOLDERS, "name": name}
    with students_language():
        subject, body = INVITATION_SUBJECT % values, INVITATION_BODY % values
    outbox_enqueue_many(
        messages=[
            {
                "key": f"round-invite:{round.pk}:{candidate_id}",
                "to": email,
                "subject": subject,
                "body": body,
                "kind": "transactional",
                "candidate_id": candidate_id,
                "needs_render": True,
            }
            for candidate_id, email in recipients
        ]
    )


def step_mails_start_many(*, schema_name: str, candidate_ids: list[int], status: str) -> None:
    """Start the step mails of the students' new status: here for a few, on a worker for many."""
    if len(candidate_ids) <= STEP_MAILS_INLINE:
        for candidate_id in candidate_ids:
            step_mails_start(candidate_id=candidate_id, status=status)
        return
    from selection.tasks import step_mails_start_task

    try:
        step_mails_start_task.delay(schema_name, candidate_ids, status)
    except Exception:
        # The move is committed either way; the error is logged (without the students).
        logger.exception(
            "step-mail task could not be queued status=%s students=%d", status, len(candidate_ids)
        )


def step_mails_start(*, candidate_id: int, status: str) -> None:
    """Start the step mails of a student's new status (notifications' status_changed sequences)."""
    try:
        sequence_trigger(
            event=Trigger.STATUS_CHANGED,
            candidate_id=candidate_id,
            occurred_at=timezone.now(),
            context={"status": status, "occurrence": f"round:{status}"},
        )
    except Exception:
        # A decision never fails because a step mail could not be scheduled; the error is logged.
        logger.exception("step-mail trigger failed after a decision status=%s", status)
