"""Selection reads: a season's rounds, who may see and evaluate whom, today's interviews, a student's history.

The evaluation rule lives here alone (`evaluation_allowed`): the interviewer's pages, the evaluation form and
the service that saves it all ask it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Role
from booking.models import BookingStatus, InterviewBooking
from candidates.models import Candidate, CandidateEvent
from selection.models import (
    Answer,
    Criterion,
    DeclineReason,
    EntrySheet,
    Evaluation,
    Offer,
    OfferStatus,
    Question,
    Round,
    Submission,
)

if TYPE_CHECKING:
    from accounts.models import User


def round_list(*, season_id: int) -> QuerySet[Round]:
    return (
        Round.objects.filter(season_id=season_id)
        .select_related("interview_type")
        .prefetch_related("criteria", "evaluators")
    )


def round_get(*, round_id: int | str) -> Round | None:
    try:
        pk = int(round_id)
    except (TypeError, ValueError):
        return None
    return Round.objects.filter(pk=pk).select_related("interview_type").first()


def round_next(*, current: Round) -> Round | None:
    """The round after `current` in its season's flow."""
    return (
        Round.objects.filter(season_id=current.season_id)
        .filter(Q(position__gt=current.position) | Q(position=current.position, pk__gt=current.pk))
        .order_by("position", "id")
        .select_related("interview_type")
        .first()
    )


def round_previous(*, current: Round) -> Round | None:
    """The round before `current` in its season's flow."""
    return (
        Round.objects.filter(season_id=current.season_id)
        .filter(Q(position__lt=current.position) | Q(position=current.position, pk__lt=current.pk))
        .order_by("-position", "-id")
        .first()
    )


def _interviews_of(user: User) -> QuerySet[InterviewBooking]:
    return InterviewBooking.objects.filter(session__interviewer=user, status=BookingStatus.ACTIVE)


def interviewer_candidates(*, user: User) -> Q:
    """The students an interviewer sees: those they interview, have evaluated, or evaluate as a named
    evaluator of the round the student is in."""
    visible = Q(pk__in=_interviews_of(user).values("candidate_id")) | Q(
        pk__in=Evaluation.objects.filter(evaluator=user).values("candidate_id")
    )
    for season_id, step_key in Round.objects.filter(evaluators=user).values_list("season_id", "step_key"):
        visible |= Q(season_id=season_id, status=step_key)
    return visible


def candidate_visible_to(*, user: User, candidate_id: int) -> Candidate | None:
    """The student if this user may open them (interviewers: only their own), else None."""
    candidates = Candidate.objects.filter(pk=candidate_id, merged_into=None)
    if user.role == Role.INTERVIEWER:
        candidates = candidates.filter(interviewer_candidates(user=user))
    elif user.role not in (Role.ADMIN, Role.RECRUITER, Role.VIEWER):
        return None
    return candidates.first()


def evaluation_allowed(*, user: User, round: Round, candidate: Candidate) -> bool:
    """Who may fill in `round`'s form for `candidate`: never a viewer; the round's named evaluators when it
    names any (admins always); otherwise recruiters and admins, and an interviewer for the students they
    interview in this round."""
    if candidate.season_id != round.season_id or not user.is_active:
        return False
    if user.role == Role.ADMIN:
        return True
    if user.role not in (Role.RECRUITER, Role.INTERVIEWER):
        return False
    if user.role == Role.INTERVIEWER and candidate_visible_to(user=user, candidate_id=candidate.pk) is None:
        return False
    if round.evaluators.exists():
        return round.evaluators.filter(pk=user.pk).exists()
    if user.role == Role.RECRUITER:
        return True
    return (
        round.interview_type_id is not None
        and _interviews_of(user)
        .filter(candidate=candidate, interview_type_id=round.interview_type_id)
        .exists()
    )


@dataclass(frozen=True)
class TodayInterview:
    booking: InterviewBooking
    round: Round | None
    evaluated: bool


def interviews_today(*, user: User, today: dt.date | None = None) -> list[TodayInterview]:
    """The interviewer's interviews of one local day (today), in time order, with the round each belongs to."""
    day = today or timezone.localdate()
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    bookings = list(
        _interviews_of(user)
        .filter(session__starts_at__gte=start, session__starts_at__lt=start + dt.timedelta(days=1))
        .select_related("candidate", "session", "interview_type")
        .order_by("session__starts_at", "id")
    )
    rounds = {
        row.interview_type_id: row
        for row in Round.objects.filter(
            interview_type_id__in={booking.interview_type_id for booking in bookings}
        )
    }
    done = set(
        Evaluation.objects.filter(
            evaluator=user, candidate_id__in=[booking.candidate_id for booking in bookings]
        ).values_list("round_id", "candidate_id")
    )
    rows = []
    for booking in bookings:
        row_round = rounds.get(booking.interview_type_id)
        evaluated = row_round is not None and (row_round.pk, booking.candidate_id) in done
        rows.append(TodayInterview(booking=booking, round=row_round, evaluated=evaluated))
    return rows


@dataclass(frozen=True)
class EvaluationRow:
    evaluation: Evaluation
    answers: list[tuple[str, object]]


@dataclass
class RoundColumn:
    round: Round
    criteria: list[Criterion]
    evaluations: list[EvaluationRow] = field(default_factory=list)
    current: bool = False
    can_evaluate: bool = False


def candidate_rounds(*, candidate: Candidate) -> list[RoundColumn]:
    """Every round of the student's season with its evaluations of the student, side by side."""
    columns = [
        RoundColumn(round=row, criteria=list(row.criteria.all()), current=row.step_key == candidate.status)
        for row in Round.objects.filter(season_id=candidate.season_id).prefetch_related("criteria")
    ]
    by_round = {column.round.pk: column for column in columns}
    for evaluation in Evaluation.objects.filter(candidate=candidate).order_by("decided_at", "id"):
        column = by_round.get(evaluation.round_id)
        if column is not None:
            answers = [(item.label, evaluation.scores.get(str(item.pk), "")) for item in column.criteria]
            column.evaluations.append(EvaluationRow(evaluation=evaluation, answers=answers))
    return columns


def candidate_history(*, candidate: Candidate, limit: int = 20) -> list[CandidateEvent]:
    """The student's latest events (status changes, decisions) for the interviewer's page."""
    return list(CandidateEvent.objects.filter(candidate=candidate).order_by("-id")[:limit])


def evaluation_of(*, round: Round, candidate: Candidate, user: User) -> Evaluation | None:
    return Evaluation.objects.filter(round=round, candidate=candidate, evaluator=user).first()


def offer_list(*, season_id: int, status: str = "") -> QuerySet[Offer]:
    offers = Offer.objects.filter(season_id=season_id).select_related("candidate")
    return offers.filter(status=status) if status in OfferStatus.values else offers


@dataclass(frozen=True)
class OfferSummary:
    issued: int
    waiting: int
    accepted: int  # who will join
    declined: int
    expired: int
    reasons: list[tuple[str, int]]


def offer_summary(*, season_id: int) -> OfferSummary:
    """The season's offers at a glance: how many were made, await an answer, will join, declined, and why."""
    counts = dict(
        Offer.objects.filter(season_id=season_id).values_list("status").annotate(n=Count("id")).order_by()
    )
    reasons = dict(
        Offer.objects.filter(season_id=season_id, status=OfferStatus.DECLINED)
        .values_list("decline_reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    return OfferSummary(
        issued=sum(counts.values()),
        waiting=counts.get(OfferStatus.ISSUED, 0),
        accepted=counts.get(OfferStatus.ACCEPTED, 0),
        declined=counts.get(OfferStatus.DECLINED, 0),
        expired=counts.get(OfferStatus.EXPIRED, 0),
        reasons=[
            (str(label), reasons[value]) for value, label in DeclineReason.choices if reasons.get(value)
        ],
    )


def offers_of(*, candidate: Candidate) -> list[Offer]:
    return list(Offer.objects.filter(candidate=candidate))


def offer_current(*, candidate: Candidate) -> Offer | None:
    """The offer the student sees on the My Page: their latest."""
    return Offer.objects.filter(candidate=candidate).order_by("-issued_at", "-id").first()


def entry_sheet_of(*, season_id: int) -> EntrySheet | None:
    return EntrySheet.objects.filter(season_id=season_id).select_related("round").first()


def submission_of(*, sheet: EntrySheet, candidate: Candidate) -> Submission | None:
    return Submission.objects.filter(sheet=sheet, candidate=candidate).first()


def sheet_answers(
    *, sheet: EntrySheet, submission: Submission | None
) -> list[tuple[Question, Answer | None]]:
    """Every question of the sheet with the student's answer (None when not answered yet)."""
    given = {answer.question_id: answer for answer in submission.answers.all()} if submission else {}
    return [(question, given.get(question.pk)) for question in sheet.questions.all()]


def submitted_list(*, sheet: EntrySheet) -> QuerySet[Submission]:
    return (
        Submission.objects.filter(sheet=sheet, submitted_at__isnull=False)
        .select_related("candidate")
        .prefetch_related("answers")
        .order_by("submitted_at", "id")
    )


def entry_sheet_columns(*, sheet: EntrySheet) -> list[tuple[str, str]]:
    """The CSV's (key, header) pairs: the student, when, then each question."""
    # i18n: data — the keys name the record's fields; the headers are translated
    columns = [
        ("学生ID", gettext("学生ID")),
        ("氏名", gettext("氏名")),
        ("カナ", gettext("カナ")),
        ("大学", gettext("大学")),
        ("提出日時", gettext("提出日時")),
    ]
    for number, question in enumerate(sheet.questions.all(), start=1):
        columns.append((f"Q{number} {question.label[:40]}", f"Q{number} {question.label[:40]}"))
    return columns


def entry_sheet_records(*, sheet: EntrySheet) -> Iterator[dict[str, Any]]:
    """One row per submitted sheet for the CSV (keys of entry_sheet_columns)."""
    questions = list(sheet.questions.all())
    for submission in submitted_list(sheet=sheet).iterator(chunk_size=500):
        given = {answer.question_id: answer for answer in submission.answers.all()}
        candidate = submission.candidate
        # i18n: data — the keys of entry_sheet_columns
        row: dict[str, Any] = {
            "学生ID": candidate.pk,
            "氏名": candidate.full_name,
            "カナ": f"{candidate.family_kana} {candidate.given_kana}".strip(),
            "大学": candidate.university or candidate.university_raw,
            "提出日時": f"{timezone.localtime(submission.submitted_at):%Y-%m-%d %H:%M}"
            if submission.submitted_at
            else "",
        }
        for number, question in enumerate(questions, start=1):
            answer = given.get(question.pk)
            value = (answer.file_name if question.kind == "file" else answer.text) if answer else ""
            row[f"Q{number} {question.label[:40]}"] = value
        yield row


def answer_file_for_staff(*, user: User, answer_id: int) -> Answer | None:
    """An uploaded file, for a member of the company who may open the student (interviewers: their own)."""
    answer = Answer.objects.filter(pk=answer_id).exclude(file="").select_related("submission").first()
    if answer is None or candidate_visible_to(user=user, candidate_id=answer.submission.candidate_id) is None:
        return None
    return answer


def interview_for_staff(*, user: User, booking_id: int) -> InterviewBooking | None:
    """An interview booking an interviewer runs (recruiters and admins: any), for its .ics."""
    bookings = InterviewBooking.objects.select_related("session", "interview_type")
    if user.role == Role.INTERVIEWER:
        bookings = bookings.filter(session__interviewer=user)
    elif user.role not in (Role.ADMIN, Role.RECRUITER, Role.VIEWER):
        return None
    return bookings.filter(pk=booking_id).first()
