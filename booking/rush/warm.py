"""Each rush process gets ready for the seminars about to open (announced in booking/rush/openings.py).

A thread of the process looks at the list every EVERY_SECONDS. For each seminar opening within
AHEAD_SECONDS it loads the seminar's state, renders its pages (one per rank opening time, in the default
language) and notes its slots for the live counts; within COUNTERS_AHEAD_SECONDS of the opening it loads
the state again (what a recruiter changed meanwhile) and builds the seat counters in Redis (once for all
processes; they live READY_SECONDS). The companies' hosts are looked up together, one query per pass, from
AHEAD_SECONDS before an opening until BEHIND_SECONDS after it, so their entries in the host cache never
expire while their students arrive. At the opening second the event loop then decides from memory; what
the warmer did not reach (a seminar announced at the last second, a process started late) is loaded on
first contact, as before.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection
from django_tenants.utils import schema_context

from booking.clients import REDIS_ERRORS
from booking.live import slots_remember
from booking.rush.openings import openings_due
from booking.rush.pages import pages_warm
from booking.rush.state import seminar_state
from booking.seatcounter import SeatCounter
from tenants.selectors import hosts_warm

logger = logging.getLogger(__name__)

AHEAD_SECONDS = float(os.environ.get("RUSH_WARM_AHEAD_S", "120"))
COUNTERS_AHEAD_SECONDS = 20.0
BEHIND_SECONDS = 900.0
EVERY_SECONDS = 2.0


@dataclass
class Warmer:
    """What this process has made ready: seminar -> the opening time it was readied for."""

    first: dict[tuple[str, int], float] = field(default_factory=dict)
    last: dict[tuple[str, int], float] = field(default_factory=dict)

    def run_once(self, *, now: float | None = None) -> dict[str, int]:
        """One pass; what it did (hosts resolved, states loaded, pages rendered, counters built)."""
        now = time.time() if now is None else now
        done = {"hosts": 0, "states": 0, "pages": 0, "counters": 0}
        due = openings_due(now=now, ahead=AHEAD_SECONDS, behind=BEHIND_SECONDS)
        done["hosts"] = hosts_warm(schema_names={schema for schema, _, _ in due})
        upcoming = sorted(
            (opens_at, schema, seminar_id) for schema, seminar_id, opens_at in due if opens_at > now
        )
        for opens_at, schema, seminar_id in upcoming:
            key = (schema, seminar_id)
            final = opens_at - now <= COUNTERS_AHEAD_SECONDS
            if self.first.get(key) == opens_at and (not final or self.last.get(key) == opens_at):
                continue
            try:
                self._ready(schema=schema, seminar_id=seminar_id, counters=final, done=done)
            except DatabaseError:
                logger.warning("rush warm-up: could not load seminar %s of %s", seminar_id, schema)
                continue
            self.first[key] = opens_at
            if final:
                self.last[key] = opens_at
        kept = {(schema, seminar_id) for schema, seminar_id, _ in due}
        for known in (self.first, self.last):
            for key in [key for key in known if key not in kept]:
                del known[key]
        return done

    def _ready(self, *, schema: str, seminar_id: int, counters: bool, done: dict[str, int]) -> None:
        with schema_context(schema):
            state = seminar_state(schema=schema, seminar_id=seminar_id, fresh=True)
            done["states"] += 1
            if state is None:
                return
            done["pages"] += pages_warm(state=state, language=settings.LANGUAGE_CODE)
            slots_remember(schema_name=schema, seminar_id=seminar_id, slot_ids=list(state.slots))
            if counters:
                SeatCounter(seminar_id=seminar_id, schema=schema).load()
                done["counters"] += 1


_stop = threading.Event()
_thread: threading.Thread | None = None


def warm_start() -> None:
    """Start this process's warmer (once)."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    _stop.clear()
    _thread = threading.Thread(target=_run, name="rush-warm", daemon=True)
    _thread.start()


def warm_stop() -> None:
    _stop.set()


def _run() -> None:
    warmer = Warmer()
    while not _stop.is_set():
        try:
            warmer.run_once()
        except (*REDIS_ERRORS, DatabaseError):
            logger.warning("rush warm-up: redis or postgres unavailable, trying again")
        except Exception:
            logger.exception("rush warm-up failed")
        finally:
            if connection.connection is not None:
                connection.close()
        _stop.wait(EVERY_SECONDS)
