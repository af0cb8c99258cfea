"""Every Redis key and channel booking uses, in one place; each carries the company's schema.

On RUSH_REDIS_URL (prefix settings.RUSH_KEY_PREFIX): the seat counters of booking/seatcounter.py, the rush
gate's waiting room, revocations and per-second answer counts (booking/rush/), the confirmation lists
(booking/services/confirmations.py) and the live-count channels (booking/fanout.py). On the cache's Redis:
the window that lets one process push a seminar's counts (booking/live.py).
"""

from __future__ import annotations

from django.conf import settings

ROOM_NAMES = ("on", "tail", "cursor", "last", "tickets", "head")


def seats_prefix(*, schema: str, seminar_id: int) -> str:
    """The seat counters of one seminar: `<prefix>:ready`, `<prefix>:holders`, `<prefix>:q:<quota id>`."""
    return f"{settings.RUSH_KEY_PREFIX}seats:{schema}:{seminar_id}"


def revoked_key(*, schema: str) -> str:
    """Students whose links were revoked, with when: passes issued before stop working on the rush path."""
    return f"{settings.RUSH_KEY_PREFIX}revoked:{schema}"


def room_key(*, schema: str, seminar_id: int, name: str) -> str:
    """The waiting room: tail (tickets issued), head (highest admitted), on (room active), cursor, ..."""
    return f"{settings.RUSH_KEY_PREFIX}room:{schema}:{seminar_id}:{name}"


def rate_key(*, schema: str, seminar_id: int, kind: str, second: int) -> str:
    """How many answers of `kind` the rush gave in one second (the recruiters' rush view)."""
    return f"{settings.RUSH_KEY_PREFIX}rate:{schema}:{seminar_id}:{kind}:{second}"


def rate_prefix(*, schema: str, seminar_id: int) -> str:
    """rate_key without kind and second (the gate's Lua script appends them)."""
    return f"{settings.RUSH_KEY_PREFIX}rate:{schema}:{seminar_id}:"


def confirm_list_key(*, schema: str) -> str:
    """Bookings of the rush path whose confirmation mail is still to be queued."""
    return f"{settings.RUSH_KEY_PREFIX}confirm:{schema}"


def confirm_schemas_key() -> str:
    """The companies that have a confirmation list."""
    return f"{settings.RUSH_KEY_PREFIX}confirm:schemas"


def openings_key() -> str:
    """Seminars about to open, scored by their opening time: member `<schema>:<seminar id>` (no other data
    of a company), so every rush process can be ready for them (booking/rush/warm.py)."""
    return f"{settings.RUSH_KEY_PREFIX}openings"


def live_channel(*, schema: str, seminar_id: int) -> str:
    """The pub/sub channel carrying one seminar's live seat counts to every websocket process."""
    return f"{settings.RUSH_KEY_PREFIX}live:{schema}:{seminar_id}"


def live_pattern() -> str:
    return f"{settings.RUSH_KEY_PREFIX}live:*"


def seats_window_key(*, schema: str, seminar_id: int) -> str:
    """Set (NX, a window long) by the process that pushes this seminar's counts next (cache Redis)."""
    return f"booking:seats-window:{schema}:{seminar_id}"
