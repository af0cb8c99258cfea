"""Seminars about to open, announced ahead so that every rush process is ready at the opening second.

On 1 March at 0:00 hundreds of companies open at once. A rush process that meets a company for the first
time at that second has to look up its host, load the seminar, build the seat counters and render the page
before it can answer anyone, hundreds of times over, while the students of all of them wait (measured: with
200 companies opening together the first loads queued for more than the 10 s a student waits). So the
seminar services note each booking opening here (one Redis sorted set, member `<schema>:<seminar id>`,
score its opening time, booking/keys.py::openings_key), and every rush process loads what it will need a
little before (booking/rush/warm.py).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from booking.clients import REDIS_ERRORS, counter_client
from booking.keys import openings_key

logger = logging.getLogger(__name__)

# Entries whose opening is longer ago than this are dropped whenever a new one is noted.
KEEP_SECONDS = 24 * 3600


def opening_note(*, schema: str, seminar_id: int, opens_at: datetime | None) -> None:
    """Announce (or move) a seminar's opening; without a future opening time it is taken off the list."""
    key = openings_key()
    member = f"{schema}:{seminar_id}"
    try:
        client = counter_client()
        if opens_at is None or opens_at.timestamp() < time.time():
            client.zrem(key, member)
            return
        pipe = client.pipeline(transaction=False)
        pipe.zadd(key, {member: opens_at.timestamp()})
        pipe.zremrangebyscore(key, "-inf", time.time() - KEEP_SECONDS)
        pipe.execute()
    except REDIS_ERRORS:
        # Nothing is lost: without the note the rush process loads on first contact, only later.
        logger.warning("rush openings: redis unavailable, seminar opening not announced")


def openings_due(*, now: float, ahead: float, behind: float) -> list[tuple[str, int, float]]:
    """(schema, seminar id, opens at) of the openings from `behind` seconds ago to `ahead` seconds on."""
    found: Any = counter_client().zrangebyscore(openings_key(), now - behind, now + ahead, withscores=True)
    due = []
    for member, score in found:
        text = member.decode() if isinstance(member, bytes) else str(member)
        schema, _, seminar = text.rpartition(":")
        if schema and seminar.isdigit():
            due.append((schema, int(seminar), float(score)))
    return due
