"""Interview writes: availability, booking a time (round-robin interviewer), reschedule, cancel, reminders.

The interviewer's row is locked while their calendar is checked and a session is created, so two
bookings can never give one interviewer overlapping sessions; group seats are taken with a
conditional UPDATE (`taken < capacity`, backed by a CHECK constraint), and the partial unique index
keeps one active booking per student and interview type.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from accounts.models import User
from booking import errors
from booking.mail import booking_mail_send
from booking.models import (
    BookingStatus,
    InterviewBooking,
    InterviewerAvailability,
    InterviewSession,
    InterviewType,
)
from booking.selectors.interviews import (
    interview_reminders_due,
    interview_times,
    interview_type_for_candidate,
    interviewer_is_free,
    interviewers_by_load,
)
from booking.services.confirmations import MYPAGE_LINK, salutation, where_lines
from saas.dates import span, when
from webhooks.events import EventType, event_emit

if TYPE_CHECKING:
    from candidates.models import Candidate


def availability_add(*, interviewer: User, starts_at: datetime, ends_at: datetime) -> InterviewerAvailability:
    if ends_at <= starts_at:
        raise errors.BookingError(gettext("終了は開始より後にしてください。"))
    return InterviewerAvailability.objects.create(
        interviewer=interviewer, starts_at=starts_at, ends_at=ends_at
    )


@transaction.atomic
def interview_type_create(*, name: str, step: str, interviewers: list[User], **fields: Any) -> InterviewType:
    interview_type = InterviewType.objects.create(name=name, step=step, **fields)
    interview_type.interviewers.set(interviewers)
    return interview_type


def _parse_start(value: object) -> datetime:
    start: datetime | None
    if isinstance(value, datetime):
        start = value
    else:
        start = parse_datetime(str(value or ""))
    if start is None:
        raise errors.InterviewTimeTakenError(gettext("時間の指定が正しくありません。"))
    if timezone.is_naive(start):
        start = timezone.make_aware(start)
    return start


def _session_take(*, interview_type: InterviewType, starts_at: datetime) -> InterviewSession:
    """A seat at this time: in a group session with room, else a new session of the least-loaded free interviewer."""
    ends_at = starts_at + timedelta(minutes=interview_type.duration_minutes)
    # Fill a group session that is already running at this time before opening another one.
    for session in InterviewSession.objects.filter(
        interview_type=interview_type, starts_at=starts_at, taken__gt=0, taken__lt=F("capacity")
    ).order_by("-taken", "id"):
        if InterviewSession.objects.filter(pk=session.pk, taken__lt=F("capacity")).update(
            taken=F("taken") + 1
        ):
            return session
    # The interviewers' rows are the lock around their calendars: all of this type's, in id order, so two
    # bookings never wait on each other crosswise (NO KEY UPDATE leaves foreign keys to them unblocked).
    ids = list(interview_type.interviewers.values_list("id", flat=True))
    list(User.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk"))
    for interviewer_id in interviewers_by_load(interview_type=interview_type):
        sessions = list(
            InterviewSession.objects.filter(
                interviewer_id=interviewer_id,
                taken__gt=0,
                starts_at__lt=ends_at + timedelta(hours=12),
                ends_at__gt=starts_at - timedelta(hours=12),
            )
        )
        same = [s for s in sessions if s.interview_type_id == interview_type.pk and s.starts_at == starts_at]
        if same:
            if InterviewSession.objects.filter(pk=same[0].pk, taken__lt=F("capacity")).update(
                taken=F("taken") + 1
            ):
                return same[0]
            continue
        windows = list(
            InterviewerAvailability.objects.filter(interviewer_id=interviewer_id, starts_at__lte=starts_at)
        )
        if not interviewer_is_free(
            interview_type=interview_type,
            interviewer_id=interviewer_id,
            starts_at=starts_at,
            sessions=sessions,
            windows=windows,
        ):
            continue
        # An emptied session of the same kind at this time comes back to life; otherwise a new one.
        emptied = InterviewSession.objects.filter(
            interview_type=interview_type, interviewer_id=interviewer_id, starts_at=starts_at, taken=0
        ).first()
        if emptied is not None:
            InterviewSession.objects.filter(pk=emptied.pk, taken=0).update(
                taken=1, capacity=interview_type.capacity
            )
            return emptied
        return InterviewSession.objects.create(
            interview_type=interview_type,
            interviewer_id=interviewer_id,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=interview_type.capacity,
            taken=1,
        )
    raise errors.InterviewTimeTakenError()


def _session_release(*, session_id: int) -> None:
    # An empty session (taken = 0) no longer blocks the interviewer's time; it stays for the history.
    InterviewSession.objects.filter(pk=session_id).update(taken=F("taken") - 1)


def _offered(*, interview_type: InterviewType, starts_at: datetime, now: datetime) -> None:
    if starts_at not in {t.starts_at for t in interview_times(interview_type=interview_type, now=now)}:
        raise errors.InterviewTimeTakenError()


def interview_book(
    *, candidate: Candidate, interview_type_id: int | str, starts_at: object, now: datetime | None = None
) -> InterviewBooking:
    now = now or timezone.now()
    interview_type = interview_type_for_candidate(candidate=candidate, interview_type_id=interview_type_id)
    if interview_type is None:
        raise errors.InterviewNotAllowedError()
    start = _parse_start(starts_at)
    _offered(interview_type=interview_type, starts_at=start, now=now)
    try:
        with transaction.atomic():
            session = _session_take(interview_type=interview_type, starts_at=start)
            booking = InterviewBooking.objects.create(
                candidate=candidate, session=session, interview_type=interview_type
            )
            _event(EventType.INTERVIEW_BOOKED, booking=booking)
    except IntegrityError as error:
        if "interview_one_active_per_type" in str(error):
            raise errors.AlreadyBookedError(
                gettext("この面接はすでに予約済みです。日時の変更は予約一覧からできます。")
            ) from None
        raise errors.InterviewTimeTakenError() from None
    _confirmation_mail(booking=booking, verb=BOOKED)
    _interviewer_notice(booking=booking, verb=BOOKED)
    return booking


def _event(event_type: EventType, *, booking: InterviewBooking, **extra: Any) -> None:
    """Tell the company's webhooks, in the caller's transaction: ids, times and states only."""
    event_emit(
        event_type=event_type,
        data={
            "interview_booking_id": booking.pk,
            "candidate_id": booking.candidate_id,
            "interview_type_id": booking.interview_type_id,
            "starts_at": timezone.localtime(booking.session.starts_at).isoformat(),
            "status": booking.status,
            **extra,
        },
    )


def _own_booking_locked(*, candidate: Candidate | None, booking_id: int | str) -> InterviewBooking:
    try:
        pk = int(booking_id)
    except (TypeError, ValueError):
        raise errors.NotBookedError() from None
    booking = (
        InterviewBooking.objects.select_for_update()
        .filter(pk=pk, candidate=candidate, status=BookingStatus.ACTIVE)
        .select_related("session", "interview_type")
        .first()
    )
    if booking is None:
        raise errors.NotBookedError()
    return booking


def _changeable(*, booking: InterviewBooking, now: datetime) -> None:
    deadline = booking.session.starts_at - timedelta(hours=booking.interview_type.change_deadline_hours)
    if now > deadline:
        raise errors.CancelDeadlinePassedError(
            gettext("変更・キャンセルの締切（%(when)s）を過ぎています。採用担当までご連絡ください。")
            % {"when": when(deadline, "month_day_time")}
        )


def interview_reschedule(
    *, candidate: Candidate, booking_id: int | str, starts_at: object, now: datetime | None = None
) -> InterviewBooking:
    """Move to another time in one step: the new seat first, then the old one is released."""
    now = now or timezone.now()
    start = _parse_start(starts_at)
    with transaction.atomic():
        booking = _own_booking_locked(candidate=candidate, booking_id=booking_id)
        _changeable(booking=booking, now=now)
        if booking.session.starts_at == start:
            raise errors.SameSlotError(gettext("すでにこの時間で予約しています。"))
        _offered(interview_type=booking.interview_type, starts_at=start, now=now)
        old_session_id = booking.session_id
        old_session = booking.session
        booking.session = _session_take(interview_type=booking.interview_type, starts_at=start)
        booking.reminder_sent_at = None
        booking.save(update_fields=["session", "reminder_sent_at"])
        _session_release(session_id=old_session_id)
        _event(
            EventType.INTERVIEW_RESCHEDULED,
            booking=booking,
            previous_starts_at=timezone.localtime(old_session.starts_at).isoformat(),
        )
    _confirmation_mail(booking=booking, verb=CHANGED)
    if old_session.interviewer_id == booking.session.interviewer_id:
        _interviewer_notice(booking=booking, verb=CHANGED, before=old_session)
    else:  # the new time went to another interviewer: one hears of a cancellation, the other of a booking
        _interviewer_notice(booking=booking, verb=CANCELLED, session=old_session)
        _interviewer_notice(booking=booking, verb=BOOKED)
    return booking


def interview_cancel(
    *,
    candidate: Candidate | None,
    booking_id: int | str,
    now: datetime | None = None,
    by_company: bool = False,
) -> InterviewBooking:
    """Cancel an interview; the student only before its change deadline, the company at any time."""
    now = now or timezone.now()
    with transaction.atomic():
        booking = _own_booking_locked(candidate=candidate, booking_id=booking_id)
        if not by_company:
            _changeable(booking=booking, now=now)
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
        booking.save(update_fields=["status", "cancelled_at"])
        _session_release(session_id=booking.session_id)
        _event(EventType.INTERVIEW_CANCELLED, booking=booking, by_company=by_company)
    _interviewer_notice(booking=booking, verb=CANCELLED)
    return booking


def interview_reminders_send(*, now: datetime | None = None) -> int:
    """Mail every student whose interview is tomorrow, once (the row is claimed before the mail goes)."""
    now = now or timezone.now()
    sent = 0
    for booking in interview_reminders_due(now=now):
        with transaction.atomic():
            claimed = InterviewBooking.objects.filter(pk=booking.pk, reminder_sent_at__isnull=True).update(
                reminder_sent_at=now
            )
            if claimed:
                _confirmation_mail(booking=booking, verb=REMINDER)
                sent += 1
    return sent


# What happened to an interview, for the mails: the student's subject and lead, the interviewer's subject and line.
BOOKED, CHANGED, CANCELLED, REMINDER = "booked", "changed", "cancelled", "reminder"


def _student_wording(verb: str) -> tuple[str, str]:
    """The subject (with %(name)s) and the lead line of the student's mail."""
    if verb == REMINDER:
        return gettext("【明日の面接】%(name)s"), gettext("明日は面接の日です。")
    if verb == CHANGED:
        return gettext("【変更完了】%(name)s"), gettext("面接の変更を承りました。")
    return gettext("【予約完了】%(name)s"), gettext("面接の予約を承りました。")


def _interviewer_wording(verb: str) -> tuple[str, str]:
    """The subject (with %(when)s and %(name)s) and the news line of the interviewer's mail."""
    if verb == CHANGED:
        return gettext("【面接変更】%(when)s %(name)s"), gettext("担当の面接が変更されました。")
    if verb == CANCELLED:
        return gettext("【面接キャンセル】%(when)s %(name)s"), gettext("担当の面接がキャンセルされました。")
    return gettext("【面接予約】%(when)s %(name)s"), gettext("担当の面接が予約されました。")


def _confirmation_mail(*, booking: InterviewBooking, verb: str) -> None:
    interview_type = booking.interview_type
    subject, lead = _student_wording(verb)
    body = (
        salutation(name=booking.candidate.full_name)
        + f"{lead}\n"
        + gettext("%(name)s: %(when)s〜（%(minutes)s分）")
        % {
            "name": interview_type.name,
            "when": when(booking.session.starts_at, "full_time"),
            "minutes": interview_type.duration_minutes,
        }
        + "\n"
        + where_lines(place=interview_type.place, online_url=interview_type.online_url)
        + "\n"
        + gettext("変更・キャンセルはマイページから（開始の %(hours)s 時間前まで）:")
        % {"hours": interview_type.change_deadline_hours}
        + f"\n{MYPAGE_LINK}\n"
    )
    booking_mail_send(
        candidate=booking.candidate,
        subject=subject % {"name": interview_type.name},
        body=body,
        key=f"interview-{verb}:{booking.pk}:{booking.session_id}",
        needs_render=True,
    )


def _interviewer_notice(
    *,
    booking: InterviewBooking,
    verb: str,
    session: InterviewSession | None = None,
    before: InterviewSession | None = None,
) -> None:
    """The interviewer hears of a booking, a change (with the old time) or a cancellation of their interview,
    with links to 今日の面接 and the interview's .ics. The mail names the student by number only: it leaves
    the company's database, and the page it links to shows who it is."""
    from booking.services.mypage import mypage_url
    from notifications.services import outbox_enqueue

    session = session or booking.session
    interviewer = session.interviewer
    if not interviewer.email or not interviewer.is_active:
        return
    subject, news = _interviewer_wording(verb)
    lines = [
        gettext("%(name)s 様") % {"name": interviewer.display_name or interviewer.email},
        "",
        news,
        f"{booking.interview_type.name}: {span(session.starts_at, session.ends_at, 'full_time')}",
        gettext("学生: #%(number)s") % {"number": booking.candidate_id},
    ]
    if before is not None:
        lines.append(gettext("（変更前: %(when)s〜）") % {"when": when(before.starts_at, "full_time")})
    if verb != CANCELLED:
        calendar = mypage_url(path=f"/selection/interviews/{booking.pk}/calendar.ics")
        lines += ["", gettext("カレンダーに追加（.ics）: %(url)s") % {"url": calendar}]
    lines += [gettext("今日の面接: %(url)s") % {"url": mypage_url(path="/selection/today/")}, ""]
    outbox_enqueue(
        key=f"interviewer-{verb}:{booking.pk}:{session.pk}",
        to=interviewer.email,
        subject=subject
        % {"when": when(session.starts_at, "month_day_time"), "name": booking.interview_type.name},
        body="\n".join(lines),
        kind="transactional",
    )
