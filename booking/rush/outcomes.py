"""What the rush path decided for one request: an Outcome, before anything becomes HTTP.

Every step of the pipeline (booking/rush/pipeline.py: decide, claim, persist) ends in an Outcome or hands
over to the next step; only booking/rush/answers.py turns one into a response. `count` names the figure of
the recruiters' rush view to count for it where no other step counts it (the gate's Lua script counts its
own decisions; a booking is counted with its confirmation).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from booking import errors
from saas.unavailable import UNAVAILABLE_MESSAGE


def gettext_noop(message: str) -> str:
    """Marks a message for the catalogue (makemessages reads the name); the answer translates it
    (booking/rush/answers.py), so the decision itself stays free of Django."""
    return message


QUEUED_MESSAGE = gettext_noop("ただいま混み合っています。順番にご案内しますので、このままお待ちください。")
SIGNED_OUT_MESSAGE = gettext_noop("マイページにログインしていないか、リンクの有効期限が切れています。")
BOOKED_MESSAGE = gettext_noop("予約が完了しました。確認メールをお送りします。")
OTHERS_LEFT_MESSAGE = gettext_noop("この日程は満席です。他の日程にはまだ空きがあります。")
ADMITTED_MESSAGE = gettext_noop("ご予約いただけます。")
TURN_CAME_MESSAGE = gettext_noop("順番が来ました。ご予約いただけます。")


@dataclass(frozen=True, slots=True)
class Outcome:
    code: str
    status: int
    message: str
    ok: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # more of the JSON answer, in its order
    count: str | None = None  # the rush figure to count for this answer, if no step did
    retry_after: int | None = None
    room_ticket: int = 0  # let in from the waiting room on this request: a room pass goes with the answer

    def payload(self) -> dict[str, Any]:
        return {"ok": self.ok, "code": self.code, "message": self.message, **self.extra}

    def with_room_ticket(self, ticket: int) -> Outcome:
        return replace(self, room_ticket=ticket)


def refusal(error: errors.BookingError, *, count: str | None = None, **extra: Any) -> Outcome:
    return Outcome(
        code=error.code, status=error.http_status, message=str(error.message), extra=extra, count=count
    )


def full(*, seminar_id: int, others: bool | None = None, count: str | None = None) -> Outcome:
    """No seat for this rank; `others` (when known): whether another slot of the seminar still has one."""
    waitlist_url = f"/my/seminars/{seminar_id}/"
    if others is None:
        return refusal(errors.FullError(), waitlist_url=waitlist_url, count=count)
    error = errors.FullError(OTHERS_LEFT_MESSAGE) if others else errors.FullError()
    return refusal(error, others=others, waitlist_url=waitlist_url, count=count)


def booked(*, booking_id: int | None, slot_id: int) -> Outcome:
    """The seat is durable in PostgreSQL (the answer carries the commit time)."""
    return Outcome(
        code="booked",
        status=200,
        message=BOOKED_MESSAGE,
        ok=True,
        extra={"booking": booking_id, "slot": slot_id, "committed_at": time.time()},
    )


def queued(*, ticket: int, position: int, admission_per_second: int) -> Outcome:
    wait = position / max(admission_per_second, 1)
    return Outcome(
        code="queued",
        status=202,
        message=QUEUED_MESSAGE,
        extra={
            "ticket": ticket,
            "position": position,
            "eta_s": round(wait, 1),
            # Ask again about when the turn comes, never more often than once a second.
            "poll_after_s": round(min(max(wait * 0.8, 1.0), 10.0), 1),
        },
    )


def admitted(*, message: str, ticket: int = 0) -> Outcome:
    return Outcome(code="admitted", status=200, message=message, ok=True, room_ticket=ticket)


def signed_out() -> Outcome:
    return Outcome(code="signed_out", status=403, message=SIGNED_OUT_MESSAGE)


def unavailable(*, count: str | None = None) -> Outcome:
    return Outcome(code="unavailable", status=503, message=UNAVAILABLE_MESSAGE, retry_after=3, count=count)


def busy() -> Outcome:
    """Over the company's budget in this process: ask again in a moment (booking/rush/budgets.py)."""
    return Outcome(
        code="busy",
        status=503,
        message=gettext_noop("ただいま大変混み合っています。数秒後に自動でもう一度お送りします。"),
        retry_after=2,
    )


# The proxy's line (deploy/rush_line.lua) answers in these words, with the place and when to ask again.
LINE_MESSAGE = gettext_noop(
    "順番待ちの列に並んでいます。順番が来ると自動でお送りします。このページを開いたままお待ちください。"
)


def method_not_allowed() -> Outcome:
    return Outcome(code="method", status=405, message=gettext_noop("POST でお送りください。"))


def forbidden() -> Outcome:
    return Outcome(code="forbidden", status=403, message=gettext_noop("不正なリクエストです。"))
