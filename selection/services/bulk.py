"""Bulk actions on a filtered candidate list: move to a round, add a tag, a segment mail, an invitation to book.

Set-based: each action is a few statements whatever the number of students (10,000 in well under a second
of database time), and writes one audit entry naming every student it touched and the list's filters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.utils.translation import gettext, gettext_lazy, ngettext

from booking.models import InterviewType, Seminar
from candidates.models import Candidate, Tag
from candidates.services.audit import audit_record
from candidates.textnorm import nfkc
from notifications.errors import NotificationError
from notifications.services import segment_create
from notifications.services.templating import PLACEHOLDERS
from selection.errors import SelectionError
from selection.models import Round
from selection.services.moves import history_add, round_enter

if TYPE_CHECKING:
    from accounts.models import User
    from seasons.models import Season

BULK_LIMIT = 50_000


def _checked(candidate_ids: list[int]) -> list[int]:
    ids = sorted({int(candidate_id) for candidate_id in candidate_ids})
    if not ids:
        raise SelectionError(gettext("対象の学生がいません。"))
    if len(ids) > BULK_LIMIT:
        raise SelectionError(
            gettext("一度に操作できるのは%(limit)s名までです。条件を絞ってください。")
            % {"limit": f"{BULK_LIMIT:,}"}
        )
    return ids


def _audit(
    *, user: User, ip: str | None, action: str, target: str, candidate_ids: list[int], filters: dict[str, Any]
) -> None:
    audit_record(
        user=user,
        action=action,
        student_count=len(candidate_ids),
        target=target,
        ip=ip,
        candidate_ids=candidate_ids,
        filters=filters,
    )


@transaction.atomic
def bulk_move(
    *,
    candidate_ids: list[int],
    round: Round,
    season: Season,
    user: User,
    ip: str | None = None,
    filters: dict[str, Any] | None = None,
) -> int:
    """Put the students in `round` (its step becomes their status); those already there stay as they are.

    What follows is what a pass into the round starts (moves.py::round_enter, the same service): the step
    mails of the new status and the invitation to book the round's interview, once per student.
    """
    ids = _checked(candidate_ids)
    if round.season_id != season.pk:
        raise SelectionError(gettext("この年度の選考を選んでください。"))
    # i18n: data — the students' history records what happened
    moved = round_enter(
        candidate_ids=ids, into=round, user=user, message=f"選考ステータス: 一括で「{round.name}」へ"
    )
    _audit(user=user, ip=ip, action="bulk_move", target=round.name, candidate_ids=ids, filters=filters or {})
    return len(moved)


@transaction.atomic
def bulk_tag(
    *,
    candidate_ids: list[int],
    name: str,
    user: User,
    ip: str | None = None,
    filters: dict[str, Any] | None = None,
) -> int:
    ids = _checked(candidate_ids)
    label = nfkc(name)[:40]
    if not label:
        raise SelectionError(gettext("タグ名を入力してください。"))
    tag, _created = Tag.objects.get_or_create(name=label)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO candidates_candidate_tags (candidate_id, tag_id) SELECT unnest(%s::bigint[]), %s"
            " ON CONFLICT DO NOTHING RETURNING candidate_id",
            [ids, tag.pk],
        )
        added = [row[0] for row in cursor.fetchall()]
    # i18n: data — the students' history records what happened
    history_add(candidate_ids=added, kind="tag", message=f"タグを追加（一括）: {label}", user=user)
    _audit(user=user, ip=ip, action="bulk_tag", target=label, candidate_ids=ids, filters=filters or {})
    return len(added)


@transaction.atomic
def bulk_mail(
    *,
    candidate_ids: list[int],
    season: Season,
    name: str,
    subject: str,
    body: str,
    user: User,
    ip: str | None = None,
    filters: dict[str, Any] | None = None,
    action: str = "bulk_mail",
) -> int:
    """A segment mail to exactly these students (notifications: unsubscribes, quiet hours, its own outbox)."""
    ids = _checked(candidate_ids)
    try:
        segment = segment_create(
            name=name, subject=subject, body=body, filters={"candidate_ids": ids}, season=season
        )
    except NotificationError as error:
        raise SelectionError(str(error)) from None
    _audit(
        user=user, ip=ip, action=action, target=segment.name[:200], candidate_ids=ids, filters=filters or {}
    )
    return segment.recipients


INVITE_SUBJECT = gettext_lazy("【%(company)s】%(name)sのご予約のご案内")
INVITE_BODY = gettext_lazy(
    "%(family_name)s %(given_name)s 様\n\n「%(name)s」のご予約を受け付けています。\n"
    "マイページから日時をお選びください。\n\n%(mypage_url)s\n\n%(company)s 採用担当\n"
)


def bulk_invite(
    *,
    candidate_ids: list[int],
    season: Season,
    target: str,
    user: User,
    ip: str | None = None,
    filters: dict[str, Any] | None = None,
) -> int:
    """Invite the students to book a seminar ("seminar:<id>") or an interview ("interview:<id>") of the season."""
    kind, _sep, pk = target.partition(":")
    found: Seminar | InterviewType | None = None
    if pk.isdigit() and kind == "seminar":
        found = Seminar.objects.filter(pk=int(pk), season=season, published=True).first()
    elif pk.isdigit() and kind == "interview":
        found = InterviewType.objects.filter(pk=int(pk), season=season, active=True).first()
    if found is None:
        raise SelectionError(gettext("案内する説明会か面接を選んでください。"))
    if isinstance(found, InterviewType):
        # Only students at the interview's step can book it: an invitation others cannot use helps nobody.
        elsewhere = (
            Candidate.objects.filter(pk__in=_checked(candidate_ids)).exclude(status=found.step).count()
        )
        if elsewhere:
            raise SelectionError(
                ngettext(
                    "%(count)s名はこの面接を予約できる選考ステップにいません。"
                    "先に「選考に移す」で移すか、一覧をステータスで絞り込んでください。",
                    "%(count)s名はこの面接を予約できる選考ステップにいません。"
                    "先に「選考に移す」で移すか、一覧をステータスで絞り込んでください。",
                    elsewhere,
                )
                % {"count": f"{elsewhere:,}"}
            )
    title = found.title if isinstance(found, Seminar) else found.name
    # A title cannot open a mail variable: its braces become full-width ones.
    shown = title.replace("{", "｛").replace("}", "｝")  # i18n: data
    return bulk_mail(
        candidate_ids=candidate_ids,
        season=season,
        name=(gettext("予約のご案内: %(title)s") % {"title": title})[:100],
        subject=INVITE_SUBJECT % {**PLACEHOLDERS, "name": shown},
        body=INVITE_BODY % {**PLACEHOLDERS, "name": shown},
        user=user,
        ip=ip,
        filters=filters,
        action="bulk_invite",
    )
