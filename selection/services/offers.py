"""Offer writes: 内定 issued with its letter and mail, the acceptance deadline and its reminders, 承諾 or 辞退.

Every answer is one conditional UPDATE (`status = issued AND deadline > now`), so a late click, a second
click or a reminder racing the answer never changes a decided offer; the partial unique index keeps one
open offer per student.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext

from candidates.models import Candidate, CandidateEvent
from notifications.language import students_language
from notifications.services import outbox_enqueue
from notifications.services.outbox import outbox_enqueue_many
from notifications.services.templating import PLACEHOLDERS, template_render, template_variables
from notifications.services.variables import tenant_for_schema
from saas.dates import when
from seasons.models import Season
from selection.errors import SelectionError
from selection.models import DeclineReason, Offer, OfferLetter, OfferStatus
from selection.services.moves import step_mails_start
from tenants.selectors import current_schema

if TYPE_CHECKING:
    from accounts.models import User

# Reminders before the acceptance deadline, in days, the earliest first.
OFFER_REMINDER_DAYS = (3, 1)
LONGEST_DEADLINE = dt.timedelta(days=365)
NOTE_LIMIT = 500
OFFER_STATUS, ACCEPTED_STATUS, DECLINED_STATUS = "offer", "accepted", "declined"

# i18n: data — the variable names are the keys recruiters type in the letter
LETTER_VARIABLES = {
    "姓": gettext_lazy("学生の姓"),
    "名": gettext_lazy("学生の名"),
    "大学名": gettext_lazy("学生の大学名"),
    "会社名": gettext_lazy("貴社名"),
    "内定日": gettext_lazy("内定を出した日"),
    "承諾期限": gettext_lazy("承諾期限の日時"),
    "入社日": gettext_lazy("入社予定日"),
}
# The season's letter starts from these (in the language of whoever opens it first); recruiters edit it.
# i18n: data — the letter's placeholders, named in its translated texts as %(offer_date)s …
LETTER_PLACEHOLDERS = {
    **PLACEHOLDERS,
    "offer_date": "{{ 内定日 }}",
    "deadline": "{{ 承諾期限 }}",
    "start_date": "{{ 入社日 }}",
}
DEFAULT_SUBJECT = gettext_lazy("【%(company)s】内定のご通知")
DEFAULT_BODY = gettext_lazy("""%(family_name)s %(given_name)s 様

内定通知書

このたびは弊社の採用選考にご応募いただき、誠にありがとうございました。
厳正なる選考の結果、あなたを採用することに内定いたしましたので、ここにご通知申し上げます。

入社予定日: %(start_date)s
承諾期限: %(deadline)s

承諾期限までに、マイページから承諾または辞退のご回答をお願いいたします。

%(offer_date)s
%(company)s
""")
MAIL_FOOTER = gettext_lazy("\n\nご回答はマイページからお願いいたします:\n%(mypage_url)s\n")
REMINDER_SUBJECT = gettext_lazy("【%(company)s】内定承諾期限のお知らせ")
REMINDER_BODY = gettext_lazy(
    "%(family_name)s %(given_name)s 様\n\n内定へのご回答期限は %(when)s です。\n"
    "マイページから承諾または辞退のご回答をお願いいたします。\n\n%(mypage_url)s\n\n%(company)s 採用担当\n"
)


def _when(value: dt.datetime) -> str:
    return when(value, "full_time")


def _day(value: dt.date) -> str:
    return when(value, "full_date")


@transaction.atomic
def offer_letter_for(*, season: Season) -> OfferLetter:
    """The season's letter template (the default text until the company writes its own)."""
    letter, _created = OfferLetter.objects.get_or_create(
        season=season,
        defaults={
            "subject": DEFAULT_SUBJECT % LETTER_PLACEHOLDERS,
            "body": DEFAULT_BODY % LETTER_PLACEHOLDERS,
        },
    )
    return letter


@transaction.atomic
def offer_letter_save(*, season: Season, subject: str, body: str) -> OfferLetter:
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise SelectionError(gettext("件名と本文を入力してください。"))
    if "\n" in subject or len(subject) > 200 or len(body) > 10000:
        raise SelectionError(gettext("件名は改行なしの200文字以内、本文は10000文字以内で入力してください。"))
    unknown = [name for name in template_variables(subject + body) if name not in LETTER_VARIABLES]
    if unknown:
        names = pgettext("区切り", "、").join(f"{{{{ {name} }}}}" for name in dict.fromkeys(unknown))
        raise SelectionError(gettext("使えない変数があります: %(names)s") % {"names": names})
    letter = offer_letter_for(season=season)
    letter.subject, letter.body = subject, body
    letter.save(update_fields=["subject", "body", "updated_at"])
    return letter


def _reminders_due(*, deadline: dt.datetime, now: dt.datetime) -> int:
    """How many reminders' times have come (a deadline two days away has passed the 3-day reminder's)."""
    return sum(1 for days in OFFER_REMINDER_DAYS if deadline - dt.timedelta(days=days) <= now)


def _status_move(*, candidate: Candidate, status: str, message: str, user: User | None) -> None:
    Candidate.objects.filter(pk=candidate.pk).update(status=status, updated_at=timezone.now())
    candidate.status = status
    CandidateEvent.objects.create(candidate=candidate, kind="offer", message=message, user=user)
    candidate_id = candidate.pk
    transaction.on_commit(lambda: step_mails_start(candidate_id=candidate_id, status=status))


@transaction.atomic
def offer_issue(
    *,
    candidate: Candidate,
    user: User,
    deadline: dt.datetime,
    start_date: dt.date,
    now: dt.datetime | None = None,
) -> Offer:
    """内定: the letter rendered from the season's template, the 内定通知 mail, the student's status 内定."""
    now = now or timezone.now()
    if deadline <= now:
        raise SelectionError(gettext("承諾期限は未来の日時にしてください。"))
    if deadline - now > LONGEST_DEADLINE:
        raise SelectionError(gettext("承諾期限は1年以内にしてください。"))
    if start_date <= timezone.localdate(now):
        raise SelectionError(gettext("入社予定日は今日より後の日付にしてください。"))
    season = Season.objects.get(pk=candidate.season_id)
    # Written in the company's language whoever issues it (notifications/language.py).
    with students_language():
        letter = offer_letter_for(season=season)
        # i18n: data — the letter's variable names
        values = {
            "姓": candidate.family_name,
            "名": candidate.given_name,
            "大学名": candidate.university or candidate.university_raw,
            "会社名": tenant_for_schema(schema_name=current_schema()).name,
            "内定日": _day(timezone.localdate(now)),
            "承諾期限": _when(deadline),
            "入社日": _day(start_date),
        }
        # Braces a student typed into their name never become placeholders of the mail's second pass.
        # i18n: data
        values = {key: value.replace("{", "｛").replace("}", "｝") for key, value in values.items()}
        letter_subject = template_render(letter.subject, values)
        letter_body = template_render(letter.body, values)
        footer = MAIL_FOOTER % PLACEHOLDERS
    try:
        with transaction.atomic():
            offer = Offer.objects.create(
                season=season,
                candidate=candidate,
                issued_by=user,
                issued_by_name=user.display_name or user.email,
                issued_at=now,
                deadline=deadline,
                start_date=start_date,
                letter_subject=letter_subject,
                letter_body=letter_body,
                reminders_sent=_reminders_due(deadline=deadline, now=now),
            )
    except IntegrityError:
        raise SelectionError(gettext("この学生にはすでに回答待ちか承諾済みの内定があります。")) from None
    # i18n: data — the student's history records what happened
    _status_move(
        candidate=candidate, status=OFFER_STATUS, message=f"内定（承諾期限 {_when(deadline)}）", user=user
    )
    if candidate.email and not candidate.email_undeliverable:
        outbox_enqueue(
            key=f"offer:{offer.pk}",
            to=candidate.email,
            subject=offer.letter_subject,
            body=offer.letter_body + footer,
            kind="transactional",
            candidate_id=candidate.pk,
            needs_render=True,
        )
    return offer


@transaction.atomic
def offer_deadline_extend(
    *, offer: Offer, deadline: dt.datetime, user: User, now: dt.datetime | None = None
) -> Offer:
    """A later deadline for an unanswered (or just expired) offer; its reminders start again from it."""
    now = now or timezone.now()
    if deadline <= now or deadline - now > LONGEST_DEADLINE:
        raise SelectionError(gettext("承諾期限は今から1年以内の未来の日時にしてください。"))
    changed = Offer.objects.filter(pk=offer.pk, status__in=[OfferStatus.ISSUED, OfferStatus.EXPIRED]).update(
        deadline=deadline,
        status=OfferStatus.ISSUED,
        reminders_sent=_reminders_due(deadline=deadline, now=now),
    )
    if not changed:
        raise SelectionError(gettext("回答済みの内定の期限は変更できません。"))
    offer.refresh_from_db()
    # i18n: data — the student's history records what happened
    CandidateEvent.objects.create(
        candidate_id=offer.candidate_id, kind="offer", message=f"承諾期限を変更: {_when(deadline)}", user=user
    )
    return offer


def _answer(*, candidate: Candidate, offer_id: int, now: dt.datetime, **changes: object) -> Offer:
    """One conditional UPDATE: only the student's own unanswered offer, before its deadline."""
    mine = Offer.objects.filter(pk=offer_id, candidate=candidate)
    if not mine.filter(status=OfferStatus.ISSUED, deadline__gt=now).update(responded_at=now, **changes):
        offer = mine.first()
        if offer is None:
            raise SelectionError(gettext("内定が見つかりません。"))
        if offer.status in (OfferStatus.ACCEPTED, OfferStatus.DECLINED):
            raise SelectionError(gettext("この内定にはすでにご回答いただいています。"))
        raise SelectionError(
            gettext("承諾期限を過ぎたため、マイページからは回答できません。採用担当にご連絡ください。")
        )
    return mine.get()


@transaction.atomic
def offer_accept(*, candidate: Candidate, offer_id: int, now: dt.datetime | None = None) -> Offer:
    offer = _answer(
        candidate=candidate, offer_id=offer_id, now=now or timezone.now(), status=OfferStatus.ACCEPTED
    )
    # i18n: data — the student's history records what happened
    _status_move(candidate=candidate, status=ACCEPTED_STATUS, message="内定承諾（マイページ）", user=None)
    return offer


@transaction.atomic
def offer_decline(
    *, candidate: Candidate, offer_id: int, reason: str, note: str = "", now: dt.datetime | None = None
) -> Offer:
    if reason not in DeclineReason.values:
        raise SelectionError(gettext("辞退の理由を選んでください。"))
    text = (note or "").strip()
    if reason == DeclineReason.OTHER and not text:
        raise SelectionError(gettext("「その他」の場合は理由をご記入ください。"))
    if len(text) > NOTE_LIMIT:
        raise SelectionError(gettext("理由は%(limit)s文字以内でご記入ください。") % {"limit": NOTE_LIMIT})
    offer = _answer(
        candidate=candidate,
        offer_id=offer_id,
        now=now or timezone.now(),
        status=OfferStatus.DECLINED,
        decline_reason=reason,
        decline_note=text,
    )
    label = DeclineReason(reason).label
    # i18n: data — the student's history records what happened
    _status_move(candidate=candidate, status=DECLINED_STATUS, message=f"内定辞退（{label}）", user=None)
    return offer


@transaction.atomic
def offer_reminders_send(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Deadline reminders due (one mail per reminder and offer, the latest due one only), then expiry of the
    unanswered offers past their deadline. Set-based; run by beat for every company."""
    now = now or timezone.now()
    open_offers = Offer.objects.filter(status=OfferStatus.ISSUED)
    messages = []
    # The latest reminder first: an offer that reached both times gets only the nearer one.
    for number in range(len(OFFER_REMINDER_DAYS), 0, -1):
        days = OFFER_REMINDER_DAYS[number - 1]
        due = open_offers.filter(
            deadline__gt=now, deadline__lte=now + dt.timedelta(days=days), reminders_sent__lt=number
        )
        rows = list(
            due.select_for_update(skip_locked=True)
            .select_related("candidate")
            .only("id", "deadline", "candidate__id", "candidate__email", "candidate__email_undeliverable")
        )
        Offer.objects.filter(pk__in=[row.pk for row in rows]).update(reminders_sent=number)
        messages += [
            {
                "key": f"offer-reminder:{row.pk}:{number}",
                "to": row.candidate.email,
                "subject": REMINDER_SUBJECT % PLACEHOLDERS,
                "body": REMINDER_BODY % {**PLACEHOLDERS, "when": _when(row.deadline)},
                "kind": "transactional",
                "candidate_id": row.candidate.pk,
                "needs_render": True,
            }
            for row in rows
            if row.candidate.email and not row.candidate.email_undeliverable
        ]
    outbox_enqueue_many(messages=messages)
    expired = list(
        open_offers.filter(deadline__lte=now)
        .select_for_update(skip_locked=True)
        .values_list("pk", "candidate_id")
    )
    Offer.objects.filter(pk__in=[pk for pk, _candidate in expired]).update(status=OfferStatus.EXPIRED)
    # i18n: data — the student's history records what happened
    CandidateEvent.objects.bulk_create(
        [
            CandidateEvent(candidate_id=candidate_id, kind="offer", message="内定の承諾期限切れ（回答なし）")
            for _pk, candidate_id in expired
        ]
    )
    return {"reminded": len(messages), "expired": len(expired)}
