"""Who may try for a seat right now: the one admission rule every booking entrance asks.

Two parts, asked in this order by the My Page form (`POST /my/book/`), the rush booking
(`/my/rush/<id>/book`) and the waiting room (`/my/rush/<id>/queue`):

1. **Opening**: nobody is let into the waiting room, and nobody books, before their rank's opening time
   (booking/rules.py says when that is). A place in line or a room pass cannot be collected early.
2. **Waiting room**: while a seminar's room is active (mode "on", or "auto" and switched on), a seat is
   taken only with a room pass for that seminar and student (booking/rush/passes.py). The rush gate's Lua
   script (booking/rush/gate.py) applies this part on the rush path in the same Redis call that claims the
   seat; `admission_refusal` applies it everywhere else, reading the same Redis key.

Without Redis the room cannot be on (the rush path falls back to PostgreSQL alone and lets students through),
so this rule answers "not active" then, as the gate does.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext_lazy as _

from booking import errors
from booking.clients import REDIS_ERRORS, counter_client
from booking.keys import room_key
from booking.rules import RankAccess, opening_refusal
from booking.rush import passes

ROOM_MESSAGE = _(
    "ただいま混み合っているため、待合室から順番にご案内しています。説明会のページから予約画面へお進みください。"
)


class WaitingRoomError(errors.BookingError):
    code = "waiting_room"
    message = ROOM_MESSAGE
    http_status = 409


def room_active(*, schema: str, seminar_id: int, mode: str) -> bool:
    """Whether the seminar's waiting room holds students back now (the gate's own test, in Python)."""
    if mode == "on":
        return True
    if mode != "auto":
        return False
    try:
        return bool(counter_client().exists(room_key(schema=schema, seminar_id=seminar_id, name="on")))
    except REDIS_ERRORS:
        return False


def queue_refusal(*, access: RankAccess, now: datetime) -> errors.BookingError | None:
    """Part 1 for the waiting room: no ticket and no admission before the rank's opening time."""
    if not access.visible:
        return errors.NotVisibleError()
    return opening_refusal(access=access, now=now)


def admission_refusal(
    *, schema: str, seminar_id: int, mode: str, candidate_id: int, room_pass: str | None
) -> errors.BookingError | None:
    """Part 2 for entrances outside the gate: while the room is active, only a room pass lets a booking in."""
    if not room_active(schema=schema, seminar_id=seminar_id, mode=mode):
        return None
    if passes.room_pass_valid(
        schema=schema, value=room_pass, seminar_id=seminar_id, candidate_id=candidate_id
    ):
        return None
    return WaitingRoomError()
